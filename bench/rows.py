"""Make the bench dataset's rows and load them, one small function per table."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from bench.database import BATCH, load
from portal.demo import (
    MODELS,
    STORES,
    avatar_png,
    chinese_name,
    make_plate,
    make_vin,
    mileage_history,
)
from portal.extensions import db
from portal.models import AdvisorProfile, Booking, MileageReading, Store, User, Vehicle
from portal.models.accounts import ADMIN, ADVISOR, MANAGER, OWNER
from portal.services.media import store_image

ADVISORS_PER_STORE = 4
DEPARTMENTS = ("机电组", "钣喷组", "保养快修组", "新能源组")
PLATE_CITIES = ("B", "A")  # 粤B Shenzhen for the first store, 粤A Guangzhou for the second
READING_SOURCES = ("owner", "service", "service", "staff")
MAX_READINGS = 8  # the most recent readings of each vehicle's history are kept


def owner_login(i: int) -> str:
    """Return the mobile number of the i-th generated owner (0-based)."""
    return f"138{i + 1:08d}"


def insert_stores(conn: Connection, when: datetime) -> list[int]:
    """Insert the demo stores and return their ids."""
    rows = [
        {
            "id": i,
            **spec,
            "timezone": "Asia/Shanghai",
            "opens_at": time(8, 30),
            "closes_at": time(18, 0),
            "is_active": True,
            "created_at": when,
        }
        for i, spec in enumerate(STORES, start=1)
    ]
    load(conn, Store.__table__, rows)
    return [r["id"] for r in rows]


def insert_staff(
    rng: random.Random, store_ids: list[int], pw_hash: str, when: datetime
) -> dict[int, list[int]]:
    """Add an admin, a manager and advisors (with photos) per store; return advisor ids by store."""

    def add(role: str, login: str, name: str, store_id: int | None) -> User:
        user = User(
            role=role,
            name=name,
            phone=login,
            password_hash=pw_hash,
            store_id=store_id,
            password_changed_at=when,
            created_at=when,
        )
        db.session.add(user)
        return user

    add(ADMIN, "13900000001", "系统管理员", None)
    advisors: dict[int, list[int]] = {}
    for si, store_id in enumerate(store_ids):
        add(MANAGER, f"1390000{si}100", chinese_name(rng), store_id)
        team = [
            add(ADVISOR, f"1390000{si}{101 + ai}", chinese_name(rng), store_id)
            for ai in range(ADVISORS_PER_STORE)
        ]
        db.session.flush()
        for adv in team:
            photo = store_image(avatar_png(rng))
            db.session.add(
                AdvisorProfile(
                    user_id=adv.id,
                    display_name=adv.name,
                    phone=adv.phone,
                    department=rng.choice(DEPARTMENTS),
                    photo_id=photo.id,
                )
            )
        advisors[store_id] = [adv.id for adv in team]
    db.session.flush()
    return advisors


def owner_rows(
    rng: random.Random,
    count: int,
    first_id: int,
    store_ids: list[int],
    advisors: dict[int, list[int]],
    pw_hash: str,
    when: datetime,
) -> Iterator[dict[str, Any]]:
    """Yield owners: alternating stores, bound round-robin to the store's advisors."""
    for i in range(count):
        store_id = store_ids[i % len(store_ids)]
        team = advisors[store_id]
        joined = when - timedelta(days=rng.randint(0, 2000), seconds=rng.randint(0, 86399))
        yield {
            "id": first_id + i,
            "role": OWNER,
            "name": chinese_name(rng),
            "phone": owner_login(i),
            "email": f"owner{i + 1}@bench.m4s.test" if i % 5 == 0 else None,
            "password_hash": pw_hash,
            "store_id": store_id,
            "advisor_id": team[(i // len(store_ids)) % len(team)],
            "is_active": True,
            "failed_logins": 0,
            "locked_at": None,
            "password_changed_at": joined,
            "must_change_password": False,
            "session_version": 1,
            "locale": None,
            "created_at": joined,
            "last_login_at": None,
        }


def insert_owners(
    conn: Connection,
    rng: random.Random,
    count: int,
    first_id: int,
    store_ids: list[int],
    advisors: dict[int, list[int]],
    pw_hash: str,
    when: datetime,
) -> int:
    """Insert count owners with ids from first_id; return how many."""
    rows = owner_rows(rng, count, first_id, store_ids, advisors, pw_hash, when)
    return load(conn, User.__table__, rows)


def vehicle_owners(rng: random.Random, owners: int, vehicles: int) -> list[int]:
    """Return each vehicle's owner index: one car per owner, the rest to random owners."""
    if owners == 0:
        return []
    picks = list(range(min(owners, vehicles)))
    picks += [rng.randrange(owners) for _ in range(vehicles - len(picks))]
    picks.sort()  # an owner's cars get consecutive ids, as if added one after another
    return picks


def _unique(seen: set[str], make: Callable[[], str]) -> str:
    value = make()
    while value in seen:
        value = make()
    seen.add(value)
    return value


def vehicle_row(
    rng: random.Random,
    vehicle_id: int,
    owner_id: int,
    city: str,
    today: date,
    vins: set[str],
    plates: set[str],
) -> dict[str, Any]:
    """Return one vehicle with a VIN and a plate not yet in vins and plates."""
    brand, series, wmi = rng.choice(MODELS)
    year = rng.randint(2015, today.year - 1)
    purchase = date(year, rng.randint(1, 12), rng.randint(1, 28))
    return {
        "id": vehicle_id,
        "owner_id": owner_id,
        "vin": _unique(vins, lambda: make_vin(rng, wmi, year)),
        "plate": _unique(plates, lambda: make_plate(rng, "粤", city)),
        "brand": brand,
        "series": series,
        "model_year": year,
        "purchase_date": purchase,
        "current_km": 0,
        "created_at": datetime.combine(purchase, time(4, 0), tzinfo=UTC),
    }


def mileage_rows(
    rng: random.Random, vehicle: dict[str, Any], first_id: int, today: date
) -> list[dict[str, Any]]:
    """Return the vehicle's recent mileage readings (at least one); set its current_km."""
    last = today - timedelta(days=7)
    history = list(mileage_history(rng, vehicle["purchase_date"], last))
    if not history:
        history.append((max(last, vehicle["purchase_date"]), rng.randint(50, 2000)))
    vehicle["current_km"] = history[-1][1]
    return [
        {
            "id": first_id + k,
            "vehicle_id": vehicle["id"],
            "km": value,
            "source": rng.choice(READING_SOURCES),
            "recorded_at": datetime.combine(when, time(2, 0), tzinfo=UTC),
        }
        for k, (when, value) in enumerate(history[-MAX_READINGS:])
    ]


def insert_vehicles(
    conn: Connection,
    rng: random.Random,
    count: int,
    owners: int,
    first_owner_id: int,
    stores: int,
    today: date,
) -> tuple[int, int]:
    """Insert count vehicles over the owners, each with its mileage readings; return both counts."""
    vins: set[str] = set()
    plates: set[str] = set()
    vehicles: list[dict[str, Any]] = []
    readings: list[dict[str, Any]] = []
    n_vehicles = n_readings = 0
    for vehicle_id, i in enumerate(vehicle_owners(rng, owners, count), start=1):
        city = PLATE_CITIES[(i % stores) % len(PLATE_CITIES)]
        vehicle = vehicle_row(rng, vehicle_id, first_owner_id + i, city, today, vins, plates)
        readings += mileage_rows(rng, vehicle, n_readings + len(readings) + 1, today)
        vehicles.append(vehicle)
        if len(vehicles) >= BATCH:
            n_vehicles += load(conn, Vehicle.__table__, vehicles)
            n_readings += load(conn, MileageReading.__table__, readings)
            vehicles, readings = [], []
    n_vehicles += load(conn, Vehicle.__table__, vehicles)
    n_readings += load(conn, MileageReading.__table__, readings)
    # Each car carries its owner's store (what the app's flush hook does for one car).
    owner_store = select(User.store_id).where(User.id == Vehicle.owner_id).scalar_subquery()
    conn.execute(update(Vehicle.__table__).values(store_id=owner_store))
    return n_vehicles, n_readings


BOOKINGS_PER_DAY = 45  # per store, about what 6-8 bays take in 9 one-hour slots
BOOKING_STATUSES = (("completed", 82), ("rejected", 6), ("cancelled", 8), ("no_show", 4))
SERVICE_TYPES = ("maintenance", "repair", "inspection", "bodywork", "tyres", "other")


def booking_rows(
    rng: random.Random,
    cars: list[tuple[int, int]],
    store_ids: list[int],
    advisors: dict[int, list[int]],
    today: date,
    days: int = 365,
) -> Iterator[dict[str, Any]]:
    """Yield a year of past bookings per store: (vehicle id, owner id) cars, 9 slots a day."""
    statuses = [s for s, _ in BOOKING_STATUSES]
    weights = [w for _, w in BOOKING_STATUSES]
    shanghai = timedelta(hours=8)  # the demo stores' zone, without daylight saving time
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        for store_id in store_ids:
            for _ in range(rng.randint(BOOKINGS_PER_DAY * 2 // 3, BOOKINGS_PER_DAY * 4 // 3)):
                vehicle_id, owner_id = rng.choice(cars)
                local = datetime.combine(day, time(8, 30)) + timedelta(hours=rng.randrange(9))
                slot = (local - shanghai).replace(tzinfo=UTC)
                created = slot - timedelta(hours=rng.randint(2, 240))
                status = rng.choices(statuses, weights)[0]
                decided = status != "cancelled" or rng.random() < 0.6
                yield {
                    "owner_id": owner_id,
                    "vehicle_id": vehicle_id,
                    "store_id": store_id,
                    "slot_start": slot,
                    "status": status,
                    "service_types": [rng.choice(SERVICE_TYPES)],
                    "description": "",
                    "advisor_id": rng.choice(advisors[store_id]) if decided else None,
                    "decided_at": created + timedelta(minutes=rng.randint(5, 600))
                    if decided
                    else None,
                    "decision_reason": "no_capacity" if status == "rejected" else None,
                    "decision_note": "",
                    "created_at": created,
                    "updated_at": created,
                }


def insert_bookings(
    conn: Connection,
    rng: random.Random,
    store_ids: list[int],
    advisors: dict[int, list[int]],
    today: date,
) -> int:
    """Insert a year of bookings of every store by the dataset's cars; return how many."""
    cars = [tuple(r) for r in conn.execute(select(Vehicle.id, Vehicle.owner_id)).all()]
    if not cars:
        return 0
    return load(conn, Booking.__table__, booking_rows(rng, cars, store_ids, advisors, today))


# -- the whole dataset -----------------------------------------------------------------------
