"""The demo dealership: stores, staff, owners with their cars and mileage, then every domain's
demo history on top (maintenance, bookings, rescues, used cars)."""

from __future__ import annotations

import random
from datetime import date, time, timedelta

from sqlalchemy import select

from portal.demo import maintenance
from portal.demo.bookings import load_booking_history
from portal.demo.brands import load_brands
from portal.demo.inspections import load_inspection_demo
from portal.demo.people import (
    DEMO_LOGINS,
    DEMO_PASSWORD,
    DEMO_REGION,
    MODELS,
    STORES,
    avatar_png,
    chinese_name,
    make_plate,
    make_vin,
    mileage_history,
)
from portal.demo.rescue import load_demo_rescues
from portal.demo.technicians import load_technician_demo
from portal.demo.usedcars import load_usedcar_demo
from portal.extensions import db
from portal.models import AdvisorProfile, MileageReading, Region, Store, User, Vehicle
from portal.models.accounts import (
    ADMIN,
    ADVISOR,
    HQ,
    MANAGER,
    MANUFACTURER,
    OWNER,
    REGION,
    TECHNICIAN,
)
from portal.services import passwords
from portal.services.media import store_image
from portal.timeutil import now


def _staff(store: Store | None, role: str, login: str, name: str, pw_hash: str) -> User:
    user = db.session.scalar(select(User).where(User.phone == login))
    if user is None:
        user = User(
            role=role,
            name=name,
            phone=login,
            password_hash=pw_hash,
            store_id=store.id if store else None,
            password_changed_at=now(),
        )
        db.session.add(user)
        db.session.flush()
    return user


def _group_viewers(stores: list[Store], hashes: dict[str, str]) -> None:
    """Create the region holding the demo stores, its regional manager and headquarters."""
    region = db.session.scalar(select(Region).where(Region.name == DEMO_REGION))
    if region is None:
        region = Region(name=DEMO_REGION)
        db.session.add(region)
        db.session.flush()
    for store in stores:
        store.region_id = store.region_id or region.id
    _staff(None, HQ, DEMO_LOGINS[HQ], "周建国", hashes[HQ])
    if db.session.scalar(select(User.id).where(User.phone == DEMO_LOGINS[REGION])) is None:
        db.session.add(
            User(
                role=REGION,
                name="林晓梅",
                phone=DEMO_LOGINS[REGION],
                password_hash=hashes[REGION],
                region_id=region.id,
                password_changed_at=now(),
            )
        )
        db.session.flush()


def load_demo(owners: int = 200, seed: int = 42) -> dict[str, int]:
    """Create the demo stores, staff, owners and vehicles; running it again changes nothing."""
    rng = random.Random(seed)
    hashes = {role: passwords.hash_password(pw) for role, pw in DEMO_PASSWORD.items()}
    stores = []
    for si, spec in enumerate(STORES):
        store = db.session.scalar(select(Store).where(Store.name == spec["name"]))
        if store is None:
            store = Store(
                **spec,
                timezone="Asia/Shanghai",
                opens_at=time(8, 30),
                closes_at=time(18, 0),
                # The first store opens every day; the others close on Tuesdays and give an
                # advisor ten minutes: after-hours leads are due at the next opening.
                closed_weekdays="" if si == 0 else "1",
                first_contact_minutes=5 if si == 0 else 10,
            )
            db.session.add(store)
            db.session.flush()
        store.rescue_phone = store.rescue_phone or spec["rescue_phone"]  # databases from before it
        stores.append(store)
    _staff(None, ADMIN, DEMO_LOGINS[ADMIN], "系统管理员", hashes[ADMIN])
    _group_viewers(stores, hashes)
    load_brands(stores, hashes[MANUFACTURER])
    advisors: dict[int, list[User]] = {}
    for si, store in enumerate(stores):
        _staff(store, MANAGER, f"1390000{si}100", chinese_name(rng), hashes[MANAGER])
        advisors[store.id] = []
        for ai in range(4):
            login = f"1390000{si}{101 + ai}"
            adv = _staff(store, ADVISOR, login, chinese_name(rng), hashes[ADVISOR])
            if adv.profile is None:
                photo = store_image(avatar_png(rng))
                db.session.add(
                    AdvisorProfile(
                        user_id=adv.id,
                        display_name=adv.name,
                        phone=login,
                        department=rng.choice(["机电组", "钣喷组", "保养快修组", "新能源组"]),
                        photo_id=photo.id,
                    )
                )
            advisors[store.id].append(adv)
    created = sum(_demo_owner(rng, i, stores, advisors, hashes[OWNER]) for i in range(owners))
    db.session.flush()
    maintenance.load_plans()
    maintenance.load_history(rng)
    bookings = load_booking_history(random.Random(seed + 1))
    load_demo_rescues()
    load_usedcar_demo()
    load_inspection_demo()
    load_technician_demo(hashes[TECHNICIAN])
    return {"stores": len(stores), "owners_created": created, "bookings_created": bookings}


def _demo_owner(rng, i: int, stores: list[Store], advisors: dict, owner_hash: str) -> int:
    """Create demo owner number i with 1-2 vehicles and their mileage history; 0 if present."""
    login = f"138{i + 1:08d}"
    name = chinese_name(rng)
    store = stores[i % len(stores)]
    n_vehicles = 1 + (rng.random() < 0.4)
    specs = []
    for _ in range(n_vehicles):
        brand, series, wmi = rng.choice(MODELS)
        year = rng.randint(2015, 2025)
        specs.append(
            (
                brand,
                series,
                make_vin(rng, wmi, year),
                year,
                make_plate(rng, "粤", "B" if store is stores[0] else "A"),
            )
        )
    if db.session.scalar(select(User.id).where(User.phone == login)):
        return 0
    owner = User(
        role=OWNER,
        name=name,
        phone=login,
        password_hash=owner_hash,
        store_id=store.id,
        advisor_id=advisors[store.id][i % 4].id,
        password_changed_at=now(),
    )
    db.session.add(owner)
    db.session.flush()
    for brand, series, vin, year, plate in specs:
        if db.session.scalar(
            select(Vehicle.id).where((Vehicle.vin == vin) | (Vehicle.plate == plate))
        ):
            continue
        purchase = date(year, rng.randint(1, 12), rng.randint(1, 28))
        v = Vehicle(
            owner_id=owner.id,
            vin=vin,
            plate=plate,
            brand=brand,
            series=series,
            model_year=year,
            purchase_date=purchase,
            current_km=0,
        )
        db.session.add(v)
        db.session.flush()
        km = 0
        for day, km in mileage_history(rng, purchase, now().date() - timedelta(days=7)):
            db.session.add(
                MileageReading(
                    vehicle_id=v.id,
                    km=km,
                    source="owner",
                    recorded_at=now() - timedelta(days=(now().date() - day).days),
                )
            )
        v.current_km = km
    return 1
