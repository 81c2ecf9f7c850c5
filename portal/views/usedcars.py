"""Used cars: the owner's sell requests, and the public list of listed cars with inquiries."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal import access
from portal.auth import is_htmx, owner_required
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.forms import InquiryForm, MarketFilterForm, UsedCarEditForm, UsedCarForm, field_error
from portal.inputs import int_arg
from portal.models import Vehicle
from portal.models.usedcars import MAX_PHOTOS
from portal.outcome import flash_outcome
from portal.services import usedcars as svc
from portal.uploads import request_photos

bp = Blueprint("usedcars", __name__)


def page_labels() -> dict:
    """The labels the used-car pages render (statuses, events, flags, check items)."""
    return {
        "status_labels": svc.STATUS_LABELS,
        "event_text": svc.EVENT_TEXT,
        "flag_labels": svc.FLAG_LABELS,
        "check_items": svc.CHECK_ITEMS,
    }


# ---------------------------------------------------------------- owner


@bp.route("/used-cars/")
@owner_required
def request_list():
    """List my sell requests."""
    return render_template(
        "usedcars/list.html", requests=svc.my_requests(current_user), **page_labels()
    )


@bp.route("/used-cars/new", methods=["GET", "POST"])
@owner_required
def request_new():
    """Submit a used car for vetting: one of my vehicles or another car, with photos."""
    form = UsedCarForm()
    vehicles = db.session.scalars(
        access.owner_scope(select(Vehicle), Vehicle.owner_id, current_user).order_by(Vehicle.id)
    ).all()
    form.vehicle.choices = [SelectChoice(0, _("Another car (enter its details)"))] + [
        SelectChoice(v.id, f"{v.plate} {v.label}") for v in vehicles
    ]
    if form.validate_on_submit():
        vehicle_id = form.vehicle.data
        try:
            photos = request_photos(limit=MAX_PHOTOS)  # ends the read transaction
            vehicle = next((v for v in vehicles if v.id == vehicle_id), None)
            req = svc.submit_request(
                current_user,
                vehicle=vehicle,
                vin=form.vin.data or "",
                brand=form.brand.data or "",
                series=form.series.data or "",
                model_year=form.model_year.data,
                **_condition(form, photos),
            )
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "vin")
        else:
            db.session.commit()
            flash(_("Your car is submitted. We will tell you each step here."), "success")
            return redirect(url_for("usedcars.request_show", car_id=req.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("usedcars/new.html", form=form), status


def _condition(form, photos) -> dict:
    """The car's state as both the sell form and the edit form give it to the service."""
    return {
        "mileage_km": form.mileage_km.data,
        "first_registered_on": form.first_registered_on.data,
        "asking_price_fen": form.asking_price.fen,
        "condition": form.condition.data,
        "accident_history": form.accident_history.data,
        "photos": photos,
    }


@bp.route("/used-cars/<int:car_id>")
@owner_required
def request_show(car_id: int):
    """Follow one sell request: status, messages, photos and the expert's report."""
    req = svc.owned_request(current_user, car_id)
    template = "usedcars/_status.html" if is_htmx() else "usedcars/show.html"
    return render_template(template, req=req, **page_labels())


@bp.route("/used-cars/<int:car_id>/edit", methods=["GET", "POST"])
@owner_required
def request_edit(car_id: int):
    """Change a request the expert sent back, and resubmit it."""
    req = svc.owned_request(current_user, car_id)
    form = UsedCarEditForm(obj=req)
    if request.method == "GET":
        form.asking_price.data = f"{req.asking_price_fen / 100:.2f}"
    if form.validate_on_submit():
        remove = [
            n for n in (int_arg(i, minimum=1) for i in request.form.getlist("remove_photo")) if n
        ]
        try:
            photos = request_photos(limit=MAX_PHOTOS)  # ends the read transaction
            svc.edit_and_resubmit(
                current_user,
                req,
                **_condition(form, photos),
                remove_photo_ids=remove,
            )
        except DomainError as exc:
            db.session.rollback()
            if not isinstance(exc, ValidationError):
                flash(exc.message, "error")
                return redirect(url_for("usedcars.request_show", car_id=car_id), 303)
            req = svc.owned_request(current_user, car_id)
            field_error(form, exc, "mileage_km")
        else:
            db.session.commit()
            flash(_("Your changes are sent to the expert."), "success")
            return redirect(url_for("usedcars.request_show", car_id=req.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("usedcars/edit.html", form=form, req=req, **page_labels()), status


@bp.route("/used-cars/<int:car_id>/withdraw", methods=["POST"])
@owner_required
def request_withdraw(car_id: int):
    """Withdraw my request (or take my listed car down)."""
    req = svc.owned_request(current_user, car_id)
    with flash_outcome(_("Your request is withdrawn.")):
        svc.withdraw(current_user, req, request.form.get("reason", ""))
    return redirect(url_for("usedcars.request_show", car_id=car_id), code=303)


# ---------------------------------------------------------------- public list


@bp.route("/market/")
def market_list():
    """Show the listed used cars, with filters; no login needed."""
    form = MarketFilterForm(request.args)
    form.brand.choices = [SelectChoice("", _("All brands"))] + [
        SelectChoice(b, b) for b in svc.listed_brands()
    ]
    form.validate()
    ok = {field.short_name: (None if field.errors else field.data) for field in form}
    page = int_arg(request.args.get("page"), minimum=1, maximum=10_000) or 1
    cars, total = svc.search_listed(
        brand=ok["brand"] or None,
        price_min_fen=ok["price_min"] * 100 if ok["price_min"] is not None else None,
        price_max_fen=ok["price_max"] * 100 if ok["price_max"] is not None else None,
        year_min=ok["year_min"],
        year_max=ok["year_max"],
        km_max=ok["km_max"],
        page=page,
    )
    ctx = {"form": form, "cars": cars, "total": total, "page": page, "page_size": svc.PAGE_SIZE}
    template = "usedcars/_market_results.html" if is_htmx() else "usedcars/market.html"
    return render_template(template, **ctx)


@bp.route("/market/<int:car_id>")
def market_show(car_id: int):
    """Show a listed car with its photos and the vetted report."""
    req = svc.listed_request(car_id)
    return render_template(
        "usedcars/market_show.html", req=req, form=InquiryForm(formdata=None), **page_labels()
    )
