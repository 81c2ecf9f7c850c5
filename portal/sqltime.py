"""Date arithmetic that SQLite and PostgreSQL spell differently, as portable SQL expressions.

Timestamps are stored by portal.models.base.UTCDateTime: naive UTC text on SQLite,
timestamptz on PostgreSQL. Each construct compiles to the native spelling of each database,
so that aggregation stays in the database (GROUP BY, AVG, ORDER BY) on both.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Float, Integer, String, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement):  # noqa: N801 - reads like the SQL function it is
    """(later - earlier) in fractional days: days_between(earlier, later)."""

    type = Float()
    name = "days_between"
    inherit_cache = True


@compiles(days_between)
def _days_between_pg(element, compiler, **kw):
    earlier, later = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION) / 86400.0)"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    earlier, later = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({later}) - julianday({earlier}))"


class whole_days_between(FunctionElement):  # noqa: N801 - reads like the SQL function it is
    """Whole days from earlier to later, rounded down (later >= earlier): an integer."""

    type = Integer()
    name = "whole_days_between"
    inherit_cache = True


@compiles(whole_days_between)
def _whole_days_pg(element, compiler, **kw):
    earlier, later = (compiler.process(c, **kw) for c in element.clauses)
    # A cast to integer rounds on PostgreSQL; FLOOR first so a day and a half is one day.
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0) AS INTEGER)"


@compiles(whole_days_between, "sqlite")
def _whole_days_sqlite(element, compiler, **kw):
    earlier, later = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"  # truncates


class _local_month(FunctionElement):  # noqa: N801
    type = String()
    name = "local_month"
    inherit_cache = True


@compiles(_local_month)
def _local_month_pg(element, compiler, **kw):
    column, zone, _modifier = (compiler.process(c, **kw) for c in element.clauses)
    return f"to_char(timezone({zone}, {column}), 'YYYY-MM')"


@compiles(_local_month, "sqlite")
def _local_month_sqlite(element, compiler, **kw):
    column, _zone, modifier = (compiler.process(c, **kw) for c in element.clauses)
    return f"strftime('%Y-%m', {column}, {modifier})"


def local_month(column, tz: str, at: datetime):
    """Return 'YYYY-MM' of the timestamp column in the time zone tz.

    PostgreSQL converts with the real zone rules. SQLite has no zone database, so it shifts by
    tz's UTC offset at `at`; exact for zones without daylight saving time (Asia/Shanghai)."""
    minutes = _offset_minutes(tz, at)
    return _local_month(column, literal(tz), literal(f"{minutes:+d} minutes"))


def _offset_minutes(tz: str, at: datetime) -> int:
    """Return tz's UTC offset at `at` in minutes (SQLite shifts by it)."""
    offset = ZoneInfo(tz).utcoffset(at.replace(tzinfo=None))
    return int(offset.total_seconds() // 60) if offset else 0


class _local_date(FunctionElement):  # noqa: N801
    type = Date()
    name = "local_date"
    inherit_cache = True


@compiles(_local_date)
def _local_date_pg(element, compiler, **kw):
    column, zone, _modifier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(timezone({zone}, {column}) AS DATE)"


@compiles(_local_date, "sqlite")
def _local_date_sqlite(element, compiler, **kw):
    column, _zone, modifier = (compiler.process(c, **kw) for c in element.clauses)
    return f"date({column}, {modifier})"


def local_date(column, tz: str, at: datetime):
    """Return the calendar day of the timestamp column in the time zone tz (a DATE).

    As local_month: the real zone rules on PostgreSQL, tz's UTC offset at `at` on SQLite."""
    minutes = _offset_minutes(tz, at)
    return _local_date(
        column,
        literal(tz, literal_execute=True),
        literal(f"{minutes:+d} minutes", literal_execute=True),
    )


class plus_days(FunctionElement):  # noqa: N801 - reads like the SQL function it is
    """The timestamp column moved by a whole number of days: plus_days(column, days)."""

    name = "plus_days"
    inherit_cache = True

    def __init__(self, column, days: int):
        self.type = column.type
        super().__init__(column, literal(int(days), literal_execute=True))


@compiles(plus_days)
def _plus_days_pg(element, compiler, **kw):
    column, days = (compiler.process(c, **kw) for c in element.clauses)
    # Hours, not days: a day of a timestamptz follows the session zone's daylight saving.
    return f"({column} + {days} * INTERVAL '24 hours')"


@compiles(plus_days, "sqlite")
def _plus_days_sqlite(element, compiler, **kw):
    column, days = (compiler.process(c, **kw) for c in element.clauses)
    # The stored text is 'YYYY-MM-DD HH:MM:SS.ffffff': datetime() moves the date and drops the
    # fraction, which comes back from the stored text (position 20 on) so nothing is rounded.
    return f"(datetime({column}, ({days}) || ' days') || substr({column}, 20))"


class later_of(FunctionElement):  # noqa: N801 - reads like the SQL function it is
    """The later of two timestamps (both in the same stored form): later_of(a, b)."""

    name = "later_of"
    inherit_cache = True

    def __init__(self, first, second):
        self.type = first.type
        super().__init__(first, second)


@compiles(later_of)
def _later_of_pg(element, compiler, **kw):
    first, second = (compiler.process(c, **kw) for c in element.clauses)
    return f"GREATEST({first}, {second})"


@compiles(later_of, "sqlite")
def _later_of_sqlite(element, compiler, **kw):
    first, second = (compiler.process(c, **kw) for c in element.clauses)
    return f"max({first}, {second})"  # SQLite's max() of two values; the text sorts by time
