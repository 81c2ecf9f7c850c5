"""Place maintenance items on the calendar: due points, their status and the plan that applies."""

from __future__ import annotations

from datetime import date, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, bindparam, or_, select

from portal.extensions import db
from portal.models import (
    MaintenancePlan,
    PlanItem,
    Vehicle,
    VehicleItemState,
)
from portal.timeutil import add_months, now

OK, SOON, DUE, OVERDUE = "ok", "due_soon", "due", "overdue"
DEFAULT_DAILY_KM = 40.0


def _cfg(key: str) -> int:
    return int(current_app.config[key])


class DuePoint(NamedTuple):
    """Where an item is next due: a km reading and/or a date."""

    km: int | None
    day: date | None

    @property
    def key(self) -> str:
        km = "" if self.km is None else str(self.km)
        return f"{km}|{self.day.isoformat() if self.day else ''}"


def due_point(
    item: PlanItem, *, last_km: int | None, last_day: date | None, purchase_day: date | None
) -> DuePoint:
    """Return where the item is next due (whichever of km and date comes first)."""
    if last_km is None:
        km_step = item.first_due_km or item.interval_km
        months = item.first_due_months or item.interval_months
        base_km, base_day = 0, purchase_day
    else:
        km_step, months = item.interval_km, item.interval_months
        base_km, base_day = last_km, last_day
    km = base_km + km_step if km_step else None
    day = add_months(base_day, months) if months and base_day else None
    return DuePoint(km, day)


def status_of(
    point: DuePoint,
    current_km: int,
    today: date,
    *,
    window_km: int,
    window_days: int,
    soon_km: int,
    soon_days: int,
) -> str:
    """Return ok / due_soon / due / overdue for a due point, whichever of km and date is worse."""

    def by_km() -> str:
        if point.km is None:
            return OK
        if current_km > point.km + window_km:
            return OVERDUE
        if current_km >= point.km:
            return DUE
        return SOON if current_km >= point.km - soon_km else OK

    def by_day() -> str:
        if point.day is None:
            return OK
        if today > point.day + timedelta(days=window_days):
            return OVERDUE
        if today >= point.day:
            return DUE
        return SOON if today >= point.day - timedelta(days=soon_days) else OK

    order = (OK, SOON, DUE, OVERDUE)
    return max(by_km(), by_day(), key=order.index)


def window_status(point: DuePoint, km: int, day: date) -> str:
    """Place a moment relative to the due point's window: before, inside or after."""
    wk, wd = _cfg("MAINTENANCE_WINDOW_KM"), _cfg("MAINTENANCE_WINDOW_DAYS")
    after = (point.km is not None and km > point.km + wk) or (
        point.day is not None and day > point.day + timedelta(days=wd)
    )
    if after:
        return "after"
    inside = (point.km is not None and km >= point.km - wk) or (
        point.day is not None and day >= point.day - timedelta(days=wd)
    )
    return "inside" if inside else "before"


# --- plans and vehicle state ----------------------------------------------------------


# The owner's page reads plain rows through statements built once (building a statement
# cost as much as running it, and loading ORM objects more), on the session's connection
# (same transaction) without the ORM's per-statement work.
def _core(statement, **params):
    return db.session.connection().execute(statement, params)


_PLANS, _ITEMS = MaintenancePlan.__table__, PlanItem.__table__
_PLAN_ID = (
    select(_PLANS.c.id)
    .where(
        or_(
            and_(_PLANS.c.brand == bindparam("brand"), _PLANS.c.series == bindparam("series")),
            _PLANS.c.is_default.is_(True),
        )
    )
    .order_by(_PLANS.c.is_default)  # the model's own plan before the default
    .limit(1)
    .scalar_subquery()
)


def plan_for(vehicle: Vehicle) -> MaintenancePlan | None:
    """Return the model's own plan, else the default plan."""
    return db.session.scalar(
        select(MaintenancePlan).where(MaintenancePlan.id == _PLAN_ID),
        {"brand": vehicle.brand, "series": vehicle.series},
    )


def _states(vehicle: Vehicle) -> dict[str, VehicleItemState]:
    rows = db.session.scalars(
        select(VehicleItemState).where(VehicleItemState.vehicle_id == vehicle.id)
    )
    return {r.code: r for r in rows}


def _today() -> date:
    return now().astimezone(ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])).date()
