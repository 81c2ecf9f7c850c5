"""Which brand a record is about: read off the text people type (a car's make, the model a
customer asks about), or off the store when it sells one brand only.

Rows that a manufacturer's officer counts (leads, surveys, complaints, sales orders, used
cars, bookings) keep the brand found here when they are created, so the group's figures filter on a
column (portal/access.py: compared_brand_rows) instead of matching text on every read.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from portal.extensions import db
from portal.models import Booking, Brand, Vehicle, store_brands
from portal.models.stores import brand_key


def _keys(rows=None) -> list[tuple[str, int]]:
    """Return every brand's names as compared (code, Chinese, English), longest first; from
    rows of (id, code, name, name_en, ...) when given, else read."""
    if rows is None:
        rows = db.session.execute(select(Brand.id, Brand.code, Brand.name, Brand.name_en))
    keys = []
    for brand_id, code, name, name_en, *_rest in rows:
        keys += [(brand_key(text), brand_id) for text in (code, name, name_en) if brand_key(text)]
    return sorted(keys, key=lambda pair: (-len(pair[0]), pair[0]))


def _first_match(keys: list[tuple[str, int]], text: str | None) -> int | None:
    said = brand_key(text)
    for key, brand_id in keys:  # the longest first: "Mercedes-AMG" before "Mercedes"
        if said.startswith(key):
            return brand_id
    return None


def brand_matcher() -> Callable[[str | None], int | None]:
    """Return a function giving the id of the brand a text names or starts with ("比亚迪",
    "byd 汉EV", "Toyota Camry"), whatever the case, or None: the brands are read once, for
    matching many texts."""
    keys = _keys()
    return lambda text: _first_match(keys, text)


def brand_of(text: str | None) -> int | None:
    """Return the id of the brand the text names or starts with, or None (brand_matcher)."""
    return brand_matcher()(text) if brand_key(text) else None


def store_brand(store_id: int | None) -> int | None:
    """Return the brand a store sells when it sells exactly one (a 4S store), else None."""
    if store_id is None:
        return None
    sold = db.session.scalars(
        select(store_brands.c.brand_id).where(store_brands.c.store_id == store_id).limit(2)
    ).all()
    return sold[0] if len(sold) == 1 else None


def asked_brand(model_interest: str | None, store_id: int | None) -> int | None:
    """Return the brand of a new car someone asks a store about: the one the model names, else
    the store's only brand (a new car is one of the brands the store sells)."""
    if not brand_key(model_interest) or store_id is None:
        return brand_of(model_interest) or store_brand(store_id)
    # One statement: every brand's names, and which of them the store sells.
    sold = (
        select(store_brands.c.brand_id)
        .where(store_brands.c.store_id == store_id, store_brands.c.brand_id == Brand.id)
        .exists()
    )
    rows = db.session.execute(select(Brand.id, Brand.code, Brand.name, Brand.name_en, sold)).all()
    named = _first_match(_keys(rows), model_interest)
    if named is not None:
        return named
    sells = [row[0] for row in rows if row[4]]
    return sells[0] if len(sells) == 1 else None


def vehicle_brand(vehicle_id: int | None) -> int | None:
    """Return the brand of a customer's car, from the make entered on it."""
    if vehicle_id is None:
        return None
    return brand_of(db.session.scalar(select(Vehicle.brand).where(Vehicle.id == vehicle_id)))


def car_brands(vehicle_ids) -> dict[int, int | None]:
    """Return the brand of each of these cars, by vehicle id, from the makes entered on them
    (one statement, for many bookings made at once)."""
    if not vehicle_ids:
        return {}
    match = brand_matcher()
    makes = db.session.execute(
        select(Vehicle.id, Vehicle.brand).where(Vehicle.id.in_(sorted(set(vehicle_ids))))
    )
    return {vehicle_id: match(make) for vehicle_id, make in makes}


def booking_brand(booking_id: int | None) -> int | None:
    """Return the brand of the car of a workshop job."""
    if booking_id is None:
        return None
    make = db.session.scalar(
        select(Vehicle.brand)
        .join(Booking, Booking.vehicle_id == Vehicle.id)
        .where(Booking.id == booking_id)
    )
    return brand_of(make)
