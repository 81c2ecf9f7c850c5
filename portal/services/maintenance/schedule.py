"""Read a car's maintenance schedule in one statement and build the owner's page from it."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import NamedTuple

from flask import current_app
from sqlalchemy import Row, String, and_, bindparam, func, or_, select, type_coerce
from sqlalchemy.engine import Dialect

from portal.extensions import db
from portal.models import (
    MileageReading,
    UptakeStat,
    Vehicle,
    VehicleItemState,
)
from portal.models.base import Bilingual
from portal.models.maintenance import ALL
from portal.services.maintenance.due import (
    _ITEMS,
    _PLANS,
    DEFAULT_DAILY_KM,
    DUE,
    OK,
    OVERDUE,
    SOON,
    DuePoint,
    _core,
    _today,
    due_point,
    status_of,
)
from portal.services.maintenance.uptake import Uptake, _choose_uptake


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


@dataclass(frozen=True)
class PlanRef(Bilingual):
    """The plan a schedule was built from: enough to name it on the page."""

    id: int
    name: str
    name_en: str = ""


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
    name_en: str
    description_en: str

    shown = Bilingual.shown  # the name or description in the reader's language


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
            _PLANS.c.name_en.label("plan_name_en"),
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
    return Schedule(
        car, PlanRef(head.plan_id, head.plan_name, head.plan_name_en or ""), tuple(rows), per_day
    )


def load_schedule(vehicle_id: int) -> Schedule | None:
    """Return the car's schedule, None if there is no such car (one query)."""
    return build_schedule(schedule_facts(vehicle_id), settings())


def schedule(vehicle: Vehicle) -> tuple[PlanRef | None, list[ScheduleRow]]:
    """Return the vehicle's plan and one row per item, most urgent first (one query)."""
    found = load_schedule(vehicle.id)
    return (found.plan, list(found.rows)) if found else (None, [])
