"""Back office: customer value (RFM). Each band's share of the store's customers and of its
revenue over 24 months, with a chart, and the band editor for the store's managers."""

from __future__ import annotations

from dataclasses import fields

from flask import abort, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from admin import charts
from admin.base import StaffView
from crm import customer_value, value_bands
from crm.value_bands import BandInput
from crm.value_models import WINDOW_DAYS
from portal import access
from portal.auth import current_account
from portal.errors import DomainError, NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Store
from portal.models.accounts import MANAGER
from portal.outcome import flash_outcome

CHART_WIDTH = 440  # the labels stay legible on a 360 px phone
FIELDS = tuple(f.name for f in fields(BandInput))
EDIT_ERRORS = (NotAllowed, ValidationError)  # a band of another store is a 404


def _percent(value: float) -> str:
    return f"{value:.0f} %"


def _band_input() -> BandInput:
    return BandInput(**{k: (request.form.get(k) or "")[:40] for k in FIELDS})


class CustomerValueView(StaffView):
    """Customer value bands: who brings the store's business, and the bands that sort them."""

    @expose("/")
    def index(self):
        """Show each band's share of customers and revenue, and the band editor."""
        me = current_account()
        try:
            store = customer_value.report_store(me, int_arg(request.args.get("store"), minimum=1))
        except NotFound:
            abort(404)
        found = customer_value.value_report(store)
        locale = str(get_locale())
        names = [(r.band.label(locale) if r.band else _("No band")) for r in found.rows]
        chart_customers = charts.hbar(
            [(n, r.customer_share) for n, r in zip(names, found.rows, strict=True)],
            chart_id="value-customers",
            title=_("Share of customers, per cent"),
            fmt=_percent,
            width=CHART_WIDTH,
        )
        chart_revenue = charts.hbar(
            [(n, r.revenue_share) for n, r in zip(names, found.rows, strict=True)],
            chart_id="value-revenue",
            title=_("Share of revenue, per cent"),
            fmt=_percent,
            width=CHART_WIDTH,
        )
        stores = db.session.scalars(
            access.store_scope(select(Store).order_by(Store.id), Store.id, me)
        ).all()
        return self.render(
            "admin/crm/customer_value.html",
            store=store,
            stores=stores,
            report=found,
            rows=list(zip(names, found.rows, strict=True)),
            chart_customers=chart_customers,
            chart_revenue=chart_revenue,
            bands=customer_value.bands(store.id),
            can_edit=me.role == MANAGER and me.store_id == store.id,
            window_days=WINDOW_DAYS,
            locale=locale,
        )

    @expose("/bands", methods=["POST"])
    def band_add(self):
        """Add a value band (the store's managers)."""
        with flash_outcome(_("Band added; customers re-banded."), catch=DomainError):
            value_bands.add_band(current_account(), _band_input())
        return redirect(url_for(".index"), code=303)

    @expose("/bands/<int:band_id>", methods=["POST"])
    def band_save(self, band_id: int):
        """Change or delete a value band (the store's managers)."""
        me = current_account()
        try:
            if request.form.get("verb") == "delete":
                with flash_outcome(_("Band removed; customers re-banded."), catch=EDIT_ERRORS):
                    value_bands.remove_band(me, band_id)
            else:
                with flash_outcome(_("Saved; customers re-banded."), catch=EDIT_ERRORS):
                    value_bands.update_band(me, band_id, _band_input())
        except NotFound:
            abort(404)
        return redirect(url_for(".index"), code=303)
