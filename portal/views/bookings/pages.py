"""The booking's own pages and actions: list, show, cancel, answer, rate, service history."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from portal import access
from portal.auth import current_account, owner_required
from portal.errors import Conflict, DomainError, ValidationError
from portal.extensions import db
from portal.forms import field_error
from portal.forms.bookings import SERVICE_TYPE_LABELS, CancelForm, RatingForm
from portal.models import Booking, ServiceRecord
from portal.paging import keyset_page
from portal.services import bookings as svc
from portal.services import vehicles as vehicle_svc
from portal.services.bookings import job_card
from portal.views.bookings import bp


@bp.route("/bookings/")
@owner_required
def booking_list():
    """List my bookings, newest first, a page at a time."""
    page = keyset_page(
        access.owner_scope(select(Booking), Booking.owner_id, current_user),
        Booking.slot_start,
        Booking.id,
    )
    return render_template("bookings/list.html", bookings=page.items, page=page)


@bp.route("/bookings/<int:booking_id>")
@owner_required
def booking_show(booking_id: int):
    """Show a booking with its timeline and what the owner can do next."""
    booking = svc.owned_booking(current_user, booking_id)
    return render_template(
        "bookings/show.html", b=booking, svc=svc, cancel_form=CancelForm(formdata=None)
    )


@bp.route("/bookings/<int:booking_id>/invoice")
@owner_required
def booking_invoice(booking_id: int):
    """Show the job's itemised invoice: labour and parts lines, totals, in fen."""
    booking = svc.owned_booking(current_user, booking_id)
    return render_template("bookings/invoice.html", b=booking, inv=job_card.invoice(booking))


@bp.route("/bookings/<int:booking_id>/status")
@owner_required
def booking_status(booking_id: int):
    """Return the live status block (polled by htmx until the booking ends)."""
    booking = svc.owned_booking(current_user, booking_id)
    return render_template("bookings/_status.html", b=booking, svc=svc)


def _act(booking_id: int, action, done: str):
    owner = current_account()
    booking = svc.owned_booking(owner, booking_id)
    try:
        action(owner, booking)
    except (ValidationError, Conflict) as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("bookings.booking_show", booking_id=booking_id), code=303)


@bp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@owner_required
def booking_cancel(booking_id: int):
    """Cancel a booking (up to the cut-off once accepted)."""
    reason = (request.form.get("reason") or "")[:200]
    return _act(
        booking_id, lambda o, b: svc.cancel_booking(o, b, reason), _("The booking is cancelled.")
    )


@bp.route("/bookings/<int:booking_id>/proposal", methods=["POST"])
@owner_required
def proposal_answer(booking_id: int):
    """Accept or decline the time the store proposed."""
    answer = request.form.get("answer")
    if answer not in ("accept", "decline"):
        abort(400)
    return _act(
        booking_id,
        lambda o, b: svc.answer_proposal(o, b, answer == "accept"),
        _("Thank you, your answer is sent."),
    )


@bp.route("/bookings/<int:booking_id>/rate", methods=["GET", "POST"])
@owner_required
def booking_rate(booking_id: int):
    """Rate the service and the advisor of a completed booking, once."""
    owner = current_account()
    booking = svc.owned_booking(owner, booking_id)
    if booking.status != "completed" or booking.rating is not None:
        return redirect(url_for("bookings.booking_show", booking_id=booking_id))
    form = RatingForm()
    if form.validate_on_submit():
        try:
            svc.rate(
                owner, booking, form.service_stars.data, form.advisor_stars.data, form.comment.data
            )
        except DomainError as exc:
            db.session.rollback()
            field_error(form, exc, "service_stars")
        else:
            db.session.commit()
            flash(_("Thank you for your rating."), "success")
            return redirect(url_for("bookings.booking_show", booking_id=booking_id), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("bookings/rate.html", form=form, b=booking), status


@bp.route("/vehicles/<int:vehicle_id>/history")
@owner_required
def service_history(vehicle_id: int):
    """Show the vehicle's service records."""
    vehicle = vehicle_svc.owned_vehicle(current_user, vehicle_id)
    records = db.session.scalars(
        select(ServiceRecord)
        .where(ServiceRecord.vehicle_id == vehicle.id)
        .order_by(ServiceRecord.completed_at.desc())
    ).all()
    return render_template("bookings/history.html", v=vehicle, records=records)


@bp.app_template_filter("service_type")
def service_type_label(value: str) -> str:
    """Return the translated name of a service type."""
    return str(SERVICE_TYPE_LABELS.get(value, value))


FAULT_LABELS = {
    "engine": _l("Engine"),
    "transmission": _l("Transmission"),
    "brakes": _l("Brakes"),
    "suspension": _l("Suspension and steering"),
    "electrical": _l("Electrical"),
    "air_conditioning": _l("Air conditioning"),
    "body": _l("Body and paint"),
    "tyres": _l("Tyres and wheels"),
    "maintenance": _l("Routine maintenance"),
    "other": _l("Other"),
}


@bp.app_template_filter("fault_category")
def fault_category_label(value: str) -> str:
    """Return the translated name of a fault category."""
    return str(FAULT_LABELS.get(value, value))


bp.add_app_template_global(svc.status_label, "svc_label")
