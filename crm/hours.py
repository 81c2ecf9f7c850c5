"""Opening hours for speed to lead: when a new lead's first contact is due.

While the store is open a lead is due ``store.first_contact_minutes`` after it arrives; while
it is closed (after hours, a closed weekday, a holiday in ``store_days``) it is due at the next
opening. Everything is computed in the store's own zone with zoneinfo and returned in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.extensions import db
from portal.models import Store
from portal.models.bookings import StoreDay

LOOKAHEAD_DAYS = 15  # a store closed longer than this: fall back to arrival + minutes


@dataclass(frozen=True)
class FirstContact:
    due_at: datetime  # UTC
    open_now: bool  # False: the customer is told when we will call


def closed_days(store: Store) -> set[int]:
    """Return the weekdays (0 Monday .. 6 Sunday) the store is closed."""
    return {int(c) for c in (store.closed_weekdays or "") if c.isdigit() and int(c) <= 6}


def hours_on(store: Store, day: date, exceptions: dict[date, StoreDay]) -> tuple[time, time] | None:
    """Return the store's opening and closing time on a local day, None when closed."""
    special = exceptions.get(day)
    if special is not None:
        if special.closed:
            return None
        return (special.opens_at or store.opens_at, special.closes_at or store.closes_at)
    if day.weekday() in closed_days(store):
        return None
    return store.opens_at, store.closes_at


def first_contact(store: Store, at: datetime) -> FirstContact:
    """Return when a lead arriving at ``at`` must first be contacted, and whether we're open."""
    zone = ZoneInfo(store.timezone)
    local = at.astimezone(zone)
    today = local.date()
    last = today + timedelta(days=LOOKAHEAD_DAYS)
    exceptions = {
        row.day: row
        for row in db.session.scalars(
            select(StoreDay).where(
                StoreDay.store_id == store.id, StoreDay.day >= today, StoreDay.day <= last
            )
        )
    }
    in_minutes = at + timedelta(minutes=store.first_contact_minutes or 5)
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = today + timedelta(days=offset)
        hours = hours_on(store, day, exceptions)
        if hours is None:
            continue
        opens = datetime.combine(day, hours[0], tzinfo=zone)
        closes = datetime.combine(day, hours[1], tzinfo=zone)
        if local >= closes:
            continue
        if local >= opens:
            return FirstContact(in_minutes, open_now=True)
        return FirstContact(opens.astimezone(UTC), open_now=False)
    return FirstContact(in_minutes, open_now=False)
