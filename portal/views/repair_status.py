"""The repair status page: a signed, expiring, read-only link that needs no login, showing
where the job is, and a fragment the page polls until the job ends."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.models.bookings import TERMINAL
from portal.services.bookings import status_link as svc

bp = Blueprint("repair_status", __name__, url_prefix="/status")


def _context(status_token: str) -> dict:
    booking = svc.booking_from_link(status_token)
    return {
        "b": booking,
        "token": status_token,
        "steps": svc.repair_steps(booking),
        "progress": svc.last_progress(booking),
        "plate": svc.mask_plate(booking.vehicle.plate),
        "closed": booking.status in TERMINAL,
    }


@bp.route("/<status_token>")
def status_show(status_token: str):
    """Show the job the link names: its steps, store, car and promised time."""
    return render_template("bookings/repair_status.html", **_context(status_token))


@bp.route("/<status_token>/live")
def status_live(status_token: str):
    """Return the steps block (polled by htmx until the job ends)."""
    return render_template("bookings/_repair_status.html", **_context(status_token))
