"""The repair status link: a signed, expiring, read-only page of one job that needs no login.

It is sent at check-in through the owner's channels, and again when staff resend it. It
names one booking and nothing else; it works until STATUS_LINK_DAYS after the job ends (and
never longer than STATUS_LINK_MAX_DAYS after it was signed)."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import access, signed_links
from portal.errors import Gone, NotFound, ValidationError
from portal.extensions import db
from portal.models import Booking, BookingEvent, User
from portal.models.bookings import CHECKED_IN, COMPLETED, IN_PROGRESS, READY, TERMINAL
from portal.models.inspections import DRAFT, PENDING
from portal.services import notify
from portal.services.bookings.timeline import _event
from portal.timeutil import now

LINK_PREFIX = "/status/"  # the page's address (portal.views.repair_status)
LINK_SALT = "m4s.repair.status"
QUALITY_CHECK = "quality_check"  # the timeline event that starts the quality check
# A link can be sent once the car is in the workshop.
LINKABLE = (CHECKED_IN, IN_PROGRESS, READY, COMPLETED)

STEPS = ("checked_in", "inspection", "approval", "in_progress", QUALITY_CHECK, "ready")
STEP_LABELS = {
    "checked_in": _l("Checked in"),
    "inspection": _l("Inspection"),
    "approval": _l("Waiting for your approval"),
    "in_progress": _l("In progress"),
    QUALITY_CHECK: _l("Quality check"),
    "ready": _l("Ready for pickup"),
}


class Step(NamedTuple):
    """One step of the repair as the owner sees it: done, current, todo or skipped."""

    key: str
    label: str
    state: str


def link_token(booking: Booking) -> str:
    """Return a signed token naming the booking's repair status."""
    return signed_links.sign(LINK_SALT, "b", booking.id)


def link_path(booking: Booking) -> str:
    """Return the status page's path for a fresh link to the booking."""
    return LINK_PREFIX + link_token(booking)


def _ended_at(booking: Booking):
    """Return when the job ended (its last move into a terminal status), or None if open."""
    if booking.status not in TERMINAL:
        return None
    return booking.updated_at


def booking_from_link(token: str) -> Booking:
    """Return the booking a status link names; NotFound if forged, Gone if expired."""
    cfg = current_app.config
    expired = Gone(_("This status link has expired. Ask your advisor for a new one."))
    try:
        key = signed_links.read(LINK_SALT, "b", token, cfg["STATUS_LINK_MAX_DAYS"] * 86400)
    except signed_links.LinkExpired:
        raise expired from None
    except signed_links.LinkInvalid:
        raise NotFound(
            _("This status link is not valid. Ask your advisor for a new one.")
        ) from None
    booking = db.session.get(Booking, key)
    if booking is None:
        raise NotFound(_("This status link is not valid. Ask your advisor for a new one."))
    ended = _ended_at(booking)
    if ended is not None and now() > ended + timedelta(days=cfg["STATUS_LINK_DAYS"]):
        raise expired
    return booking


def _current(booking: Booking) -> str | None:
    """Return the step the job is at, from its status, inspection and timeline."""
    if booking.status in (READY, COMPLETED):
        return "ready"
    if booking.status not in (CHECKED_IN, IN_PROGRESS):
        return None
    inspection = booking.inspection
    if inspection is not None and inspection.status == DRAFT:
        return "inspection"
    if inspection is not None and any(i.decision == PENDING for i in inspection.recommendations):
        return "approval"
    if booking.status == CHECKED_IN:
        return "approval" if inspection is not None else "checked_in"
    checked = db.session.scalar(
        select(BookingEvent.id)
        .where(BookingEvent.booking_id == booking.id, BookingEvent.kind == QUALITY_CHECK)
        .limit(1)
    )
    return QUALITY_CHECK if checked else "in_progress"


def repair_steps(booking: Booking) -> list[Step]:
    """Return the six steps of the job with the state of each (empty before check-in)."""
    current = _current(booking)
    if current is None:
        return []
    at = STEPS.index(current)
    inspection = booking.inspection
    no_decisions = inspection is not None and inspection.status != DRAFT
    no_decisions = no_decisions and not inspection.recommendations
    steps = []
    for index, key in enumerate(STEPS):
        if index < at or (index == at and booking.status == COMPLETED):
            state = "done"
            if key in ("inspection", "approval") and inspection is None:
                state = "skipped"
            elif key == "approval" and no_decisions:
                state = "skipped"
        elif index == at:
            state = "current"
        else:
            state = "todo"
        steps.append(Step(key, str(STEP_LABELS[key]), state))
    return steps


def last_progress(booking: Booking) -> BookingEvent | None:
    """Return the latest progress note the workshop wrote for the owner."""
    return db.session.scalar(
        select(BookingEvent)
        .where(BookingEvent.booking_id == booking.id, BookingEvent.kind == "progress")
        .order_by(BookingEvent.id.desc())
        .limit(1)
    )


def mask_plate(plate: str) -> str:
    """Return the plate with its middle hidden (粤B·12345 -> 粤B***45)."""
    plate = (plate or "").strip()
    if len(plate) <= 4:
        return plate[:1] + "*" * max(len(plate) - 1, 0)
    return plate[:2] + "***" + plate[-2:]


def send_link(booking: Booking, *, checked_in: bool = False) -> str:
    """Send the owner a fresh status link on the channels chosen for bookings; return its path."""
    if booking.status not in LINKABLE:
        raise ValidationError(_("The status link is sent once the car is checked in."))
    path = link_path(booking)
    owner = db.session.get(User, booking.owner_id)
    plate = booking.vehicle.plate
    with force_locale(owner.locale or current_app.config["DEFAULT_LOCALE"]):
        if checked_in:
            text = _(
                "Your car %(plate)s is checked in (booking #%(id)d). Follow the repair here.",
                plate=plate,
                id=booking.id,
            )
        else:
            text = _(
                "Follow the repair of your car %(plate)s (booking #%(id)d) here.",
                plate=plate,
                id=booking.id,
            )
        subject = _("Your repair booking #%(id)d", id=booking.id)
    notify.notify(owner, text, path, subject=subject, kind="booking")
    return path


def resend_link(staff: User, booking: Booking) -> str:
    """Send the status link again from the back office (staff of the booking's store)."""
    access.require_store(staff, booking.store_id, _("Booking not found."))
    return send_link(booking)


def begin_quality_check(staff: User, booking: Booking) -> None:
    """Record that the finished work is being checked (once), which the status link shows."""
    access.require_store(staff, booking.store_id, _("Booking not found."))
    if booking.status != IN_PROGRESS:
        raise ValidationError(_("The quality check is for work in progress."))
    if _current(booking) == QUALITY_CHECK:
        raise ValidationError(_("The quality check has already started."))
    _event(booking, staff, QUALITY_CHECK)
    db.session.flush()
