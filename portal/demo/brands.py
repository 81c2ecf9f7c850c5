"""The demo brands: the marques the demo stores sell, and a brand's manufacturer officer."""

from __future__ import annotations

from sqlalchemy import select

from portal.demo.people import DEMO_BRAND, DEMO_LOGINS
from portal.extensions import db
from portal.models import Brand, Store, User
from portal.models.accounts import MANUFACTURER
from portal.timeutil import now

# (code, Chinese name, English name); the names match the demo cars' brands (people.MODELS).
BRANDS = (
    ("BYD", "比亚迪", "BYD"),
    ("TOYOTA", "丰田", "Toyota"),
    ("HONDA", "本田", "Honda"),
    ("GEELY", "吉利", "Geely"),
)
# What each demo store sells, by its place in people.STORES: the first is a group store.
STORE_BRANDS = (("BYD", "TOYOTA"), ("TOYOTA", "HONDA"))


def load_brands(stores: list[Store], pw_hash: str) -> None:
    """Create the demo brands, give each demo store its brands and create the officer of
    DEMO_BRAND; running it again changes nothing."""
    by_code = {}
    for code, name, name_en in BRANDS:
        brand = db.session.scalar(select(Brand).where(Brand.code == code))
        if brand is None:
            brand = Brand(code=code, name=name, name_en=name_en)
            db.session.add(brand)
        by_code[code] = brand
    db.session.flush()
    for store, codes in zip(stores, STORE_BRANDS, strict=False):
        if not store.brands:  # an administrator's later choice stands
            store.brands = [by_code[c] for c in codes]
    if db.session.scalar(select(User.id).where(User.phone == DEMO_LOGINS[MANUFACTURER])) is None:
        db.session.add(
            User(
                role=MANUFACTURER,
                name="陈志强",
                phone=DEMO_LOGINS[MANUFACTURER],
                password_hash=pw_hash,
                brand_id=by_code[DEMO_BRAND].id,
                password_changed_at=now(),
            )
        )
    db.session.flush()
