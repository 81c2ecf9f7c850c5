"""Time helpers: a replaceable clock (for tests) and store time zones."""

from __future__ import annotations

from datetime import datetime
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
