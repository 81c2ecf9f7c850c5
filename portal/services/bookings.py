"""Repair bookings: the owner's verbs and the workshop's, each change a row in the timeline."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portal.errors import Conflict, NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.models import (
    Booking,
    BookingEvent,
    BookingPhoto,
    Rating,
    ServiceItem,
    ServiceRecord,
    Store,
    User,
    Vehicle,
)
from portal.models.accounts import ADMIN, OWNER
from portal.models.bookings import (
    ACCEPTED,
    CANCELLED,
    CHECKED_IN,
    COMPLETED,
    FAULT_CATEGORIES,
    IN_PROGRESS,
    NO_SHOW,
    PROPOSED,
    READY,
    REJECT_REASONS,
    REJECTED,
    SERVICE_TYPES,
    SUBMITTED,
)
from portal.services import audit, capacity, maintenance, media, notify
from portal.services import vehicles as vehicle_svc
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
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.owner_id != owner.id:
        raise NotFound(_("Booking not found."))
    return booking


def store_booking(staff: User, booking_id: int) -> Booking:
    """Return a booking of the staff member's store (any store for admins), else NotFound."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or (staff.role != ADMIN and booking.store_id != staff.store_id):
        raise NotFound(_("Booking not found."))
    return booking


def can_cancel(booking: Booking) -> bool:
    """Return whether the owner may still cancel or reschedule the booking."""
    if booking.status in (SUBMITTED, PROPOSED):
        return True
    if booking.status != ACCEPTED:
        return False
    cutoff = timedelta(hours=current_app.config["BOOKING_CANCEL_CUTOFF_HOURS"])
    return now() < booking.slot_start - cutoff


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


# --- owner verbs ----------------------------------------------------------------------


def _clean_request(owner: User, vehicle: Vehicle, service_types, description: str) -> list[str]:
    if vehicle.owner_id != owner.id:
        raise NotFound(_("Vehicle not found."))
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
    photos: list[bytes] | None = None,
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
    if booking.owner_id != owner.id:
        raise NotFound(_("Booking not found."))
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
    if booking.owner_id != owner.id:
        raise NotFound(_("Booking not found."))
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


def reschedule(owner: User, booking: Booking, slot_start: datetime) -> None:
    """Move an accepted booking into another free slot, up to the cut-off."""
    if booking.owner_id != owner.id:
        raise NotFound(_("Booking not found."))
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
    if booking.owner_id != owner.id:
        raise NotFound(_("Booking not found."))
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
    if booking.owner_id != owner.id:
        raise NotFound(_("Booking not found."))
    if booking.status != COMPLETED:
        raise ValidationError(_("You can rate a booking once it is completed."))
    for value, field in ((service_stars, "service_stars"), (advisor_stars, "advisor_stars")):
        if value not in range(1, 6):
            raise ValidationError(_("Give 1 to 5 stars."), field=field)
    rating = Rating(
        booking_id=booking.id,
        owner_id=owner.id,
        advisor_id=booking.advisor_id,
        service_stars=service_stars,
        advisor_stars=advisor_stars,
        comment=(comment or "").strip()[:1000],
        created_at=now(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(rating)
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict(_("You have already rated this booking.")) from exc
    return rating


# --- workshop verbs -------------------------------------------------------------------


def _staff_check(staff: User, booking: Booking) -> None:
    if not staff.is_staff or (staff.role != ADMIN and staff.store_id != booking.store_id):
        raise NotFound(_("Booking not found."))


def accept(staff: User, booking: Booking, bay: int | None = None, note: str = "") -> None:
    """Accept a pending booking, optionally in a bay."""
    _staff_check(staff, booking)
    store = db.session.get(Store, booking.store_id)
    if bay is not None and not 1 <= bay <= max(store.bays, 1):
        raise ValidationError(_("This store has bays 1 to %(n)d.", n=store.bays), field="bay")
    _transition(
        booking,
        (SUBMITTED,),
        ACCEPTED,
        staff,
        note,
        advisor_id=staff.id,
        decided_at=now(),
        bay=bay,
        decision_reason=None,
    )
    audit.record("booking_accepted", actor=staff, target=booking)
    _tell_owner(booking, _("Your booking #%(id)d is accepted.", id=booking.id))


def reject(staff: User, booking: Booking, reason: str, note: str = "") -> None:
    """Reject a pending booking with a required reason."""
    _staff_check(staff, booking)
    if reason not in REJECT_REASONS:
        raise ValidationError(_("Choose a reason."), field="reason")
    if reason == "other" and not (note or "").strip():
        raise ValidationError(_("Explain the reason in the note."), field="note")
    _transition(
        booking,
        (SUBMITTED,),
        REJECTED,
        staff,
        note,
        advisor_id=staff.id,
        decided_at=now(),
        decision_reason=reason,
        decision_note=(note or "").strip(),
    )
    capacity.release_place(booking.store_id, booking.slot_start)
    audit.record("booking_rejected", actor=staff, target=booking, reason=reason)
    _tell_owner(
        booking,
        _(
            "Your booking #%(id)d was declined: %(why)s",
            id=booking.id,
            why=(note or reason_label(reason)),
        ),
    )


def reason_label(reason: str | None) -> str:
    """Return the translated text of a rejection reason."""
    return {
        "no_capacity": _("No free time in the requested window"),
        "parts_unavailable": _("Parts not available"),
        "other": _("Other"),
    }.get(reason or "", reason or "")


def propose(staff: User, booking: Booking, slot_start: datetime, note: str = "") -> None:
    """Propose another slot; its place is held until the owner answers."""
    _staff_check(staff, booking)
    if slot_start == booking.slot_start:
        raise ValidationError(_("Propose a different time."), field="slot")
    store = db.session.get(Store, booking.store_id)
    capacity.take_place(store, slot_start)
    _transition(
        booking,
        (SUBMITTED,),
        PROPOSED,
        staff,
        note,
        advisor_id=staff.id,
        decided_at=now(),
        proposed_start=slot_start,
        decision_note=(note or "").strip(),
    )
    audit.record("booking_proposed", actor=staff, target=booking)
    _tell_owner(booking, _("The store proposes another time for booking #%(id)d.", id=booking.id))


def check_in(staff: User, booking: Booking, km: int) -> None:
    """Record the car's arrival and its mileage, which joins the vehicle's mileage history."""
    _staff_check(staff, booking)
    vehicle = db.session.get(Vehicle, booking.vehicle_id)
    _transition(booking, (ACCEPTED,), CHECKED_IN, staff, checkin_km=km)
    vehicle_svc.record_mileage(vehicle, km, source="staff")
    _tell_owner(booking, _("Your car is checked in (booking #%(id)d).", id=booking.id))


def start_work(staff: User, booking: Booking) -> None:
    """Start the work on a checked-in car."""
    _staff_check(staff, booking)
    _transition(booking, (CHECKED_IN,), IN_PROGRESS, staff)
    _tell_owner(booking, _("Work on your car has started (booking #%(id)d).", id=booking.id))


def add_progress(staff: User, booking: Booking, note: str) -> None:
    """Tell the owner how the work goes."""
    _staff_check(staff, booking)
    if booking.status != IN_PROGRESS:
        raise ValidationError(_("Progress notes are for work in progress."))
    if not (note or "").strip():
        raise ValidationError(_("Write the progress note."), field="note")
    _event(booking, staff, "progress", note.strip())
    _tell_owner(booking, _("Booking #%(id)d: %(note)s", id=booking.id, note=note.strip()))


def mark_ready(staff: User, booking: Booking) -> None:
    """Tell the owner the car can be picked up."""
    _staff_check(staff, booking)
    _transition(booking, (IN_PROGRESS,), READY, staff)
    _tell_owner(booking, _("Your car is ready for pickup (booking #%(id)d).", id=booking.id))


def complete(
    staff: User,
    booking: Booking,
    items: list[dict],
    *,
    fault_category: str,
    technician_note: str = "",
) -> ServiceRecord:
    """Close the job: the work items and parts become the vehicle's service record."""
    _staff_check(staff, booking)
    if fault_category not in FAULT_CATEGORIES:
        raise ValidationError(_("Choose a fault category."), field="fault_category")
    if not items:
        raise ValidationError(_("Add at least one work item."), field="items")
    clean = []
    for item in items:
        if item.get("kind") not in ("labour", "part") or not item.get("description"):
            raise ValidationError(_("Each item needs a kind and a description."), field="items")
        if int(item.get("quantity", 1)) <= 0 or int(item.get("unit_price_fen", -1)) < 0:
            raise ValidationError(
                _("Quantities are positive and prices not negative."), field="items"
            )
        clean.append(
            ServiceItem(
                kind=item["kind"],
                description=item["description"][:200],
                part_no=(item.get("part_no") or "")[:40],
                quantity=int(item.get("quantity", 1)),
                unit_price_fen=int(item["unit_price_fen"]),
            )
        )
    _transition(booking, (IN_PROGRESS, READY), COMPLETED, staff)
    record = ServiceRecord(
        booking_id=booking.id,
        vehicle_id=booking.vehicle_id,
        store_id=booking.store_id,
        advisor_id=booking.advisor_id or staff.id,
        mileage_km=booking.checkin_km or db.session.get(Vehicle, booking.vehicle_id).current_km,
        fault_category=fault_category,
        technician_note=(technician_note or "").strip(),
        total_fen=sum(i.quantity * i.unit_price_fen for i in clean),
        completed_at=now(),
        items=clean,
    )
    db.session.add(record)
    db.session.flush()
    maintenance.on_service_record(record)
    audit.record("booking_completed", actor=staff, target=booking, total_fen=record.total_fen)
    _tell_owner(booking, _("Booking #%(id)d is completed. Please rate the service.", id=booking.id))
    return record


def mark_no_show(staff: User, booking: Booking) -> None:
    """Record that the owner did not come; the slot's place is given back."""
    _staff_check(staff, booking)
    if booking.slot_start > now():
        raise ValidationError(_("The booked time has not come yet."))
    _transition(booking, (ACCEPTED,), NO_SHOW, staff)
    capacity.release_place(booking.store_id, booking.slot_start)
