"""The group's comparison of stores: headquarters (every store), regional managers (their
region's stores) and admins see each store's figures side by side with the group median."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin import charts, group_stats
from admin.base import StaffView
from portal.i18n import cny
from portal.timeutil import now

PERIOD_LABELS = {
    "month": _l("This month"),
    "last_month": _l("Last month"),
    "90d": _l("Last 90 days"),
}


def _count(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _percent(value: float) -> str:
    return f"{100 * value:.0f} %"


def _minutes(value: float) -> str:
    return _("%(m).0f min", m=value)


def _score(value: float) -> str:
    return f"{value:.0f}"


def _yuan(fen: float) -> str:
    return cny(round(fen))


@dataclass(frozen=True)
class Measure:
    """One compared figure: its key, heading, how to read it off a store and how to print it."""

    key: str
    title: str
    value: Callable[[group_stats.StoreFigures], float | None]
    fmt: Callable[[float], str]


def measures() -> list[Measure]:
    """Return the dashboard's figures, in the order they are shown."""
    return [
        Measure("bookings", _("Online bookings"), lambda r: r.bookings, _count),
        Measure("show_rate", _("Show rate"), lambda r: r.show_rate, _percent),
        Measure(
            "first_contact",
            _("Time to first contact (median)"),
            lambda r: r.contact_minutes,
            _minutes,
        ),
        Measure("conversion", _("Lead conversion"), lambda r: r.conversion, _percent),
        Measure("csi", _("CSI (0-100)"), lambda r: r.csi, _score),
        Measure("nps", _("NPS"), lambda r: r.nps, _score),
        Measure("complaints", _("Complaints"), lambda r: r.complaints, _count),
        Measure("sales", _("Shop sales"), lambda r: r.sales_fen, _yuan),
        Measure("vetting", _("Used cars vetted"), lambda r: r.vetted, _count),
    ]


def _shown(value: float | None, fmt: Callable[[float], str]) -> str:
    return "—" if value is None else fmt(value)


class GroupDashboardView(StaffView):
    """Every compared store's figures for the chosen period, as a table and one chart each."""

    @expose("/")
    def index(self):
        """Show the stores' figures for the chosen period, with the group median."""
        key = request.args.get("period") or group_stats.PERIODS[0]
        error = None
        if key not in group_stats.PERIODS:
            error = _("Unknown period; showing this month.")
            key = group_stats.PERIODS[0]
        tz = current_app.config["DEFAULT_TIMEZONE"]
        period = group_stats.period(key, now().astimezone(ZoneInfo(tz)).date(), tz)
        stores = group_stats.figures(current_user, period.start, period.end)
        columns = []
        for m in measures():
            values = [(s.name, m.value(s)) for s in stores]
            middle = group_stats.median([v for _name, v in values])
            chart = charts.hbar(
                values,
                chart_id=f"chart-{m.key}",
                title=m.title,
                fmt=m.fmt,
                reference=(_("Group median"), middle),
            )
            columns.append(
                {
                    "measure": m,
                    "cells": [_shown(v, m.fmt) for _name, v in values],
                    "median": _shown(middle, m.fmt),
                    "chart": chart,
                }
            )
        return self.render(
            "admin/group/index.html",
            period=period,
            periods=[(k, PERIOD_LABELS[k]) for k in group_stats.PERIODS],
            error=error,
            stores=stores,
            columns=columns,
        )
