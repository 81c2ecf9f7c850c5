"""Bookings that staff enter for customers who phone or walk in, into the same capacity."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import access, transitions
from portal.errors import NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.models import Booking, Store, User, Vehicle
from portal.models.accounts import ADVISOR, MANAGER, OWNER
from portal.models.bookings import ACCEPTED, APP, CHECKED_IN, PHONE, WALK_IN
from portal.services import audit, brands, capacity, webhooks
from portal.services import vehicles as vehicle_svc
from portal.services.bookings import status_link
from portal.services.bookings.owner import _clean_request
from portal.services.bookings.timeline import _event, _tell_owner
from portal.timeutil import now
from portal.validation import InvalidIdentifier, normalize_plate, normalize_vin

SOURCE_LABELS = {
    APP: _l("Booked online"),
    PHONE: _l("Phone booking"),
    WALK_IN: _l("Walk-in"),
}
MAX_KM = 3_000_000


def source_label(source: str) -> str:
    """Return the translated name of how a booking came in."""
    return transitions.label(SOURCE_LABELS, source)


def may_enter_jobs(staff: User | None) -> bool:
    """Return whether the user is an active advisor or manager of a store."""
    return (
        access.is_active_staff(staff)
        and staff.role in (ADVISOR, MANAGER)
        and staff.store_id is not None
    )


def enter_job(
    staff: User,
    customer: User,
    vehicle: Vehicle,
    *,
    source: str,
    service_types: list[str],
    description: str = "",
    slot_start: datetime | None = None,
    km: int | None = None,
) -> Booking:
    """Book a caller's car into a free slot (accepted at once), or check in a car that
    walked in now (in the slot under way); the staff member is the actor."""
    if not may_enter_jobs(staff):
        raise NotAllowed(_("Only advisors and managers of a store enter jobs."))
    if customer.role != OWNER or vehicle.owner_id != customer.id:
        raise NotFound(_("Vehicle not found."))
    types = _clean_request(customer, vehicle, service_types, description)
    store = db.session.get(Store, staff.store_id)
    if source == PHONE:
        if slot_start is None:
            raise ValidationError(_("Pick a time."), field="slot")
        capacity.take_place(store, slot_start)
        status = ACCEPTED
    elif source == WALK_IN:
        if km is None or not 0 <= km <= MAX_KM:
            raise ValidationError(_("Enter the mileage."), field="km")
        vehicle_svc.record_mileage(vehicle, km, source="staff")
        slot_start = capacity.take_running_place(store)
        status = CHECKED_IN
    else:
        raise ValidationError(_("Choose a phone booking or a walk-in."), field="source")
    booking = Booking(
        owner_id=customer.id,
        vehicle_id=vehicle.id,
        store_id=store.id,
        brand_id=brands.brand_of(vehicle.brand),
        slot_start=slot_start,
        status=status,
        source=source,
        service_types=types,
        description=(description or "").strip(),
        advisor_id=staff.id,
        decided_at=now(),
        checkin_km=km if source == WALK_IN else None,
        created_at=now(),
        updated_at=now(),
    )
    db.session.add(booking)
    db.session.flush()
    _event(booking, staff, status, source_label(source), to_status=status)
    audit.record("booking_entered", actor=staff, target=booking, source=source)
    webhooks.emit_booking("booking.created", booking, source=source)
    if source == PHONE:
        _tell_owner(booking, _l("Your booking #%(id)d is confirmed.", id=booking.id))
    else:  # checked in at once: the owner gets the status link, as at any check-in
        status_link.send_link(booking, checked_in=True)
    return booking


def vehicle_for(
    customer: User, *, vin: str, plate: str, brand: str, series: str, model_year: int
) -> Vehicle:
    """Return the customer's car with this VIN, or register it to them; a VIN or plate of
    another customer's car is refused (search for that customer instead)."""
    try:
        clean_vin = normalize_vin(vin)
    except InvalidIdentifier as exc:
        raise ValidationError(_(str(exc)), field="vin") from exc
    known = db.session.scalar(select(Vehicle).where(Vehicle.vin == clean_vin))
    if known is not None:
        if known.owner_id != customer.id:
            raise ValidationError(
                _("This VIN belongs to another customer's car: search for it by VIN."),
                field="vin",
            )
        return known
    with suppress(InvalidIdentifier):
        taken = db.session.scalar(select(Vehicle.id).where(Vehicle.plate == normalize_plate(plate)))
        if taken is not None:
            raise ValidationError(
                _("This plate belongs to another car: search for it by plate."), field="plate"
            )
    return vehicle_svc.add_vehicle(
        customer,
        vin=clean_vin,
        plate=plate,
        brand=brand,
        series=series,
        model_year=model_year,
        km=0,
    )
