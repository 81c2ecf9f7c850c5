"""Repair analytics for managers (their own store) and administrators (any or all stores)."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import DateField, Form, SelectField
from wtforms.validators import Optional

from admin import analytics_snapshots as snapshots
from admin import charts
from admin.base import StaffView
from portal import access
from portal.extensions import db
from portal.models import Store
from portal.services import booking_stats as stats
from portal.services import bookings as booking_svc
from portal.timeutil import now

DEFAULT_DAYS = snapshots.DEFAULT_DAYS
MAX_DAYS = 731  # two years: keeps every query's range bounded
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


class AnalyticsFilter(Form):
    """The period and store filter; a GET form, so it changes nothing and needs no CSRF."""

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    store = SelectField(_l("Store"), choices=[], validate_choice=False)


def _hours(value: float) -> str:
    return _("%(h).1f h", h=value)


def _days(value: float) -> str:
    return _("%(d).1f days", d=value)


def _percent(value: float) -> str:
    return f"{value:.0f}%"


def _sampled(row: dict) -> str:
    """Label a bar with its sample size: the rate of three jobs says little."""
    return _("%(name)s (n=%(n)d)", name=row["label"], n=row["jobs"])


class AnalyticsView(StaffView):
    """Charts of the store's repairs: faults, models, parts, customers, repeats and the funnel."""

    def _filters(self) -> tuple[AnalyticsFilter, int | None, str, date, date]:
        """Read the filter; a manager always gets their own store, whatever the query says."""
        form = AnalyticsFilter(request.args)
        stores = list(db.session.scalars(select(Store).order_by(Store.id)))
        if access.sees_all_stores(current_user):
            form.store.choices = [("", _("All stores"))] + [(str(s.id), s.name) for s in stores]
            chosen = next((s for s in stores if str(s.id) == form.store.data), None)
            if form.store.data and chosen is None:
                form.store.errors = [_("Unknown store; showing all stores.")]
        else:
            chosen = next((s for s in stores if s.id == current_user.store_id), None)
            form.store.choices = [(str(chosen.id), chosen.name)] if chosen else []
        form.store.data = str(chosen.id) if chosen else ""
        tz = chosen.timezone if chosen else current_app.config["DEFAULT_TIMEZONE"]
        today = now().astimezone(ZoneInfo(tz)).date()
        form.validate()
        for field in (form.start, form.end):  # date.max + 1 day would overflow: refuse it
            if field.data and not EARLIEST <= field.data <= LATEST:
                field.errors = [_("Pick a date between %(a)s and %(b)s.", a=EARLIEST, b=LATEST)]
                field.data = None
        last = form.end.data or today
        if not date.min + timedelta(days=MAX_DAYS) < last < date.max:  # the bounds add a day
            form.end.errors = [_("Pick a date in the calendar.")]
            last = today
        first = form.start.data or last - timedelta(days=DEFAULT_DAYS - 1)
        if first > last:
            form.start.errors = [_("The period must start before it ends.")]
            first = last - timedelta(days=DEFAULT_DAYS - 1)
        if (last - first).days >= MAX_DAYS:
            form.start.errors = [_("Pick at most two years.")]
            first = last - timedelta(days=MAX_DAYS - 1)
        form.start.data, form.end.data = first, last
        return form, (chosen.id if chosen else None), tz, first, last

    @expose("/")
    def index(self):
        """Show the analytics of the chosen period and store: the worker's snapshot when one
        matches the filter, else counted now."""
        defaults = not (request.args.get("start") or request.args.get("end"))
        form, store_id, tz, first, last = self._filters()
        days = current_app.config["REPEAT_REPAIR_DAYS"]
        snap = snapshots.saved(store_id, tz, first, last, days)
        if snap is None and defaults:  # just after midnight: the period that ended yesterday
            one = timedelta(days=1)
            snap = snapshots.saved(store_id, tz, first - one, last - one, days)
        if snap is not None:
            data, as_of = dict(snap.figures), snap.computed_at
            form.start.data, form.end.data = snap.first_day, snap.last_day
        else:
            data, as_of = snapshots.compute(store_id, tz, first, last, days), None
        data["repeats"] = data["repeats"] | {"rows": stats.repeat_rows(data["repeats"]["pairs"])}
        return self.render(
            "admin/analytics/index.html",
            form=form,
            data=data,
            as_of=as_of,
            charts=_charts(data),
            repeat_days=days,
            reason_label=booking_svc.reason_label,
        )


def _charts(data: dict) -> dict:
    """Draw every chart of the page from the numbers."""
    from portal.views.bookings import fault_category_label as fault

    f = data["funnel"]
    return {
        "funnel": charts.funnel(
            [(_("Submitted"), f["submitted"]), (_("Accepted"), f["accepted"])]
            + [(_("Completed"), f["completed"])],
            chart_id="chart-funnel",
            title=_("Booking funnel"),
        ),
        "reasons": charts.hbar(
            [(booking_svc.reason_label(r), n) for r, n in f["reasons"]],
            chart_id="chart-reasons",
            title=_("Rejection reasons"),
        ),
        "months": charts.columns(
            [(m[2:], n) for m, n in data["months"]],
            chart_id="chart-months",
            title=_("Online bookings per month"),
        ),
        "faults": charts.hbar(
            [(fault(x["category"]), x["repairs"]) for x in data["faults"]],
            chart_id="chart-faults",
            title=_("Repairs by fault"),
        ),
        "models": charts.hbar(
            [(f"{x['brand']} {x['series']}", x["repairs"]) for x in data["models"]],
            chart_id="chart-models",
            title=_("Repairs by model"),
        ),
        "parts": charts.hbar(
            [(x["description"], x["quantity"]) for x in data["parts"]],
            chart_id="chart-parts",
            title=_("Parts fitted (quantity)"),
        ),
        "customers": charts.hbar(
            [(x["name"], x["bookings"]) for x in data["customers"]],
            chart_id="chart-customers",
            title=_("Customers with the most online bookings"),
        ),
        "advisors": charts.hbar(
            [(x["name"], x["median_hours"]) for x in data["advisors"]],
            chart_id="chart-advisors",
            title=_("Median time to decision per advisor"),
            fmt=_hours,
        ),
        "repeats": charts.hbar(
            [(fault(c), n) for c, n in data["repeats"]["by_category"]],
            chart_id="chart-repeats",
            title=_("Repeat repairs by fault"),
        ),
        "by_technician": charts.hbar(
            [(_sampled(x), 100 * x["rate"]) for x in data["by_technician"]],
            chart_id="chart-repeat-technicians",
            title=_("Repeat rate per technician"),
            fmt=_percent,
        ),
        "by_part": charts.hbar(
            [(_sampled(x), 100 * x["rate"]) for x in data["by_part"]],
            chart_id="chart-repeat-parts",
            title=_("Repeat rate per part"),
            fmt=_percent,
        ),
        "lead_fmt": _days,
        "hours_fmt": _hours,
    }
