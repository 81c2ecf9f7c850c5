"""The owner portal's new-car pages: interest and test-drive request, trade-in valuation, and
the thank-you page."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from crm import campaign_models, models, trade_in  # noqa: F401  (register the tables)
from crm.customers import clean_contact
from crm.forms import InterestForm, TradeInForm
from crm.leads import Inquiry, capture
from crm.models import PORTAL
from portal.errors import DomainError
from portal.extensions import db, limiter
from portal.forms import field_error
from portal.inputs import int_arg
from portal.models import Store, Vehicle

bp = Blueprint("crm", __name__, url_prefix="/new-car")
_STORES = select(Store).where(Store.is_active.is_(True)).order_by(Store.id)


def _inquiry_limit() -> str:
    return current_app.config.get("CRM_INQUIRY_LIMIT_IP", "10 per hour")


def _not_staff() -> None:
    if current_user.is_authenticated and current_user.is_staff:
        abort(403)  # staff enter leads in the back office, where they are attributed


@bp.route("/", methods=["GET", "POST"])
@limiter.limit(_inquiry_limit, methods=["POST"])
def interest():
    """Ask about a new car or a test drive; an advisor is assigned at once."""
    _not_staff()
    stores = list(db.session.scalars(_STORES))
    form = InterestForm()
    form.store.choices = [SelectChoice(str(s.id), s.name) for s in stores]
    if request.method == "GET":
        _prefill(form, stores)
        return render_template("crm/interest.html", form=form)
    if form.validate_on_submit():
        try:
            inquiry = _inquiry(form, stores)
            capture(inquiry)
        except DomainError as exc:
            db.session.rollback()
            field_error(form, exc, "phone")
        else:
            db.session.commit()
            return redirect(url_for("crm.interest_sent"), code=303)
    return render_template("crm/interest.html", form=form), 422


def _prefill(form: InterestForm, stores: list[Store]) -> None:
    for name in ("utm_source", "utm_medium", "utm_campaign"):
        getattr(form, name).data = (request.args.get(name) or "")[:60]
    if request.args.get("test_drive") == "1":
        form.test_drive.data = True
    form.model_interest.data = (request.args.get("model") or "")[:80]
    _prefill_contact(form)


def _prefill_contact(form: InterestForm | TradeInForm) -> None:
    if current_user.is_authenticated:
        form.name.data, form.phone.data = current_user.name, current_user.phone or ""
        if current_user.store_id:
            form.store.data = str(current_user.store_id)


def _inquiry(form: InterestForm, stores: list[Store]) -> Inquiry:
    return replace(
        _base_inquiry(form, stores),
        budget_fen=form.budget.fen,
        timeframe=form.timeframe.data or "later",
        wants_test_drive=bool(form.test_drive.data),
        utm_source=form.utm_source.data or "",
        utm_medium=form.utm_medium.data or "",
        utm_campaign=form.utm_campaign.data or "",
    )


@bp.route("/trade-in", methods=["GET", "POST"])
@limiter.limit(_inquiry_limit, methods=["POST"])
def trade_in_valuation():
    """Ask the store to value the car you would trade in; an advisor is assigned at once."""
    _not_staff()
    stores = list(db.session.scalars(_STORES))
    form = TradeInForm()
    form.store.choices = [SelectChoice(str(s.id), s.name) for s in stores]
    cars = _my_cars()
    form.vehicle.choices = [
        SelectChoice(str(v.id), f"{v.plate} · {v.brand} {v.series}") for v in cars
    ] + [SelectChoice("", _("Another car"))]
    if request.method == "GET":
        _prefill_contact(form)
        if cars:
            form.vehicle.data = str(cars[0].id)
        return render_template("crm/trade_in.html", form=form, has_cars=bool(cars))
    if form.validate_on_submit():
        try:
            inquiry = _base_inquiry(form, stores)
            car = _trade_in_car(form, cars)
            trade_in.ask_valuation(inquiry, car)
        except DomainError as exc:
            db.session.rollback()
            field_error(form, exc, "phone")
        else:
            db.session.commit()
            return redirect(url_for("crm.interest_sent"), code=303)
    return render_template("crm/trade_in.html", form=form, has_cars=bool(cars)), 422


def _my_cars() -> list[Vehicle]:
    if not current_user.is_authenticated:
        return []
    return list(
        db.session.scalars(
            select(Vehicle).where(Vehicle.owner_id == current_user.id).order_by(Vehicle.id)
        )
    )


def _trade_in_car(form: TradeInForm, cars: list[Vehicle]) -> trade_in.TradeInCar:
    """The owner's own car when they picked one (only their own), or the car they described."""
    picked = int_arg(form.vehicle.data)
    if picked is not None:
        mine = next((v for v in cars if v.id == picked), None)
        if mine is None:
            raise DomainError(_("Choose one of your cars."), field="vehicle")
        return trade_in.of_vehicle(mine)
    return trade_in.TradeInCar(
        brand=form.brand.data or "",
        series=form.series.data or "",
        model_year=form.model_year.data,
        mileage_km=form.mileage_km.data,
    )


def _base_inquiry(form: InterestForm | TradeInForm, stores: list[Store]) -> Inquiry:
    store_id = int_arg(form.store.data)
    store = next((s for s in stores if s.id == store_id), None)
    if store is None:
        raise DomainError(_("Choose a store."), field="store")
    phone, _email, _vin = clean_contact(form.phone.data or "")
    return Inquiry(
        name=form.name.data or "",
        phone=phone,
        store=store,
        source=PORTAL,
        model_interest=form.model_interest.data or "",
        note=form.note.data or "",
        language="en" if get_locale().language == "en" else "zh_CN",  # the page's language
    )


@bp.route("/sent")
def interest_sent():
    """Thank the customer and say what happens next."""
    return render_template("crm/interest_sent.html")
