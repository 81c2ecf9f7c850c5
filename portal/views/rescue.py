"""The owner's roadside rescue: the SOS form and the live status page."""

from __future__ import annotations

import secrets

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import access
from portal.auth import current_account, owner_required
from portal.errors import Conflict, DomainError, ValidationError
from portal.extensions import db
from portal.forms import field_error
from portal.forms.rescue import RescueCancelForm, RescueForm
from portal.inputs import int_arg
from portal.models import Rescue
from portal.models.rescue import OPEN
from portal.outcome import flash_outcome
from portal.services import rescue as svc

bp = Blueprint("rescue", __name__)


def _prepare(form: RescueForm, owner) -> None:
    form.vehicle.choices = [(v.id, f"{v.plate} · {v.label}") for v in owner.vehicles]
    form.problem.choices = [(k, str(v)) for k, v in svc.PROBLEM_LABELS.items()]


def _open_rescue(owner) -> Rescue | None:
    return db.session.scalar(
        access.owner_scope(select(Rescue), Rescue.owner_id, owner)
        .where(Rescue.status.in_(OPEN))
        .order_by(Rescue.id.desc())
        .limit(1)
    )


@bp.route("/rescue/")
@owner_required
def rescue_list():
    """List my rescue requests, newest first."""
    rescues = db.session.scalars(
        access.owner_scope(select(Rescue), Rescue.owner_id, current_user).order_by(Rescue.id.desc())
    ).all()
    return render_template("rescue/list.html", rescues=rescues, svc=svc)


@bp.route("/rescue/new", methods=["GET", "POST"])
@owner_required
def rescue_new():
    """Send an SOS: the car, where it is, what happened and a phone to call back."""
    owner = current_account()
    if not owner.vehicles:
        flash(_("Add your car first, then we can send help to it."), "info")
        return redirect(url_for("vehicles.vehicle_new"), code=303)
    form = RescueForm()
    _prepare(form, owner)
    if request.method == "GET":
        form.token.data = secrets.token_urlsafe(24)
        form.callback_phone.data = owner.phone or ""
        wanted = int_arg(request.args.get("vehicle"))
        form.vehicle.data = wanted if wanted in dict(form.vehicle.choices) else owner.vehicles[0].id
    elif form.validate_on_submit():
        vehicle = next((v for v in owner.vehicles if v.id == form.vehicle.data), None)
        try:
            if vehicle is None:
                raise ValidationError(_("Choose one of your cars."), field="vehicle")
            rescue, created = svc.request_rescue(
                owner,
                vehicle,
                problem=form.problem.data,
                callback_phone=form.callback_phone.data,
                idempotency_key=form.token.data,
                note=form.note.data or "",
                latitude=form.latitude.data,
                longitude=form.longitude.data,
                accuracy_m=form.accuracy.data,
                address=form.address.data or "",
            )
        except DomainError as exc:
            db.session.rollback()
            field_error(form, exc, "address")
        else:
            # Committed before the owner is told "received": nothing lives only in memory.
            db.session.commit()
            if created:
                flash(_("Your rescue request is received. Stay safe; we call you back."), "success")
            return redirect(url_for("rescue.rescue_show", rescue_id=rescue.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "rescue/new.html", form=form, open_rescue=_open_rescue(owner), store=owner.store, svc=svc
    ), status


@bp.route("/rescue/<int:rescue_id>")
@owner_required
def rescue_show(rescue_id: int):
    """Show a rescue with its live status and timeline."""
    rescue = svc.owned_rescue(current_user, rescue_id)
    return render_template(
        "rescue/show.html", r=rescue, svc=svc, cancel_form=RescueCancelForm(formdata=None)
    )


@bp.route("/rescue/<int:rescue_id>/status")
@owner_required
def rescue_status(rescue_id: int):
    """Return the live status block (polled by htmx until the rescue ends)."""
    rescue = svc.owned_rescue(current_user, rescue_id)
    return render_template(
        "rescue/_status.html", r=rescue, svc=svc, cancel_form=RescueCancelForm(formdata=None)
    )


@bp.route("/rescue/<int:rescue_id>/cancel", methods=["POST"])
@owner_required
def rescue_cancel(rescue_id: int):
    """Cancel a rescue before help is dispatched."""
    owner = current_account()
    rescue = svc.owned_rescue(owner, rescue_id)
    form = RescueCancelForm()
    reason = (form.reason.data or "")[:200] if form.validate_on_submit() else ""
    with flash_outcome(_("The rescue request is cancelled."), catch=(ValidationError, Conflict)):
        svc.cancel(owner, rescue, reason)
    return redirect(url_for("rescue.rescue_show", rescue_id=rescue_id), code=303)
