"""Vehicles: registration, edits and the mileage history."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portal import access, transitions
from portal.errors import NotAllowed, ValidationError
from portal.extensions import db
from portal.models import MileageReading, Store, User, Vehicle
from portal.models.accounts import ADMIN, ADVISOR, MANAGER
from portal.services import audit
from portal.timeutil import add_months, now
from portal.validation import InvalidIdentifier, normalize_plate, normalize_vin


def owned_vehicle(owner: User, vehicle_id: int) -> Vehicle:
    """Return the owner's vehicle or raise NotFound (other owners' vehicles do not exist)."""
    return access.owned_record(owner, Vehicle, vehicle_id, _("Vehicle not found."))


def store_today(store_id: int | None) -> date:
    """Today in the store's zone: a purchase date is a day on the store's calendar, and from
    16:00 UTC it is already tomorrow in China."""
    store = db.session.get(Store, store_id) if store_id else None
    zone = store.timezone if store else current_app.config["DEFAULT_TIMEZONE"]
    return now().astimezone(ZoneInfo(zone)).date()


def _clean(vin: str, plate: str, model_year: int, purchase_date: date | None, store_id: int | None):
    try:
        vin = normalize_vin(vin)
    except InvalidIdentifier as exc:
        raise ValidationError(_(str(exc)), field="vin") from exc
    try:
        plate = normalize_plate(plate)
    except InvalidIdentifier as exc:
        raise ValidationError(_(str(exc)), field="plate") from exc
    this_year = now().year
    if not 1980 <= model_year <= this_year + 1:
        raise ValidationError(
            _("Model year must be between 1980 and %(y)d.", y=this_year + 1), field="model_year"
        )
    if purchase_date and purchase_date > store_today(store_id):
        raise ValidationError(
            _("The purchase date cannot be in the future."), field="purchase_date"
        )
    return vin, plate


def _check_unique(vin: str, plate: str, exclude_id: int | None = None) -> None:
    q = select(Vehicle.id, Vehicle.vin, Vehicle.plate).where(
        (Vehicle.vin == vin) | (Vehicle.plate == plate)
    )
    for vid, other_vin, other_plate in db.session.execute(q):
        if vid == exclude_id:
            continue
        if other_vin == vin:
            raise ValidationError(
                _("This VIN is already registered. If it is your car, contact the store."),
                field="vin",
            )
        if other_plate == plate:
            raise ValidationError(
                _("This plate is already registered. If it is your car, contact the store."),
                field="plate",
            )


def add_vehicle(
    owner: User,
    *,
    vin: str,
    plate: str,
    brand: str,
    series: str,
    model_year: int,
    purchase_date: date | None = None,
    km: int = 0,
) -> Vehicle:
    """Register a vehicle to the owner; a VIN or plate already registered is refused."""
    vin, plate = _clean(vin, plate, model_year, purchase_date, owner.store_id)
    if km < 0:
        raise ValidationError(_("Mileage cannot be negative."), field="km")
    _check_unique(vin, plate)
    vehicle = Vehicle(
        owner_id=owner.id,
        vin=vin,
        plate=plate,
        brand=brand.strip(),
        series=series.strip(),
        model_year=model_year,
        purchase_date=purchase_date,
        current_km=km,
    )
    if not transitions.insert_unique(vehicle):  # registered concurrently by someone else
        raise ValidationError(_("This VIN or plate is already registered."), field="vin")
    db.session.add(MileageReading(vehicle_id=vehicle.id, km=km, source="owner", recorded_at=now()))
    return vehicle


def update_vehicle(
    vehicle: Vehicle,
    *,
    plate: str,
    brand: str,
    series: str,
    model_year: int,
    purchase_date: date | None,
) -> Vehicle:
    """Change a vehicle's plate and description; the VIN never changes."""
    _, plate = _clean(vehicle.vin, plate, model_year, purchase_date, vehicle.store_id)
    _check_unique(vehicle.vin, plate, exclude_id=vehicle.id)
    vehicle.plate = plate
    vehicle.brand = brand.strip()
    vehicle.series = series.strip()
    vehicle.model_year = model_year
    vehicle.purchase_date = purchase_date
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise ValidationError(_("This plate is already registered."), field="plate") from exc
    return vehicle


WARRANTY_MAX_YEARS = 15  # no maker's warranty runs longer from the purchase


def set_warranty(actor: User, vehicle: Vehicle, ends_on: date | None) -> Vehicle:
    """Enter the maker's warranty end of a car of the actor's store (advisors, managers,
    admins); it must fall on or after the purchase and within 15 years of it. Audited."""
    access.require_store(actor, vehicle.store_id, _("Vehicle not found."))
    if actor.role not in (ADVISOR, MANAGER, ADMIN):
        raise NotAllowed(_("Only the store's advisors and managers enter warranty dates."))
    if ends_on is None:
        raise ValidationError(_("Enter the day the maker's warranty ends."), field="ends_on")
    bought = vehicle.purchase_date
    if bought and ends_on < bought:
        raise ValidationError(
            _("The warranty cannot end before the car was bought."), field="ends_on"
        )
    # A car with no purchase date on file: bounded around today instead.
    start = bought or store_today(vehicle.store_id)
    months = 12 * WARRANTY_MAX_YEARS
    if ends_on > add_months(start, months) or (not bought and ends_on < add_months(start, -months)):
        raise ValidationError(
            _("The warranty must end within %(n)d years of the purchase.", n=WARRANTY_MAX_YEARS),
            field="ends_on",
        )
    before = vehicle.warranty_ends_on
    vehicle.warranty_ends_on = ends_on
    audit.record(
        "vehicle_warranty_set",
        actor=actor,
        target=vehicle,
        before=before.isoformat() if before else None,
        after=ends_on.isoformat(),
    )
    db.session.flush()
    return vehicle


def record_mileage(vehicle: Vehicle, km: int, *, source: str = "owner") -> MileageReading:
    """Add a mileage reading; a reading lower than the last one is refused."""
    if km < 0:
        raise ValidationError(_("Mileage cannot be negative."), field="km")
    # Conditional update: the database refuses a decrease even between concurrent requests.
    res = db.session.execute(
        update(Vehicle)
        .where(Vehicle.id == vehicle.id, Vehicle.current_km <= km)
        .values(current_km=km)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        db.session.refresh(vehicle)
        raise ValidationError(
            _(
                "The new reading (%(new)s km) is lower than the last one (%(old)s km).",
                new=f"{km:,}",
                old=f"{vehicle.current_km:,}",
            ),
            field="km",
        )
    reading = MileageReading(vehicle_id=vehicle.id, km=km, source=source, recorded_at=now())
    db.session.add(reading)
    db.session.flush()
    db.session.refresh(vehicle)
    from portal.services import maintenance  # a new reading may bring items due

    maintenance.sync_vehicle(vehicle)
    return reading
