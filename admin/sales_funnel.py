"""The manager's sales funnel: conversion by source, advisor and model, speed to lead per
advisor and source, and the forecast of orders and deliveries beside the actuals."""

from __future__ import annotations

from flask import request
from flask_admin import expose
from flask_babel import gettext as _

from admin import charts, list_pages
from admin.base import StaffView
from admin.display import staff_zone
from crm import board, stats
from crm import funnel as svc
from crm.leads import SOURCE_LABELS
from portal.auth import current_account

PERIOD_KEYS = ("30d", "90d", "this_month")
CHART_WIDTH = 440  # narrower than the default: the labels stay legible on a 360 px phone


def _percent(value: float) -> str:
    return f"{value:.0f} %"


def _minutes(value: float) -> str:
    return f"{value:.1f}"


class SalesFunnelView(StaffView):
    """Where leads come from, how far they get, how fast they are answered, what is coming."""

    def _label(self, by: str, key: str) -> str:
        if by == svc.SOURCE:
            return str(SOURCE_LABELS.get(key, key))
        return key or (_("Unassigned") if by == svc.ADVISOR else _("Not given"))

    @expose("/")
    def index(self):
        """Show the funnel, speed and forecast of the chosen period (the last 30 days if none)."""
        me = current_account()
        zone = staff_zone()
        key = request.args.get("period") or PERIOD_KEYS[0]
        error = None
        if key not in PERIOD_KEYS:
            error = _("Unknown period; showing the last 30 days.")
            key = PERIOD_KEYS[0]
        span = board.period(key, zone)
        # Those who see every store see one store at a time (?store=, the first by default):
        # the group's leads of the period per source, advisor and model, and their times to
        # first contact, took 2-3.5 s at 1M; the group comparison dashboard compares stores.
        stores = list_pages.store_choices()
        store_id = list_pages.chosen_store(stores) or (stores[0][0] if stores else None)
        tables = []
        titles = {
            svc.SOURCE: _("By source"),
            svc.ADVISOR: _("By advisor"),
            svc.MODEL: _("By model of interest"),
        }
        for by in svc.DIMENSIONS:
            rows = svc.funnel_by(me, span, by, store_id)
            labelled = [(self._label(by, r.key), r) for r in rows]
            chart = charts.hbar(
                [(label, r.conversion) for label, r in labelled],
                chart_id=f"conversion-{by}",
                title=_("Leads that ordered, per cent"),
                fmt=_percent,
                width=CHART_WIDTH,
            )
            tables.append({"by": by, "title": titles[by], "rows": labelled, "chart": chart})
        speed = stats.speed_report(me, span.start_utc, span.end_utc, store_id)
        target = (_("Target"), float(speed.target_min))
        speed_charts = {
            "advisor": charts.hbar(
                [(r.advisor or _("Unassigned"), r.median_min) for r in speed.by_advisor],
                chart_id="speed-advisor",
                title=_("Median minutes to first contact per advisor"),
                fmt=_minutes,
                width=CHART_WIDTH,
                reference=target,
            ),
            "source": charts.hbar(
                [(self._label(svc.SOURCE, r.advisor), r.median_min) for r in speed.by_source],
                chart_id="speed-source",
                title=_("Median minutes to first contact per source"),
                fmt=_minutes,
                width=CHART_WIDTH,
                reference=target,
            ),
        }
        outlook = svc.forecast(me, board.period("this_month", zone), store_id)
        return self.render(
            "admin/crm/funnel.html",
            error=error,
            span=span,
            periods=[(k, board.PERIODS[k]) for k in PERIOD_KEYS],
            stages=board.FUNNEL,
            stage_labels=board.FUNNEL_LABELS,
            tables=tables,
            speed=speed,
            speed_charts=speed_charts,
            source_label=lambda k: self._label(svc.SOURCE, k),
            forecast=outlook,
            stage_weights=svc.STAGE_WEIGHTS,
            grade_factors=svc.GRADE_FACTORS,
            pick_stores=stores,
            store_id=store_id,
        )
