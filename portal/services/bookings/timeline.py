"""Name booking statuses, fetch bookings by owner or store, and move them along the timeline."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from portal import access
from portal.errors import Conflict
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
from portal.timeutil import now

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
    return str(STATUS_LABELS.get(status, status))


# --- reading --------------------------------------------------------------------------


def owned_booking(owner: User, booking_id: int) -> Booking:
    """Return the owner's booking or raise NotFound (others' bookings do not exist)."""
    return access.owned_record(owner, Booking, booking_id, _("Booking not found."))


def store_booking(staff: User, booking_id: int) -> Booking:
    """Return a booking of the staff member's store (any store for admins), else NotFound."""
    return access.store_record(staff, Booking, booking_id, _("Booking not found."))


# --- the timeline ---------------------------------------------------------------------


def _transition(
    booking: Booking,
    allowed_from: tuple[str, ...],
    to_status: str,
    actor: User | None,
    note: str = "",
    **values,
) -> str:
    """Move the booking with a conditional UPDATE: of concurrent callers exactly one wins."""
    before = booking.status
    result = db.session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status.in_(allowed_from))
        .values(status=to_status, updated_at=now(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(booking)
        raise Conflict(
            _(
                "This booking was changed meanwhile (it is now: %(status)s). Reload to see it.",
                status=status_label(booking.status),
            )
        )
    db.session.add(
        BookingEvent(
            booking_id=booking.id,
            at=now(),
            actor_id=actor.id if actor else None,
            kind=to_status,
            from_status=before if before in allowed_from else allowed_from[0],
            to_status=to_status,
            note=note,
        )
    )
    db.session.flush()
    db.session.refresh(booking)
    return before


def _event(booking: Booking, actor: User | None, kind: str, note: str = "") -> None:
    db.session.add(
        BookingEvent(
            booking_id=booking.id,
            at=now(),
            actor_id=actor.id if actor else None,
            kind=kind,
            note=note,
        )
    )


def _tell_owner(booking: Booking, text: str) -> None:
    owner = db.session.get(User, booking.owner_id)
    link = f"/bookings/{booking.id}"  # services run outside requests too (CLI, jobs)
    notify.notify(
        owner, text, link, subject=_("Your repair booking #%(id)d", id=booking.id), kind="booking"
    )
