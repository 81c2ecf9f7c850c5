"""The bench dataset generator on a small SQLite database (no server, no load)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select

from bench import generate as gen
from portal.models import MileageReading, User, Vehicle
from portal.models.accounts import OWNER
from portal.services.accounts import normalize_phone
from portal.validation import normalize_plate, normalize_vin

OWNERS, VEHICLES = 200, 300

# Two deprecations outside bench/, reported separately and not what this module tests:
# admin/__init__.py hands db.session to flask-admin's ModelViews, and the stock
# migrations/env.py calls Flask-SQLAlchemy's get_engine().
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:Passing a session object directly is deprecated:DeprecationWarning"
    ),
    pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('bench') / 'bench.db'}"
    result = gen.generate(url, OWNERS, VEHICLES, seed=7)
    engine = create_engine(url)
    yield url, result, engine
    engine.dispose()


@pytest.fixture
def conn(dataset):
    # Short-lived: on SQLite every transaction here takes the write lock (BEGIN IMMEDIATE).
    with dataset[2].connect() as connection:
        yield connection


def test_counts(dataset):
    url, result, engine = dataset
    with engine.connect() as conn:
        owners = conn.scalar(select(func.count()).select_from(User).where(User.role == OWNER))
        vehicles = conn.scalar(select(func.count()).select_from(Vehicle))
        readings = conn.scalar(select(func.count()).select_from(MileageReading))
    assert result["owners"] == OWNERS
    assert result["vehicles"] == VEHICLES
    assert (owners, vehicles, readings) == (OWNERS, VEHICLES, result["mileage_readings"])
    assert gen.describe(url) == {
        "revision": gen.migrations_head(),
        "owners": OWNERS,
        "vehicles": VEHICLES,
    }


def test_vins_and_plates_valid_and_unique(conn):
    rows = conn.execute(select(Vehicle.vin, Vehicle.plate)).all()
    vins = [vin for vin, _ in rows]
    plates = [plate for _, plate in rows]
    assert all(normalize_vin(v) == v for v in vins)
    assert all(normalize_plate(p) == p for p in plates)
    assert len(set(vins)) == len(vins)
    assert len(set(plates)) == len(plates)


def test_owners_have_unique_phones_a_car_and_an_advisor(conn):
    phones = conn.scalars(select(User.phone)).all()
    assert len(set(phones)) == len(phones)
    assert all(normalize_phone(p) == p for p in phones)
    without_car = conn.scalar(
        select(func.count()).select_from(User).where(User.role == OWNER, ~User.vehicles.any())
    )
    assert without_car == 0
    role, advisor_id = conn.execute(
        select(User.role, User.advisor_id).where(User.phone == gen.owner_login(0))
    ).one()
    assert role == OWNER and advisor_id is not None


def test_every_vehicle_has_readings_up_to_its_mileage(conn):
    latest = (
        select(MileageReading.vehicle_id, func.max(MileageReading.km).label("km"))
        .group_by(MileageReading.vehicle_id)
        .subquery()
    )
    rows = conn.execute(
        select(Vehicle.current_km, latest.c.km).outerjoin(latest, latest.c.vehicle_id == Vehicle.id)
    ).all()
    assert len(rows) == VEHICLES
    assert all(km is not None and km == current for current, km in rows)


def test_owner_password_is_the_bench_password(dataset):
    url, _, engine = dataset
    with engine.connect() as conn:
        pw_hash = conn.scalar(select(User.password_hash).where(User.phone == gen.owner_login(1)))
    app = gen.bench_app(url)
    with app.app_context():
        from portal.services import passwords

        assert passwords.verify_password(pw_hash, gen.BENCH_PASSWORD)
        assert not passwords.verify_password(pw_hash, "wrong-password")


def test_refuses_a_non_empty_database_without_reset(dataset):
    url, _, _ = dataset
    with pytest.raises(SystemExit, match="not empty"):
        gen.prepare_database(url, reset=False)


def test_a_year_of_bookings_by_the_cars_own_owners(conn, dataset):
    from portal.models import Booking

    n = conn.scalar(select(func.count()).select_from(Booking))
    assert n == dataset[1]["bookings"] > 365 * 2 * gen.BOOKINGS_PER_DAY // 2
    foreign = conn.scalar(
        select(func.count())
        .select_from(Booking)
        .join(Vehicle, Vehicle.id == Booking.vehicle_id)
        .where(Vehicle.owner_id != Booking.owner_id)
    )
    assert foreign == 0
    statuses = set(conn.scalars(select(Booking.status).distinct()))
    assert statuses == {"completed", "rejected", "cancelled", "no_show"}


def test_each_vehicle_carries_its_owners_store(conn):
    misplaced = conn.scalar(
        select(func.count())
        .select_from(Vehicle)
        .join(User, User.id == Vehicle.owner_id)
        .where((Vehicle.store_id != User.store_id) | Vehicle.store_id.is_(None))
    )
    assert conn.scalar(select(func.count()).select_from(Vehicle)) > 0 and misplaced == 0
