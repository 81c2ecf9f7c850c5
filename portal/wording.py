"""Native wording for owner and staff pages: short dates as Chinese sites write them, prices
in 万元, full-width colons after Chinese labels."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date
from flask import Flask, current_app
from flask_babel import get_locale

from portal.i18n import cny
from portal.timeutil import now, to_local

WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def _is_chinese() -> bool:
    return get_locale().language == "zh"


def day_label(value: datetime | date | None, tz: str | None = None) -> str:
    """Return the store-local day as "12月3日 周四" (zh) or "Thu 3 Dec" (en), with other years.

    A calendar date (a plan's day, a delivery date) is shown as it is, with no zone."""
    if value is None:
        return ""
    zone = tz or current_app.config["DEFAULT_TIMEZONE"]
    day = to_local(value, zone).date() if isinstance(value, datetime) else value
    this_year = to_local(now(), zone).year
    if _is_chinese():
        year = f"{day.year}年" if day.year != this_year else ""
        return f"{year}{day.month}月{day.day}日 {WEEKDAYS_ZH[day.weekday()]}"
    pattern = "EEE d MMM" if day.year == this_year else "EEE d MMM yyyy"
    return format_date(day, pattern, locale=get_locale())


def day_time_label(value: datetime | None, tz: str | None = None) -> str:
    """Return the store-local day and minute: "12月4日 周五 14:30" (zh), "Fri 4 Dec 14:30" (en)."""
    if value is None:
        return ""
    zone = tz or current_app.config["DEFAULT_TIMEZONE"]
    return f"{day_label(value, zone)} {to_local(value, zone):%H:%M}"


def wan_yuan(fen: int | None) -> str:
    """Return a car price as Chinese sites show it, "12.58万元" (zh), else as plain yuan."""
    if fen is None:
        return ""
    if not _is_chinese():
        return cny(fen)
    wan = (Decimal(int(fen)) / 1_000_000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{wan:f}".rstrip("0").rstrip(".")
    return f"{text}万元"


def label(text: str) -> str:
    """Return a field's label before its value: "里程：" (zh, full-width colon), "Mileage: "."""
    return f"{text}：" if _is_chinese() else f"{text}: "


def init_app(app: Flask) -> None:
    """Register the wording filters."""
    app.jinja_env.filters["day_label"] = day_label
    app.jinja_env.filters["day_time"] = day_time_label
    app.jinja_env.filters["wan_yuan"] = wan_yuan
    app.jinja_env.filters["label"] = label
