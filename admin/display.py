"""Back-office display: dates and times in the staff member's store zone and language."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import get_datetime_format
from flask import current_app, g, has_request_context
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.model import typefmt
from flask_admin.model.filters import convert
from flask_babel import format_date, format_time, get_locale
from flask_login import current_user

from portal import access
from portal.extensions import db
from portal.i18n import localtime
from portal.models import Store, User
from portal.wording import day_label, day_time_label

FILTER_FORMAT = "%Y-%m-%d %H:%M:%S"  # what Flask-Admin's date-time picker sends


def staff_zone() -> ZoneInfo:
    """Return the time zone of the viewing staff member's store, else the configured one."""
    if "staff_zone" not in g:  # once per request: a list formats hundreds of times
        store_id = getattr(current_user, "store_id", None) if has_request_context() else None
        store = db.session.get(Store, store_id) if store_id else None
        g.staff_zone = ZoneInfo(store.timezone if store else current_app.config["DEFAULT_TIMEZONE"])
    return g.staff_zone


def staff_datetime(value: datetime | None) -> str:
    """Format a stored UTC datetime as store-local date and minute in the current language."""
    if value is None:
        return ""
    local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(staff_zone())
    pattern = get_datetime_format("medium", locale=get_locale())
    day = format_date(local.date(), "medium")
    clock = format_time(local.time(), "short", rebase=False)
    return pattern.replace("{1}", day).replace("{0}", clock)


def storetime(value: datetime | None, fmt: str | None = None) -> str:
    """Jinja filter: a UTC datetime in the staff member's store zone (fmt as for localtime)."""
    return staff_datetime(value) if fmt is None else localtime(value, staff_zone().key, fmt)


def storeday(value: datetime | date | None, with_time: bool = True) -> str:
    """Jinja filter: a day as staff read it, "12月4日 周五 14:30" / "Fri 4 Dec 14:30", in the
    staff member's store zone; with_time=False leaves out the clock."""
    if not with_time or not isinstance(value, datetime):
        return day_label(value, staff_zone().key)
    return day_time_label(value, staff_zone().key)


def staff_date(value: date | None) -> str:
    """Format a calendar date in the current language's medium style."""
    return format_date(value, "medium") if value else ""


def staff_time(value: time | None) -> str:
    """Format a time of day (opening hours) to the minute in the current language."""
    return format_time(value, "short", rebase=False) if value else ""


def person(value: User) -> str:
    """Show a person in a cell: their name, and their phone only as the access rule lets the
    signed-in staff member see it (masked for a colleague's customer)."""
    viewer = current_user if has_request_context() else None
    phone = access.customer_phone(viewer, value)
    return f"{value.name} ({phone})" if phone else value.name


def _typed(base: dict) -> dict:
    # datetime before date: a datetime is a date too, and the first isinstance match wins.
    return {
        User: lambda view, value, name: person(value),
        datetime: lambda view, value, name: staff_datetime(value),
        date: lambda view, value, name: staff_date(value),
        time: lambda view, value, name: staff_time(value),
        **base,
    }


LIST_FORMATTERS = _typed(typefmt.BASE_FORMATTERS)
DETAIL_FORMATTERS = _typed(typefmt.DETAIL_FORMATTERS)
EXPORT_FORMATTERS = _typed(typefmt.EXPORT_FORMATTERS)


def local_to_utc(value: str) -> datetime:
    """Read a filter's store-local "YYYY-MM-DD HH:MM:SS" as an aware UTC datetime."""
    naive = datetime.strptime(value.strip(), FILTER_FORMAT)
    return naive.replace(tzinfo=staff_zone()).astimezone(UTC)


class _LocalMoment:
    def clean(self, value):
        return local_to_utc(value)


class _LocalRange:
    def clean(self, value):
        return [local_to_utc(part) for part in value.split(" to ")]


def _local(cls, mixin=_LocalMoment):
    return type(cls.__name__, (mixin, cls), {"__doc__": "Store-local " + cls.__name__})


class StoreTimeFilterConverter(sqla_filters.FilterConverter):
    """Filters on stored-UTC columns that read the typed time in the staff member's zone."""

    datetime_filters = (
        _local(sqla_filters.DateTimeEqualFilter),
        _local(sqla_filters.DateTimeNotEqualFilter),
        _local(sqla_filters.DateTimeGreaterFilter),
        _local(sqla_filters.DateTimeSmallerFilter),
        _local(sqla_filters.DateTimeBetweenFilter, _LocalRange),
        _local(sqla_filters.DateTimeNotBetweenFilter, _LocalRange),
        sqla_filters.FilterEmpty,
    )

    @convert("utcdatetime")  # our stored-UTC column type; no column is a naive DateTime
    def conv_utc_datetime(self, column, name, **kwargs):
        return [f(column, name, **kwargs) for f in self.datetime_filters]


class StoreDaysFilter(sqla_filters.DateBetweenFilter):
    """A stored-UTC column between two days of the store's calendar, both included: from the
    first day's midnight to the midnight after the last, in the staff member's zone."""

    def clean(self, value: str) -> list[datetime]:
        first, last = super().clean(value)
        zone = staff_zone()
        start = datetime.combine(first, time(), zone).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
        return [start, end]

    def validate(self, value: str) -> bool:
        if not super().validate(value):
            return False
        return super().clean(value)[1] < date.max  # the day after the last must exist

    def apply(self, query, value, alias=None):
        start, end = value
        column = self.get_column(alias)
        return query.filter(column >= start, column < end)
