"""The group's comparison of stores: headquarters (every store), regional managers (their
region's stores), a brand's manufacturer officer (the stores selling it) and admins see each
store's figures side by side with the group median."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin import charts, daily_stats, group_stats
from admin.base import StaffView
from portal import access
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
    """One compared figure: its key, heading, how to read it off a store, how to print it and
    how many people or records it is computed from (its base)."""

    key: str
    title: str
    value: Callable[[group_stats.StoreFigures], float | None]
    fmt: Callable[[float], str]
    base: Callable[[group_stats.StoreFigures], int]


@dataclass(frozen=True)
class Cell:
    """One store's figure as shown: its text, and whether it is held back as too few."""

    text: str
    too_few: bool = False


def measures(one_brand: bool = False) -> list[Measure]:
    """Return the dashboard's figures, in the order they are shown (a brand's officer sees
    their brand's new-car sales in place of the shop's)."""
    sales = _("New-car sales") if one_brand else _("Shop sales")
    return [
        Measure("bookings", _("Online bookings"), lambda r: r.bookings, _count,
                lambda r: r.bookings),
        Measure("show_rate", _("Show rate"), lambda r: r.show_rate, _percent,
                lambda r: r.came + r.no_show),
        Measure("first_contact", _("Time to first contact (median)"),
                lambda r: r.contact_minutes, _minutes, lambda r: r.contacted),
        Measure("conversion", _("Lead conversion"), lambda r: r.conversion, _percent,
                lambda r: r.leads),
        Measure("csi", _("CSI (0-100)"), lambda r: r.csi, _score, lambda r: r.csi_answers),
        Measure("nps", _("NPS"), lambda r: r.nps, _score, lambda r: r.nps_answers),
        Measure("complaints", _("Complaints"), lambda r: r.complaints, _count,
                lambda r: r.complaints),
        Measure("sales", sales, lambda r: r.sales_fen, _yuan, lambda r: r.orders),
        Measure("vetting", _("Used cars vetted"), lambda r: r.vetted, _count,
                lambda r: r.vetted),
    ]  # fmt: skip


def too_few(base: int, minimum: int) -> bool:
    """Return whether a figure from this many people or records is held back: a figure of a
    few could be one person's (nobody's, a count of zero, tells nothing of anyone)."""
    return 0 < base < minimum


def _shown(value: float | None, fmt: Callable[[float], str]) -> str:
    return "—" if value is None else fmt(value)


# A chart of more stores than this shows the highest and the lowest CHART_ENDS of them (a
# hundred bars read as a wall, and draw slowly); the table below it lists every store.
CHART_ENDS = 10


def chart_rows(values: list[tuple[str, float | None]]) -> tuple[list, int]:
    """Return the rows a chart draws (all of them, or the highest and lowest CHART_ENDS by
    value, highest first) and how many stores have a figure."""
    known = [(name, v) for name, v in values if v is not None]
    if len(known) <= 2 * CHART_ENDS:
        return values, len(known)
    ranked = sorted(known, key=lambda row: row[1], reverse=True)
    return ranked[:CHART_ENDS] + ranked[-CHART_ENDS:], len(known)


def _column(m: Measure, stores: list[group_stats.StoreFigures], minimum: int) -> dict:
    """Return one measure's cells, median and chart; a held-back figure is in none of them."""
    held = [too_few(m.base(s), minimum) for s in stores]
    values = [(s.name, None if hide else m.value(s)) for s, hide in zip(stores, held, strict=True)]
    middle = group_stats.median([v for _name, v in values])
    rows, known = chart_rows(values)
    title, note = m.title, ""
    if len(rows) < len(values):
        title = note = _(
            "%(title)s: the highest and lowest %(n)s of %(total)s stores",
            title=m.title,
            n=CHART_ENDS,
            total=known,
        )
    chart = charts.hbar(
        rows,
        chart_id=f"chart-{m.key}",
        title=title,
        fmt=m.fmt,
        reference=(_("Group median"), middle),
    )
    cells = [
        Cell("—", too_few=True) if hide else Cell(_shown(v, m.fmt))
        for (_name, v), hide in zip(values, held, strict=True)
    ]
    median = _shown(middle, m.fmt)
    return {"measure": m, "cells": cells, "median": median, "chart": chart, "note": note}


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
        stores = daily_stats.period_figures(current_user, key, now())
        brand = access.compared_brand(current_user)
        minimum = current_app.config["GROUP_MIN_CELL"]
        columns = [_column(m, stores, minimum) for m in measures(brand is not None)]
        return self.render(
            "admin/group/index.html",
            period=period,
            periods=[(k, PERIOD_LABELS[k]) for k in group_stats.PERIODS],
            error=error,
            brand=brand,
            stores=stores,
            columns=columns,
            minimum=minimum,
            held_back=any(c.too_few for col in columns for c in col["cells"]),
            contact_as_of=min((s.contact_as_of for s in stores if s.contact_as_of), default=None),
            tz=tz,
        )
