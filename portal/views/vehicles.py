"""My vehicles: add, edit and mileage, inline with htmx and as plain forms without it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth import is_htmx, owner_required
from portal.errors import ValidationError
from portal.extensions import db
from portal.forms import MileageForm, VehicleEditForm, VehicleForm, field_error
from portal.services import dashboard
from portal.services import vehicles as svc

bp = Blueprint("vehicles", __name__, url_prefix="/vehicles")


def _row(vehicle, mileage_form=None, status=200):
    cards = dashboard.card_context(current_user, [vehicle])
    return render_template(
        "vehicles/_vehicle.html",
        v=vehicle,
        now=cards["board"][vehicle.id],
        mileage_form=mileage_form or MileageForm(formdata=None),
        **cards,
    ), status


@bp.route("/new", methods=["GET", "POST"])
@owner_required
def vehicle_new():
    """Register a vehicle."""
    form = VehicleForm()
    if form.validate_on_submit():
        try:
            vehicle = svc.add_vehicle(
                current_user,
                vin=form.vin.data,
                plate=form.plate.data,
                brand=form.brand.data,
                series=form.series.data,
                model_year=form.model_year.data,
                purchase_date=form.purchase_date.data,
                km=form.km.data,
            )
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "vin")
        else:
            db.session.commit()
            if is_htmx():
                return render_template(
                    "vehicles/_vehicle_added.html",
                    v=vehicle,
                    mileage_form=MileageForm(formdata=None),
                )
            flash(_("%(plate)s is added.", plate=vehicle.plate), "success")
            return redirect(url_for("home.index"), code=303)
    status = 422 if form.is_submitted() else 200
    template = "vehicles/_vehicle_new.html" if is_htmx() else "vehicles/new.html"
    return render_template(template, form=form), status


@bp.route("/<int:vehicle_id>")
@owner_required
def vehicle_show(vehicle_id: int):
    """Show one vehicle row (htmx) or go back to the home page."""
    vehicle = svc.owned_vehicle(current_user, vehicle_id)
    if is_htmx():
        return _row(vehicle)
    return render_template("vehicles/show.html", v=vehicle, mileage_form=MileageForm(formdata=None))


@bp.route("/<int:vehicle_id>/edit", methods=["GET", "POST"])
@owner_required
def vehicle_edit(vehicle_id: int):
    """Edit a vehicle's plate and description."""
    vehicle = svc.owned_vehicle(current_user, vehicle_id)
    form = VehicleEditForm(obj=vehicle)
    if form.validate_on_submit():
        try:
            svc.update_vehicle(
                vehicle,
                plate=form.plate.data,
                brand=form.brand.data,
                series=form.series.data,
                model_year=form.model_year.data,
                purchase_date=form.purchase_date.data,
            )
        except ValidationError as exc:
            db.session.rollback()
            vehicle = svc.owned_vehicle(current_user, vehicle_id)
            field_error(form, exc, "plate")
        else:
            db.session.commit()
            if is_htmx():
                return _row(vehicle)
            flash(_("%(plate)s is saved.", plate=vehicle.plate), "success")
            return redirect(url_for("home.index"), code=303)
    status = 422 if form.is_submitted() else 200
    template = "vehicles/_vehicle_form.html" if is_htmx() else "vehicles/edit.html"
    return render_template(template, form=form, v=vehicle), status


@bp.route("/<int:vehicle_id>/mileage", methods=["POST"])
@owner_required
def mileage_add(vehicle_id: int):
    """Record a new mileage reading; a lower one than the last is refused."""
    vehicle = svc.owned_vehicle(current_user, vehicle_id)
    form = MileageForm()
    if form.validate_on_submit():
        try:
            svc.record_mileage(vehicle, form.km.data)
        except ValidationError as exc:
            db.session.rollback()
            vehicle = svc.owned_vehicle(current_user, vehicle_id)
            form.km.errors = [exc.message]
        else:
            db.session.commit()
            if is_htmx():
                return _row(vehicle)
            flash(_("Mileage saved: %(km)s km.", km=f"{vehicle.current_km:,}"), "success")
            return redirect(url_for("home.index"), code=303)
    if is_htmx():
        return _row(vehicle, mileage_form=form, status=422)
    return render_template("vehicles/show.html", v=vehicle, mileage_form=form), 422
