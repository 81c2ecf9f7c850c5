"""The owner's bookings as calendar files: one booking, the private feed, its settings."""

from __future__ import annotations

import secrets

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.auth import current_account, owner_required
from portal.extensions import db
from portal.ics import calendar
from portal.models import Booking, User
from portal.models.bookings import ACCEPTED, CHECKED_IN, IN_PROGRESS, READY, TERMINAL
from portal.services import bookings as svc
from portal.views.bookings import bp


def _ics_event(b: Booking) -> dict:
    return {
        "uid": f"booking-{b.id}@m4s",
        "start": b.slot_start,
        "minutes": current_app.config["BOOKING_SLOT_MINUTES"],
        "summary": _(
            "Car service: %(plate)s at %(store)s", plate=b.vehicle.plate, store=b.store.name
        ),
        "location": f"{b.store.name}, {b.store.address}",
        "description": _("Booking #%(id)d", id=b.id),
        "status": "CANCELLED" if b.status in TERMINAL and b.status != "completed" else "CONFIRMED",
    }


def _ics_response(body: str, filename: str) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/bookings/<int:booking_id>.ics")
@owner_required
def booking_ics(booking_id: int):
    """Download an accepted booking as a calendar file."""
    booking = svc.owned_booking(current_user, booking_id)
    if booking.status not in (ACCEPTED, CHECKED_IN, IN_PROGRESS, READY):
        abort(404)
    return _ics_response(calendar([_ics_event(booking)]), f"m4s-booking-{booking.id}.ics")


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str):
    """Serve the owner's private calendar feed; the secret token in the URL is the key."""
    if len(token) < 20:
        abort(404)
    owner = db.session.scalar(select(User).where(User.calendar_token == token))
    if owner is None or not owner.is_active:
        abort(404)
    bookings = db.session.scalars(
        select(Booking)
        .where(
            Booking.owner_id == owner.id,
            Booking.status.in_((ACCEPTED, CHECKED_IN, IN_PROGRESS, READY)),
        )
        .order_by(Booking.slot_start)
    ).all()
    return _ics_response(calendar([_ics_event(b) for b in bookings], name="M4S"), "m4s.ics")


@bp.route("/bookings/calendar", methods=["GET", "POST"])
@owner_required
def calendar_settings():
    """Show the private calendar feed URL, or rotate its secret."""
    owner = current_account()
    if request.method == "POST":
        rotating = owner.calendar_token is not None
        owner.calendar_token = secrets.token_urlsafe(24)
        db.session.commit()
        flash(
            _("A new calendar link is ready; the old one no longer works.")
            if rotating
            else _("Your calendar link is ready."),
            "success",
        )
        return redirect(url_for("bookings.calendar_settings"), code=303)
    url = None
    if owner.calendar_token:
        url = current_app.config["BASE_URL"].rstrip("/") + url_for(
            "bookings.calendar_feed", token=owner.calendar_token
        )
    return render_template("bookings/calendar.html", feed_url=url)
