"""Workshop capacity: opening hours, per-day exceptions, slots and the places taken in them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.models import SlotUsage, Store, StoreDay
from portal.timeutil import now


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # aware UTC
    capacity: int
    used: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.used, 0)


def slot_minutes() -> int:
    return current_app.config["BOOKING_SLOT_MINUTES"]


def _rules(store: Store, exception: StoreDay | None) -> tuple[time, time, int] | None:
    if exception is not None and exception.closed:
        return None
    opens = (exception and exception.opens_at) or store.opens_at
    closes = (exception and exception.closes_at) or store.closes_at
    bays = exception.bays if exception is not None and exception.bays is not None else store.bays
    if not store.is_active or bays <= 0 or closes <= opens:
        return None
    return opens, closes, bays


def day_rules(store: Store, day: date) -> tuple[time, time, int] | None:
    """Return (opens, closes, bays) for the store on that local day, or None when closed."""
    exception = db.session.scalar(
        select(StoreDay).where(StoreDay.store_id == store.id, StoreDay.day == day)
    )
    return _rules(store, exception)


def _starts(store: Store, day: date, opens: time, closes: time) -> list[datetime]:
    tz = ZoneInfo(store.timezone)
    step = timedelta(minutes=slot_minutes())
    cursor = datetime.combine(day, opens, tzinfo=tz)
    end = datetime.combine(day, closes, tzinfo=tz)
    starts = []
    while cursor + step <= end:
        starts.append(cursor.astimezone(ZoneInfo("UTC")))
        cursor += step
    return starts


def slots_for_day(store: Store, day: date) -> list[Slot]:
    """Return the day's slots with their capacity and places used (past slots left out)."""
    return slots_for_days(store, [day])[day]


def slots_for_days(store: Store, days: list[date]) -> dict[date, list[Slot]]:
    """Return slots_for_day for each of the days, in two queries whatever their number."""
    return slots_for_stores({store: days})[store.id]


def slots_for_stores(days_of: dict[Store, list[date]]) -> dict[int, dict[date, list[Slot]]]:
    """Return slots_for_days per store id for several stores, in two queries in all."""
    every_day = [d for days in days_of.values() for d in days]
    ids = [s.id for s in days_of]
    exceptions = {}
    if every_day:
        exceptions = {
            (e.store_id, e.day): e
            for e in db.session.scalars(
                select(StoreDay).where(
                    StoreDay.store_id.in_(ids),
                    StoreDay.day >= min(every_day),
                    StoreDay.day <= max(every_day),
                )
            )
        }
    at = now()
    starts_of: dict[tuple[int, date], tuple[int, list[datetime]]] = {}
    for store, days in days_of.items():
        for day in days:
            rules = _rules(store, exceptions.get((store.id, day)))
            if rules is not None:
                opens, closes, bays = rules
                starts = [s for s in _starts(store, day, opens, closes) if s > at]
                starts_of[(store.id, day)] = (bays, starts)
    every = [s for _bays, starts in starts_of.values() for s in starts]
    used = {}
    if every:
        used = {
            (store_id, starts_at): n
            for store_id, starts_at, n in db.session.execute(
                select(SlotUsage.store_id, SlotUsage.starts_at, SlotUsage.used).where(
                    SlotUsage.store_id.in_(ids),
                    SlotUsage.starts_at >= min(every),
                    SlotUsage.starts_at <= max(every),
                )
            ).all()
        }
    result = {store.id: {day: [] for day in days} for store, days in days_of.items()}
    for (store_id, day), (bays, starts) in starts_of.items():
        result[store_id][day] = [Slot(s, bays, used.get((store_id, s), 0)) for s in starts]
    return result


def free_slots(store: Store, day: date) -> list[Slot]:
    """Return only the slots with at least one free place."""
    return [s for s in slots_for_day(store, day) if s.free > 0]


def bookable_days(store: Store) -> list[date]:
    """Return the local dates an owner may book, from today to the booking horizon."""
    today = now().astimezone(ZoneInfo(store.timezone)).date()
    horizon = current_app.config["BOOKING_HORIZON_DAYS"]
    return [today + timedelta(days=i) for i in range(horizon + 1)]


def check_slot(store: Store, starts_at: datetime) -> int:
    """Return the slot's capacity, or raise ValidationError if the slot cannot be booked."""
    if starts_at <= now():
        raise ValidationError(_("This time is in the past. Pick a later slot."), field="slot")
    local = starts_at.astimezone(ZoneInfo(store.timezone))
    if local.date() > bookable_days(store)[-1]:
        raise ValidationError(_("This date is too far ahead for online booking."), field="slot")
    rules = day_rules(store, local.date())
    if rules is None:
        raise ValidationError(_("The store is closed on this day."), field="slot")
    opens, closes, bays = rules
    if starts_at not in _starts(store, local.date(), opens, closes):
        raise ValidationError(_("This is not one of the store's slots."), field="slot")
    return bays


def running_slot(store: Store) -> tuple[datetime, int]:
    """Return the start and capacity of the store's slot under way now (a car that walks in
    takes a place in it), or raise ValidationError while the workshop is closed."""
    at = now()
    local = at.astimezone(ZoneInfo(store.timezone))
    rules = day_rules(store, local.date())
    step = timedelta(minutes=slot_minutes())
    if rules is not None:
        opens, closes, bays = rules
        for start in _starts(store, local.date(), opens, closes):
            if start <= at < start + step:
                return start, bays
    raise ValidationError(
        _("The workshop is closed now: book the customer into a later slot instead."),
        field="slot",
    )


def take_running_place(store: Store) -> datetime:
    """Take one place in the slot under way now and return its start; refused when full."""
    starts_at, bays = running_slot(store)
    _take(store, starts_at, bays, _("No bay is free right now: book a later slot instead."))
    return starts_at


def take_place(store: Store, starts_at: datetime) -> None:
    """Take one place in the slot; the database refuses it when the slot is full."""
    _take(
        store,
        starts_at,
        check_slot(store, starts_at),
        _("Sorry, this slot has just been fully booked. Pick another one."),
    )


def _take(store: Store, starts_at: datetime, capacity: int, full: str) -> None:
    table = SlotUsage.__table__
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(table)
        .values(store_id=store.id, starts_at=starts_at, capacity=capacity, used=0)
        .on_conflict_do_nothing(index_elements=["store_id", "starts_at"])
    )
    taken = db.session.execute(
        update(SlotUsage)
        .where(
            SlotUsage.store_id == store.id,
            SlotUsage.starts_at == starts_at,
            SlotUsage.used < capacity,
        )
        .values(used=SlotUsage.used + 1, capacity=capacity)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise Conflict(full)


def release_place(store_id: int, starts_at: datetime) -> None:
    """Give back one place in the slot."""
    db.session.execute(
        update(SlotUsage)
        .where(
            SlotUsage.store_id == store_id,
            SlotUsage.starts_at == starts_at,
            SlotUsage.used > 0,
        )
        .values(used=SlotUsage.used - 1)
        .execution_options(synchronize_session=False)
    )
