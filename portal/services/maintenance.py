"""Maintenance schedules: what is due when, and what other owners chose in the same situation.

Definitions (also in the README's maintenance section):

- A plan item is due at a *due point*: ``last done km + interval km`` and/or ``last done date +
  interval months`` (whichever comes first); for an item never done, the first-due offset (or
  the interval) counted from 0 km and the purchase date.
- Status: *overdue* once the due point is passed by more than the window (1,000 km or 30 days by
  default), *due* once it is reached, *due soon* within 1,000 km or 30 days before it, else *ok*.
- A *due event* is one vehicle reaching one due point of one item. It is *taken* when the item
  is done within the window around the due point (from window before it to window after it),
  *missed* when the vehicle passes the window without it, and *superseded* when the item was
  done earlier than the window (the next due point then moves).
- The uptake rate of an item for a model is taken / (taken + missed) over all resolved events
  of that item on that model. Events still inside their window are not counted yet. When the
  model has fewer resolved events than the minimum sample (30), the all-models rate is shown
  (and the page says so); below the minimum there too, "not enough data yet".
- Aggregates (``maintenance_uptake``) are updated in the same transaction that resolves an
  event, so reading a rate is one primary-key lookup whatever the history's size.
"""

from __future__ import annotations

import calendar
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Row, String, and_, bindparam, func, or_, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect

from portal.extensions import db
from portal.models import (
    DueEvent,
    MaintenancePlan,
    MileageReading,
    PlanItem,
    ServiceRecord,
    UptakeStat,
    Vehicle,
    VehicleItemState,
)
from portal.models.maintenance import ALL
from portal.timeutil import now

OK, SOON, DUE, OVERDUE = "ok", "due_soon", "due", "overdue"
DEFAULT_DAILY_KM = 40.0


def _cfg(key: str) -> int:
    return int(current_app.config[key])


def add_months(day: date, months: int) -> date:
    """Return the same day `months` later, clamped to the month's end (Jan 31 + 1 = Feb 28)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


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


def _daily_km(
    car, first: datetime | None, last: datetime | None, low: int | None, today: date
) -> float:
    """Return the car's average daily distance from its mileage history's span."""
    if first and last and (last - first).days >= 14 and low is not None:
        return max((car.current_km - low) / max((last - first).days, 1), 1.0)
    if car.purchase_date:
        days = (today - car.purchase_date).days
        if days >= 30 and car.current_km:
            return max(car.current_km / days, 1.0)
    return DEFAULT_DAILY_KM


def _states(vehicle: Vehicle) -> dict[str, VehicleItemState]:
    rows = db.session.scalars(
        select(VehicleItemState).where(VehicleItemState.vehicle_id == vehicle.id)
    )
    return {r.code: r for r in rows}


@dataclass(frozen=True)
class PlanRef:
    """The plan a schedule was built from: enough to name it on the page."""

    id: int
    name: str


def _today() -> date:
    return now().astimezone(ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])).date()


# --- uptake ---------------------------------------------------------------------------


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


# --- the owner's page -----------------------------------------------------------------


class Item(NamedTuple):
    """A plan item's columns, as the schedule reads them (read-only, hashable)."""

    id: int
    code: str
    name: str
    interval_km: int | None
    interval_months: int | None
    first_due_km: int | None
    first_due_months: int | None
    severity: str
    description: str
    typical_price_fen: int


@dataclass(frozen=True, slots=True)
class Car:
    """The vehicle's columns the schedule reads."""

    id: int
    owner_id: int
    plate: str
    brand: str
    series: str
    model_year: int
    purchase_date: date | None
    current_km: int

    @property
    def label(self) -> str:
        return f"{self.brand} {self.series} {self.model_year}"


# Named tuples, not dataclasses: a page builds one per plan item, and the rows fragment is
# keyed (hashed) on them.
class ScheduleRow(NamedTuple):
    item: Item
    last_km: int | None
    last_day: date | None
    point: DuePoint
    due_by: date | None  # predicted date the item falls due (km predicted from daily distance)
    status: str
    uptake: Uptake


@dataclass(frozen=True)
class Schedule:
    car: Car
    plan: PlanRef | None
    rows: tuple[ScheduleRow, ...]  # most urgent first
    per_day: float  # the car's average daily distance, which dates the km due points


# Everything the page shows, in one statement: the car, its mileage span, the plan that
# applies (the model's own, else the default), each item with the car's last time and the
# model's and all models' uptake counters. One row per plan item (one row with NULL item
# columns when no plan applies); none if the car does not exist.
_CARS, _STATES, _READINGS = Vehicle.__table__, VehicleItemState.__table__, MileageReading.__table__
_UP_MODEL = UptakeStat.__table__.alias("uptake_model")
_UP_ALL = UptakeStat.__table__.alias("uptake_all")
_SPAN = (
    select(
        _READINGS.c.vehicle_id,
        func.min(_READINGS.c.recorded_at).label("first_at"),
        func.max(_READINGS.c.recorded_at).label("last_at"),
        func.min(_READINGS.c.km).label("low_km"),
    )
    .where(_READINGS.c.vehicle_id == bindparam("vehicle_id"))
    .group_by(_READINGS.c.vehicle_id)
    .subquery("span")
)
_CAR_PLAN = (
    select(_PLANS.c.id)
    .where(
        or_(
            and_(_PLANS.c.brand == _CARS.c.brand, _PLANS.c.series == _CARS.c.series),
            _PLANS.c.is_default.is_(True),
        )
    )
    .order_by(_PLANS.c.is_default)  # the model's own plan before the default
    .limit(1)
    .correlate(_CARS)
    .scalar_subquery()
)
_CAR_COLUMNS = [_CARS.c[f] for f in Car.__dataclass_fields__]
_ITEM_COLUMNS = [_ITEMS.c[f] for f in Item._fields]


def _schedule_statement(column=lambda c: c):
    return (
        select(
            *map(column, _CAR_COLUMNS),
            column(_SPAN.c.first_at),
            column(_SPAN.c.last_at),
            _SPAN.c.low_km,
            _PLANS.c.id.label("plan_id"),
            _PLANS.c.name.label("plan_name"),
            *_ITEM_COLUMNS,
            _STATES.c.last_km,
            column(_STATES.c.last_done_at),
            _UP_MODEL.c.taken.label("model_taken"),
            _UP_MODEL.c.total.label("model_total"),
            _UP_ALL.c.taken.label("all_taken"),
            _UP_ALL.c.total.label("all_total"),
        )
        .select_from(_CARS)
        .outerjoin(_SPAN, _SPAN.c.vehicle_id == _CARS.c.id)
        .outerjoin(_PLANS, _PLANS.c.id == _CAR_PLAN)
        .outerjoin(_ITEMS, _ITEMS.c.plan_id == _PLANS.c.id)
        .outerjoin(
            _STATES, and_(_STATES.c.vehicle_id == _CARS.c.id, _STATES.c.code == _ITEMS.c.code)
        )
        .outerjoin(
            _UP_MODEL,
            and_(
                _UP_MODEL.c.code == _ITEMS.c.code,
                _UP_MODEL.c.brand == _CARS.c.brand,
                _UP_MODEL.c.series == _CARS.c.series,
            ),
        )
        .outerjoin(
            _UP_ALL,
            and_(_UP_ALL.c.code == _ITEMS.c.code, _UP_ALL.c.brand == ALL, _UP_ALL.c.series == ALL),
        )
        .where(_CARS.c.id == bindparam("vehicle_id"))
        .order_by(_ITEMS.c.id)
    )


_SCHEDULE = _schedule_statement()
_CAR_SLICE = slice(0, len(_CAR_COLUMNS))
_ITEM_SLICE = slice(len(_CAR_COLUMNS) + 5, len(_CAR_COLUMNS) + 5 + len(_ITEM_COLUMNS))
# The page reads the dates and times as the database stores them: a repeat view only hashes
# the rows (the key of its memoised page), and converting them cost a third of the query.
# typed() converts them as the columns' own types would when a schedule is built.
_TIMES = ("purchase_date", "first_at", "last_at", "last_done_at")
_SCHEDULE_AS_STORED = _schedule_statement(
    lambda c: type_coerce(c, String).label(c.key) if c.key in _TIMES else c
)
_Fact = namedtuple("_Fact", [c.key for c in _SCHEDULE.selected_columns], rename=True)  # type: ignore[misc]


@cache
def _time_converters(dialect: Dialect) -> tuple[tuple[int, Callable], ...]:
    columns = list(_SCHEDULE.selected_columns)
    found = []
    for i, column in enumerate(columns):
        if column.key in _TIMES:
            convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if convert is not None:
                found.append((i, convert))
    return tuple(found)


def typed(facts: tuple[Row, ...]) -> list[_Fact]:
    """The schedule statement's rows with their dates and times converted (see _TIMES)."""
    converters = _time_converters(db.session.get_bind().dialect)
    out = []
    for row in facts:
        values = list(row)
        for i, convert in converters:
            values[i] = convert(values[i])
        out.append(_Fact(*values))
    return out


_URGENCY = {OVERDUE: 0, DUE: 1, SOON: 2, OK: 3}


class Settings(NamedTuple):
    """The rest of a schedule's input: the store's date and the maintenance settings."""

    today: date
    min_sample: int
    window_km: int
    window_days: int
    soon_km: int
    soon_days: int


def settings() -> Settings:
    """Return today's date in the store's time zone and the app's maintenance settings."""
    cfg = current_app.config
    return Settings(
        _today(),
        int(cfg["MAINTENANCE_MIN_SAMPLE"]),
        int(cfg["MAINTENANCE_WINDOW_KM"]),
        int(cfg["MAINTENANCE_WINDOW_DAYS"]),
        int(cfg["MAINTENANCE_SOON_KM"]),
        int(cfg["MAINTENANCE_SOON_DAYS"]),
    )


def schedule_facts(vehicle_id: int) -> tuple[Row, ...]:
    """Return what the car's schedule is computed from, in one statement (see _SCHEDULE):
    one row per plan item, none if there is no such car. Rows are hashable values."""
    return tuple(_core(_SCHEDULE_AS_STORED, vehicle_id=vehicle_id).all())


def build_schedule(facts: tuple[Row, ...], now_: Settings) -> Schedule | None:
    """Return the schedule that the facts and settings give (a pure function of them)."""
    if not facts:
        return None
    facts = typed(facts)
    head = facts[0]
    car = Car(*head[_CAR_SLICE])
    today = now_.today
    per_day = _daily_km(car, head.first_at, head.last_at, head.low_km, today)
    if head.plan_id is None or head.code is None:
        return Schedule(car, None, (), per_day)
    rows = []
    for r in facts:
        item = Item(*r[_ITEM_SLICE])
        last_km = r.last_km
        last_day = r.last_done_at.date() if r.last_done_at is not None else None
        point = due_point(item, last_km=last_km, last_day=last_day, purchase_day=car.purchase_date)
        by_km = None
        if point.km is not None:
            by_km = today + timedelta(days=max((point.km - car.current_km) / per_day, -3650))
        candidates = [d for d in (by_km, point.day) if d is not None]
        status = status_of(
            point,
            car.current_km,
            today,
            window_km=now_.window_km,
            window_days=now_.window_days,
            soon_km=now_.soon_km,
            soon_days=now_.soon_days,
        )
        uptake = _choose_uptake(
            (r.model_taken or 0, r.model_total or 0),
            (r.all_taken or 0, r.all_total or 0),
            now_.min_sample,
        )
        due_by = min(candidates) if candidates else None
        rows.append(ScheduleRow(item, last_km, last_day, point, due_by, status, uptake))
    rows.sort(key=lambda row: (_URGENCY[row.status], row.due_by or date.max))
    return Schedule(car, PlanRef(head.plan_id, head.plan_name), tuple(rows), per_day)


def load_schedule(vehicle_id: int) -> Schedule | None:
    """Return the car's schedule, None if there is no such car (one query)."""
    return build_schedule(schedule_facts(vehicle_id), settings())


def schedule(vehicle: Vehicle) -> tuple[PlanRef | None, list[ScheduleRow]]:
    """Return the vehicle's plan and one row per item, most urgent first (one query)."""
    found = load_schedule(vehicle.id)
    return (found.plan, list(found.rows)) if found else (None, [])


# --- reminders ------------------------------------------------------------------------

LEVELS = (SOON, DUE, OVERDUE)


def _claim_reminder(vehicle_id: int, code: str, due_key: str, level: str) -> bool:
    """Insert the reminder row; only the caller that inserted it may send (UNIQUE + no-op)."""
    from portal.models import MaintenanceReminder

    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    table = MaintenanceReminder.__table__
    inserted = db.session.execute(
        insert(table)
        .values(vehicle_id=vehicle_id, code=code, due_key=due_key, level=level, sent_at=now())
        .on_conflict_do_nothing(index_elements=["vehicle_id", "code", "due_key", "level"])
        .returning(table.c.id)  # psycopg reports no rowcount for INSERT; RETURNING tells
    ).first()
    return inserted is not None


def remind_vehicle(vehicle: Vehicle) -> int:
    """Sync the vehicle's due events and send each new due-soon/due/overdue reminder once."""
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from portal.mail import send_mail
    from portal.models import Notification, User
    from portal.services import channels

    sync_vehicle(vehicle)
    _plan, rows = schedule(vehicle)
    owner = db.session.get(User, vehicle.owner_id)
    sent = 0
    for row in rows:
        if row.status not in LEVELS:
            continue
        if not _claim_reminder(vehicle.id, row.item.code, row.point.key, row.status):
            continue
        with force_locale(owner.locale or current_app.config["DEFAULT_LOCALE"]):
            text = {
                SOON: _(
                    "%(plate)s: %(item)s is due soon.", plate=vehicle.plate, item=row.item.name
                ),
                DUE: _("%(plate)s: %(item)s is due now.", plate=vehicle.plate, item=row.item.name),
                OVERDUE: _(
                    "%(plate)s: %(item)s is overdue.", plate=vehicle.plate, item=row.item.name
                ),
            }[row.status]
        link = f"/vehicles/{vehicle.id}/maintenance"
        if owner.remind_inapp:
            db.session.add(Notification(user_id=owner.id, text=text, link=link, created_at=now()))
        if owner.remind_email and owner.email:
            base = current_app.config["BASE_URL"].rstrip("/")
            send_mail(
                owner.email,
                text,
                f"{text}\n\n{base}{link}",
                kind="reminder",
                store_id=owner.store_id,
                user_id=owner.id,
            )
        # SMS and WeChat as the owner chose them (Messages and channels), quiet hours kept.
        channels.fan_out(
            owner,
            "reminder",
            subject=text,
            text=text,
            link=current_app.config["BASE_URL"].rstrip("/") + link,
            params={"plate": vehicle.plate, "item": str(row.item.name)},
            at=now(),
            only=("sms", "wechat"),
        )
        sent += 1
    return sent


def send_due_reminders() -> int:
    """The maintenance-reminders job: check only the vehicles whose status may have moved
    (a new mileage, or a date threshold reached; see reminder_checks), committing each."""
    from portal.services import reminder_checks

    today = _today()
    ids = reminder_checks.vehicles_to_check(today)
    db.session.commit()
    sent = 0
    for vehicle_id in ids:
        vehicle = db.session.get(Vehicle, vehicle_id)
        if vehicle is None:  # deleted meanwhile
            continue
        sent += remind_vehicle(vehicle)
        _plan, rows = schedule(vehicle)
        check_on = reminder_checks.next_check_on([row.point for row in rows], today)
        reminder_checks.record_check(vehicle.id, vehicle.current_km, check_on)
        db.session.commit()
    return sent
