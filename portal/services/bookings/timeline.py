"""Name booking statuses, fetch bookings by owner or store, and move them along the timeline."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import transitions
from portal.extensions import db
from portal.models import (
    Booking,
    BookingEvent,
    User,
)
from portal.models.bookings import (
    ACCEPTED,
    CANCELLED,
    CHECKED_IN,
    COMPLETED,
    IN_PROGRESS,
    NO_SHOW,
    PROPOSED,
    READY,
    REJECTED,
    SUBMITTED,
)
from portal.services import notify

STATUS_LABELS = {
    SUBMITTED: _l("Submitted"),
    ACCEPTED: _l("Accepted"),
    REJECTED: _l("Rejected"),
    PROPOSED: _l("Another time proposed"),
    CHECKED_IN: _l("Checked in"),
    IN_PROGRESS: _l("In progress"),
    READY: _l("Ready for pickup"),
    COMPLETED: _l("Completed"),
    CANCELLED: _l("Cancelled"),
    NO_SHOW: _l("No-show"),
}


def status_label(status: str) -> str:
    """Return the translated name of a booking status."""
    return transitions.label(STATUS_LABELS, status)


# --- reading: the owner's booking, or one of the staff member's store (else NotFound) ------

owned_booking, store_booking = transitions.lookups(Booking, _l("Booking not found."))


# --- the timeline ---------------------------------------------------------------------


def _conflict(status: str) -> str:
    return _(
        "This booking was changed meanwhile (it is now: %(status)s). Reload to see it.",
        status=status_label(status),
    )


def _transition(
    booking: Booking,
    allowed_from: tuple[str, ...],
    to_status: str,
    actor: User | None,
    note: str = "",
    **values,
) -> str:
    """Move the booking with a conditional UPDATE: of concurrent callers exactly one wins."""
    before = transitions.move(booking, allowed_from, dict(values, status=to_status), _conflict)
    from_status = before if before in allowed_from else allowed_from[0]
    _event(booking, actor, to_status, note, from_status=from_status, to_status=to_status)
    db.session.flush()
    db.session.refresh(booking)
    return before


def _event(booking: Booking, actor: User | None, kind: str, note: str = "", **statuses) -> None:
    transitions.add_event(BookingEvent, "booking_id", booking, actor, kind, note=note, **statuses)


def _tell_owner(booking: Booking, message) -> None:
    """Notify the booking's owner in the owner's language, whoever's request sends it.

    `message` is a lazy string (`_l(...)`): it is rendered here, under the owner's locale,
    not in the language of the advisor who clicked."""
    owner = db.session.get(User, booking.owner_id)
    link = f"/bookings/{booking.id}"  # services run outside requests too (CLI, jobs)
    with force_locale(owner.locale or current_app.config["DEFAULT_LOCALE"]):
        text = str(message)
        subject = _("Your repair booking #%(id)d", id=booking.id)
    notify.notify(owner, text, link, subject=subject, kind="booking")
