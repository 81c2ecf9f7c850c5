"""Count what owners chose at each due point and keep the due events and aggregates current."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.extensions import db
from portal.models import (
    DueEvent,
    MaintenancePlan,
    ServiceRecord,
    UptakeStat,
    Vehicle,
    VehicleItemState,
)
from portal.models.maintenance import ALL
from portal.services.maintenance.due import (
    DuePoint,
    _cfg,
    _core,
    _states,
    _today,
    due_point,
    plan_for,
    window_status,
)
from portal.timeutil import now


class Uptake(NamedTuple):
    """What other owners chose: taken of total, and whose sample it is."""

    taken: int
    total: int
    scope: str  # "model", "all" or "none"

    @property
    def percent(self) -> int:
        return round(100 * self.taken / self.total) if self.total else 0


_UPTAKE = select(
    UptakeStat.code, UptakeStat.brand, UptakeStat.series, UptakeStat.taken, UptakeStat.total
).where(
    UptakeStat.code.in_(bindparam("codes", expanding=True)),
    or_(
        and_(UptakeStat.brand == bindparam("brand"), UptakeStat.series == bindparam("series")),
        and_(UptakeStat.brand == ALL, UptakeStat.series == ALL),
    ),
)


def uptake_for(codes: list[str], brand: str, series: str) -> dict[str, Uptake]:
    """Return each item's uptake for the model, falling back to all models; one query."""
    if not codes:
        return {}
    rows = _core(_UPTAKE, codes=codes, brand=brand, series=series)
    found = {(r.code, r.brand, r.series): (r.taken, r.total) for r in rows}
    minimum = _cfg("MAINTENANCE_MIN_SAMPLE")
    return {
        code: _choose_uptake(
            found.get((code, brand, series), (0, 0)), found.get((code, ALL, ALL), (0, 0)), minimum
        )
        for code in codes
    }


def _choose_uptake(model: tuple[int, int], every: tuple[int, int], minimum: int) -> Uptake:
    """The model's (taken, total) if its sample is big enough, else all models', else none."""
    if model[1] >= minimum:
        return Uptake(model[0], model[1], "model")
    if every[1] >= minimum:
        return Uptake(every[0], every[1], "all")
    return Uptake(every[0], every[1], "none")


def _count(code: str, brand: str, series: str, taken: bool) -> None:
    """Add one resolved event to the model's and the all-models aggregate (upsert)."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    for b, s in ((brand, series), (ALL, ALL)):
        table = UptakeStat.__table__
        stmt = insert(table).values(code=code, brand=b, series=s, taken=int(taken), total=1)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["code", "brand", "series"],
                set_={"taken": table.c.taken + int(taken), "total": table.c.total + 1},
            )
        )


def _resolve(event_id: int, status: str, code: str, brand: str, series: str) -> bool:
    """Resolve an open event once (conditional UPDATE) and count it in the aggregates."""
    done = db.session.execute(
        update(DueEvent)
        .where(DueEvent.id == event_id, DueEvent.status == "open")
        .values(status=status, resolved_at=now())
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return False
    if status in ("taken", "missed"):
        _count(code, brand, series, status == "taken")
    return True


def _open_event(vehicle: Vehicle, code: str, point: DuePoint) -> int | None:
    """Create the due event for this point if it does not exist; return its id if open."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(DueEvent.__table__)
        .values(
            vehicle_id=vehicle.id,
            code=code,
            brand=vehicle.brand,
            series=vehicle.series,
            due_key=point.key,
            due_km=point.km,
            due_date=point.day,
            status="open",
            opened_at=now(),
        )
        .on_conflict_do_nothing(index_elements=["vehicle_id", "code", "due_key"])
    )
    return db.session.scalar(
        select(DueEvent.id).where(
            DueEvent.vehicle_id == vehicle.id,
            DueEvent.code == code,
            DueEvent.due_key == point.key,
            DueEvent.status == "open",
        )
    )


def record_done(
    vehicle: Vehicle,
    code: str,
    km: int,
    done_at: datetime,
    purchase_day: date | None = None,
    plan: MaintenancePlan | None = None,
) -> None:
    """Note that the item was done: resolve its due event and move its due point on."""
    plan = plan or plan_for(vehicle)
    item = next((i for i in plan.items if i.code == code), None) if plan else None
    state = db.session.get(VehicleItemState, (vehicle.id, code))
    if item is not None:
        point = due_point(
            item,
            last_km=state.last_km if state else None,
            last_day=state.last_done_at.date() if state else None,
            purchase_day=purchase_day or vehicle.purchase_date,
        )
        where = window_status(point, km, done_at.date())
        if where in ("inside", "after"):
            event_id = _open_event(vehicle, code, point)
            if event_id is not None:
                _resolve(
                    event_id,
                    "taken" if where == "inside" else "missed",
                    code,
                    vehicle.brand,
                    vehicle.series,
                )
        else:
            for (event_id,) in db.session.execute(
                select(DueEvent.id).where(
                    DueEvent.vehicle_id == vehicle.id,
                    DueEvent.code == code,
                    DueEvent.status == "open",
                )
            ):
                _resolve(event_id, "superseded", code, vehicle.brand, vehicle.series)
    if state is None:
        db.session.add(
            VehicleItemState(vehicle_id=vehicle.id, code=code, last_km=km, last_done_at=done_at)
        )
        db.session.flush()
    elif km >= state.last_km:
        state.last_km, state.last_done_at = km, done_at


def on_service_record(record: ServiceRecord) -> None:
    """Feed a completed service record's maintenance items into the schedule and uptake."""
    vehicle = db.session.get(Vehicle, record.vehicle_id)
    for code in sorted({i.plan_item_code for i in record.items if i.plan_item_code}):
        record_done(vehicle, code, record.mileage_km, record.completed_at)


def sync_vehicle(vehicle: Vehicle) -> int:
    """Open events for items that reached their due point; resolve those whose window passed."""
    plan = plan_for(vehicle)
    if plan is None:
        return 0
    states, today, changed = _states(vehicle), _today(), 0
    for item in plan.items:
        state = states.get(item.code)
        point = due_point(
            item,
            last_km=state.last_km if state else None,
            last_day=state.last_done_at.date() if state else None,
            purchase_day=vehicle.purchase_date,
        )
        where = window_status(point, vehicle.current_km, today)
        reached = (point.km is not None and vehicle.current_km >= point.km) or (
            point.day is not None and today >= point.day
        )
        if reached or where == "after":
            event_id = _open_event(vehicle, item.code, point)
            if event_id is not None and where == "after":
                changed += _resolve(event_id, "missed", item.code, vehicle.brand, vehicle.series)
    return changed
