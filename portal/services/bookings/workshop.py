"""Accept, schedule, work on and complete a booking as the store's workshop."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import access
from portal.errors import ValidationError
from portal.extensions import db
from portal.models import (
    Booking,
    ServiceItem,
    ServiceRecord,
    Store,
    User,
    Vehicle,
)
from portal.models.bookings import (
    ACCEPTED,
    CHECKED_IN,
    COMPLETED,
    FAULT_CATEGORIES,
    IN_PROGRESS,
    NO_SHOW,
    PROPOSE_REASONS,
    PROPOSED,
    READY,
    REJECT_REASONS,
    REJECTED,
    SUBMITTED,
)
from portal.services import audit, capacity, inspections, maintenance, webhooks
from portal.services import vehicles as vehicle_svc
from portal.services.bookings import job_card, status_link
from portal.services.bookings.timeline import _event, _tell_owner, _transition
from portal.timeutil import now


def _staff_check(staff: User, booking: Booking) -> None:
    access.require_store(staff, booking.store_id, _("Booking not found."))


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
    webhooks.emit_booking("booking.decided", booking, decision="accepted", bay=bay)
    _tell_owner(booking, _l("Your booking #%(id)d is accepted.", id=booking.id))


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
    webhooks.emit_booking("booking.decided", booking, decision="rejected", reason=reason)
    _tell_owner(
        booking,
        _l(
            "Your booking #%(id)d was declined: %(why)s",
            id=booking.id,
            why=(note or "").strip() or REASON_LABELS.get(reason, reason),
        ),
    )


REASON_LABELS = {
    "no_capacity": _l("No free time in the requested window"),
    "parts_unavailable": _l("Parts not available"),
    "other": _l("Other"),
}


def reason_label(reason: str | None) -> str:
    """Return the translated text of a rejection reason."""
    return str(REASON_LABELS.get(reason or "", reason or ""))


PROPOSE_REASON_LABELS = {
    "no_capacity": _l("No free time in the requested window"),
    "parts_unavailable": _l("Parts temporarily not available"),
    "other": _l("Other"),
}


def proposal_reason_label(reason: str | None) -> str:
    """Return the translated text of the reason for proposing another time ("" for none)."""
    return str(PROPOSE_REASON_LABELS.get(reason or "", ""))


def propose(
    staff: User, booking: Booking, slot_start: datetime, note: str = "", reason: str | None = None
) -> None:
    """Propose another slot, with an optional reason; its place is held until the owner
    answers."""
    _staff_check(staff, booking)
    if reason is not None and reason not in PROPOSE_REASONS:
        raise ValidationError(_("Choose a reason."), field="reason")
    if reason == "other" and not (note or "").strip():
        raise ValidationError(_("Explain the reason in the note."), field="note")
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
        decision_reason=reason,
        decision_note=(note or "").strip(),
    )
    audit.record("booking_proposed", actor=staff, target=booking, reason=reason)
    webhooks.emit_booking(
        "booking.decided",
        booking,
        decision="proposed",
        proposed_start=webhooks.iso(booking.proposed_start),
        **({"reason": reason} if reason else {}),
    )
    why = (note or "").strip() or PROPOSE_REASON_LABELS.get(reason or "")
    _tell_owner(
        booking,
        _l("The store proposes another time for booking #%(id)d: %(why)s", id=booking.id, why=why)
        if why
        else _l("The store proposes another time for booking #%(id)d.", id=booking.id),
    )


def check_in(staff: User, booking: Booking, km: int, promised_at: datetime | None = None) -> None:
    """Record the car's arrival, its mileage (which joins the vehicle's mileage history) and
    when it was promised back; the owner gets the repair status link, once."""
    _staff_check(staff, booking)
    if promised_at is not None and promised_at <= now():
        raise ValidationError(_("The promised time has already passed."), field="promised")
    vehicle = db.session.get(Vehicle, booking.vehicle_id)
    # The conditional UPDATE lets one check-in win, so the link goes out exactly once.
    _transition(booking, (ACCEPTED,), CHECKED_IN, staff, checkin_km=km, promised_at=promised_at)
    vehicle_svc.record_mileage(vehicle, km, source="staff")
    status_link.send_link(booking, checked_in=True)


def start_work(staff: User, booking: Booking) -> None:
    """Start the work on a checked-in car."""
    _staff_check(staff, booking)
    _transition(booking, (CHECKED_IN,), IN_PROGRESS, staff)
    _tell_owner(booking, _l("Work on your car has started (booking #%(id)d).", id=booking.id))


def add_progress(staff: User, booking: Booking, note: str) -> None:
    """Tell the owner how the work goes."""
    _staff_check(staff, booking)
    if booking.status != IN_PROGRESS:
        raise ValidationError(_("Progress notes are for work in progress."))
    if not (note or "").strip():
        raise ValidationError(_("Write the progress note."), field="note")
    _event(booking, staff, "progress", note.strip())
    _tell_owner(booking, _l("Booking #%(id)d: %(note)s", id=booking.id, note=note.strip()))


def mark_ready(staff: User, booking: Booking) -> None:
    """Tell the owner the car can be picked up."""
    _staff_check(staff, booking)
    _transition(booking, (IN_PROGRESS,), READY, staff)
    _tell_owner(booking, _l("Your car is ready for pickup (booking #%(id)d).", id=booking.id))


def complete(
    staff: User,
    booking: Booking,
    items: list[dict],
    *,
    fault_category: str,
    technician_note: str = "",
) -> ServiceRecord:
    """Close the job: the work items and parts become the vehicle's service record.

    A job card's lines, when it has any, are the items (``items`` is then ignored); the
    owner's approved inspection lines are added to either, and their reserved parts used."""
    _staff_check(staff, booking)
    if fault_category not in FAULT_CATEGORIES:
        raise ValidationError(_("Choose a fault category."), field="fault_category")
    # Checked under the booking's row lock, in the transaction that completes the job: a
    # technician's line added meanwhile waits for it (tech_lines takes the same lock).
    job_card.lock_card(booking)
    unpriced = job_card.unpriced_technician_lines(booking)
    if unpriced:
        raise ValidationError(
            _(
                "Price the technicians' lines before completing the job (or remove them): "
                "%(lines)s.",
                lines="; ".join(unpriced),
            ),
            field="items",
        )
    items = (job_card.completion_items(booking) or items) + job_card.approved_items(booking)
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
                technician_id=item.get("technician_id"),
                product_id=item.get("product_id"),
                plan_item_code=(item.get("plan_item_code") or "")[:40] or None,
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
    inspections.mark_used(booking)
    maintenance.on_service_record(record)
    audit.record("booking_completed", actor=staff, target=booking, total_fen=record.total_fen)
    _emit_completed(record)
    _tell_owner(
        booking, _l("Booking #%(id)d is completed. Please rate the service.", id=booking.id)
    )
    return record


def _emit_completed(record: ServiceRecord) -> None:
    webhooks.emit(
        "service.completed",
        record.store_id,
        {
            "service_record": {
                "id": record.id,
                "booking_id": record.booking_id,
                "vehicle_id": record.vehicle_id,
                "advisor_id": record.advisor_id,
                "mileage_km": record.mileage_km,
                "fault_category": record.fault_category,
                "total_fen": record.total_fen,
                "completed_at": webhooks.iso(record.completed_at),
                "items": [
                    {
                        "kind": i.kind,
                        "description": i.description,
                        "part_no": i.part_no,
                        "quantity": i.quantity,
                        "unit_price_fen": i.unit_price_fen,
                    }
                    for i in record.items
                ],
            }
        },
    )


def mark_no_show(staff: User, booking: Booking) -> None:
    """Record that the owner did not come; the slot's place is given back."""
    _staff_check(staff, booking)
    if booking.slot_start > now():
        raise ValidationError(_("The booked time has not come yet."))
    _transition(booking, (ACCEPTED,), NO_SHOW, staff)
    capacity.release_place(booking.store_id, booking.slot_start)
