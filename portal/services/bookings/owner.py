"""Book, edit, cancel, reschedule and rate a repair as the car's owner."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from portal import access, transitions
from portal.errors import Conflict, NotAllowed, ValidationError
from portal.extensions import db
from portal.models import (
    Booking,
    BookingPhoto,
    Rating,
    Store,
    User,
    Vehicle,
)
from portal.models.accounts import OWNER
from portal.models.bookings import (
    ACCEPTED,
    CANCELLED,
    COMPLETED,
    PROPOSED,
    SERVICE_TYPES,
    SUBMITTED,
)
from portal.services import brands, capacity, maintenance, media, webhooks
from portal.services.bookings.timeline import _event, _transition
from portal.timeutil import now


def can_cancel(booking: Booking) -> bool:
    """Return whether the owner may still cancel or reschedule the booking."""
    if booking.status in (SUBMITTED, PROPOSED):
        return True
    if booking.status != ACCEPTED:
        return False
    cutoff = timedelta(hours=current_app.config["BOOKING_CANCEL_CUTOFF_HOURS"])
    return now() < booking.slot_start - cutoff


def _clean_request(owner: User, vehicle: Vehicle, service_types, description: str) -> list[str]:
    access.require_owner(owner, vehicle, _("Vehicle not found."))
    types = [t for t in SERVICE_TYPES if t in set(service_types or [])]
    if not types or len(types) != len(set(service_types or [])):
        raise ValidationError(_("Choose at least one service type."), field="service_types")
    if len(description or "") > 2000:
        raise ValidationError(
            _("Describe the fault in at most 2,000 characters."), field="description"
        )
    return types


def book_repair(
    owner: User,
    vehicle: Vehicle,
    store: Store,
    slot_start: datetime,
    service_types: list[str],
    description: str = "",
    photos: list[bytes | media.ProcessedImage] | None = None,
    maintenance_items: list[str] | None = None,
) -> Booking:
    """Book a repair into a free place of the store's slot."""
    if owner.role != OWNER:
        raise NotAllowed(_("Only car owners book repairs."))
    types = _clean_request(owner, vehicle, service_types, description)
    photos = photos or []
    limit = current_app.config["BOOKING_MAX_PHOTOS"]
    if len(photos) > limit:
        raise ValidationError(_("Attach at most %(n)d photos.", n=limit), field="photos")
    images = [media.store_image(data, owner=owner, field="photos") for data in photos]
    capacity.take_place(store, slot_start)
    booking = Booking(
        owner_id=owner.id,
        vehicle_id=vehicle.id,
        store_id=store.id,
        brand_id=brands.brand_of(vehicle.brand),
        slot_start=slot_start,
        status=SUBMITTED,
        service_types=types,
        description=(description or "").strip(),
        maintenance_items=_known_codes(vehicle, maintenance_items or []),
        created_at=now(),
        updated_at=now(),
    )
    booking.photos = [BookingPhoto(image_id=i.id) for i in images]
    db.session.add(booking)
    db.session.flush()
    _event(booking, owner, SUBMITTED)
    webhooks.emit_booking("booking.created", booking)
    return booking


def _known_codes(vehicle: Vehicle, codes: list[str]) -> list[str]:
    if not codes:
        return []  # no need to look the plan up
    plan = maintenance.plan_for(vehicle)
    known = {i.code for i in plan.items} if plan else set()
    return [c for c in dict.fromkeys(codes) if c in known]


def edit_booking(
    owner: User,
    booking: Booking,
    *,
    service_types: list[str],
    description: str,
    slot_start: datetime,
    vehicle: Vehicle,
) -> Booking:
    """Change a booking the store has not decided yet."""
    access.require_owner(owner, booking, _("Booking not found."))
    types = _clean_request(owner, vehicle, service_types, description)
    _lock(booking)
    if booking.status != SUBMITTED:
        raise Conflict(_("The store has already answered; this booking can no longer be edited."))
    if slot_start != booking.slot_start:
        store = db.session.get(Store, booking.store_id)
        capacity.take_place(store, slot_start)
        capacity.release_place(booking.store_id, booking.slot_start)
        booking.slot_start = slot_start
    booking.service_types = types
    booking.description = (description or "").strip()
    booking.vehicle_id = vehicle.id
    booking.updated_at = now()
    _event(booking, owner, "edited")
    db.session.flush()
    return booking


def _lock(booking: Booking) -> None:
    """Lock the booking row (PostgreSQL) and reload it; SQLite already holds the write lock."""
    db.session.execute(select(Booking.id).where(Booking.id == booking.id).with_for_update())
    db.session.refresh(booking)


def cancel_booking(owner: User, booking: Booking, reason: str = "") -> None:
    """Cancel before the store decides, or an accepted booking up to the cut-off."""
    access.require_owner(owner, booking, _("Booking not found."))
    _lock(booking)
    if not can_cancel(booking):
        hours = current_app.config["BOOKING_CANCEL_CUTOFF_HOURS"]
        raise ValidationError(
            _(
                "Bookings can be cancelled online until %(h)d hours before; please call the store.",
                h=hours,
            )
        )
    before = _transition(booking, (SUBMITTED, PROPOSED, ACCEPTED), CANCELLED, owner, reason)
    capacity.release_place(booking.store_id, booking.slot_start)
    if before == PROPOSED and booking.proposed_start:
        capacity.release_place(booking.store_id, booking.proposed_start)
    webhooks.emit_booking("booking.cancelled", booking, previous_status=before)


def reschedule(owner: User, booking: Booking, slot_start: datetime) -> None:
    """Move an accepted booking into another free slot, up to the cut-off."""
    access.require_owner(owner, booking, _("Booking not found."))
    _lock(booking)
    if booking.status != ACCEPTED or not can_cancel(booking):
        raise ValidationError(_("This booking can no longer be moved online."))
    if slot_start == booking.slot_start:
        raise ValidationError(_("Pick a different time."), field="slot")
    store = db.session.get(Store, booking.store_id)
    capacity.take_place(store, slot_start)
    capacity.release_place(booking.store_id, booking.slot_start)
    old = booking.slot_start
    booking.slot_start = slot_start
    booking.updated_at = now()
    _event(booking, owner, "rescheduled", note=f"{old.isoformat()} -> {slot_start.isoformat()}")
    db.session.flush()


def answer_proposal(owner: User, booking: Booking, accept: bool) -> None:
    """Take the store's proposed time (the booking is accepted) or decline it (cancelled)."""
    access.require_owner(owner, booking, _("Booking not found."))
    original, proposed = booking.slot_start, booking.proposed_start
    if accept:
        _transition(
            booking,
            (PROPOSED,),
            ACCEPTED,
            owner,
            _("Proposed time accepted"),
            slot_start=proposed,
            proposed_start=None,
        )
        capacity.release_place(booking.store_id, original)
    else:
        _transition(booking, (PROPOSED,), CANCELLED, owner, _("Proposed time declined"))
        capacity.release_place(booking.store_id, original)
        capacity.release_place(booking.store_id, proposed)


def rate(
    owner: User, booking: Booking, service_stars: int, advisor_stars: int, comment: str = ""
) -> Rating:
    """Rate a completed booking's service and advisor, once."""
    access.require_owner(owner, booking, _("Booking not found."))
    if booking.status != COMPLETED:
        raise ValidationError(_("You can rate a booking once it is completed."))
    for value, field in ((service_stars, "service_stars"), (advisor_stars, "advisor_stars")):
        if value not in range(1, 6):
            raise ValidationError(_("Give 1 to 5 stars."), field=field)
    rating = Rating(
        booking_id=booking.id,
        store_id=booking.store_id,
        owner_id=owner.id,
        advisor_id=booking.advisor_id,
        service_stars=service_stars,
        advisor_stars=advisor_stars,
        comment=(comment or "").strip()[:1000],
        created_at=now(),
    )
    if not transitions.insert_unique(rating):
        raise Conflict(_("You have already rated this booking."))
    return rating
