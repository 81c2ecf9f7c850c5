"""Time helpers: a replaceable clock (for tests) and store time zones."""

from __future__ import annotations

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo

from portal.models.base import utcnow

_clock = utcnow


def now() -> datetime:
    """Return the current aware UTC time from the process clock."""
    return _clock()


def set_clock(fn) -> None:
    """Replace the clock; tests use this instead of sleeping."""
    global _clock
    _clock = fn or utcnow


def to_local(value: datetime, tz: str) -> datetime:
    """Convert an aware UTC datetime to the given IANA time zone."""
    return value.astimezone(ZoneInfo(tz))


def add_months(day: date, months: int) -> date:
    """Return the same day `months` later, clamped to the month's end (Jan 31 + 1 = Feb 28)."""
    years, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
