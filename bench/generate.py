"""Fill an empty database with a production-sized M4S dataset, fast.

The schema comes from the Alembic migrations; rows go in with bulk inserts (COPY on
PostgreSQL, one executemany per batch elsewhere), one small function per table so that later
issues add theirs beside them. Names, VINs and plates come from portal.demo's generators.

    python -m bench.generate --database-url sqlite:///bench/data/portal-100000.db --owners 100000

Every owner logs in with the phone number owner_login(i) and the password BENCH_PASSWORD.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time as clock
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import flask_migrate
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import JSON, Connection, MetaData, Table, create_engine, func, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from portal.app import create_app
from portal.demo import MODELS, STORES, avatar_png, chinese_name, make_plate, make_vin
from portal.extensions import db
from portal.models import AdvisorProfile, Booking, MileageReading, Store, User, Vehicle
from portal.models.accounts import ADMIN, ADVISOR, MANAGER, OWNER
from portal.services import passwords
from portal.services.media import store_image
from portal.timeutil import now

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
# Public by design: every owner shares one Argon2 hash of this password.
BENCH_PASSWORD = "m4s-bench-owner"  # noqa: S105
STAFF_PASSWORD = "m4s-bench-staff"  # noqa: S105
ADVISORS_PER_STORE = 4
DEPARTMENTS = ("机电组", "钣喷组", "保养快修组", "新能源组")
PLATE_CITIES = ("B", "A")  # 粤B Shenzhen for the first store, 粤A Guangzhou for the second
READING_SOURCES = ("owner", "service", "service", "staff")
MAX_READINGS = 8  # the most recent readings of each vehicle's history are kept
BATCH = 10_000


def owner_login(i: int) -> str:
    """Return the mobile number of the i-th generated owner (0-based)."""
    return f"138{i + 1:08d}"


def default_sqlite_url(owners: int) -> str:
    """Return the SQLite URL of the bench dataset with this many owners, under bench/data."""
    return f"sqlite:///{DATA / f'portal-{owners}.db'}"


def engine_url(database_url: str) -> URL:
    """Return the URL as the portal would use it (plain postgresql:// means psycopg 3)."""
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    return make_url(database_url)


def migrations_head() -> str:
    """Return the newest Alembic revision in migrations/."""
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(cfg).get_current_head()


def bench_app(database_url: str) -> Flask:
    """Return a portal app bound to the database, for offline bulk work."""
    return create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "bench-generate-not-secret-" + "0" * 32,
            "DATABASE_URL": database_url,
            "RATELIMIT_ENABLED": False,
        }
    )


# -- the database itself ---------------------------------------------------------------------


def _create_postgres_database(url: URL) -> None:
    engine = create_engine(url)
    try:
        with engine.connect():
            return
    except OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    finally:
        engine.dispose()
    if not re.fullmatch(r"[A-Za-z0-9_]+", url.database or ""):
        raise SystemExit(f"refusing to create a database named {url.database!r}")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    finally:
        admin.dispose()


def prepare_database(database_url: str, *, reset: bool) -> None:
    """Make sure the database exists and is empty; wipe it first if reset is true."""
    url = engine_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise SystemExit("the bench needs a SQLite file, not an in-memory database")
        path = Path(url.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        if reset:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(path) + suffix).unlink(missing_ok=True)
    elif url.get_backend_name() == "postgresql":
        _create_postgres_database(url)
    engine = create_engine(url)
    try:
        if not inspect(engine).get_table_names():
            return
        if not reset:
            raise SystemExit(
                f"{url.render_as_string()} is not empty; pass --reset to wipe it first"
            )
        old = MetaData()
        old.reflect(engine)
        old.drop_all(engine)
    finally:
        engine.dispose()


def describe(database_url: str) -> dict[str, Any] | None:
    """Return the schema revision and the owner and vehicle counts, or None if no dataset."""
    url = engine_url(database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not {"alembic_version", "users", "vehicles"} <= set(inspect(conn).get_table_names()):
                return None
            owners = select(func.count()).select_from(User.__table__)
            return {
                "revision": conn.scalar(text("SELECT version_num FROM alembic_version")),
                "owners": conn.scalar(owners.where(User.__table__.c.role == OWNER)),
                "vehicles": conn.scalar(select(func.count()).select_from(Vehicle.__table__)),
            }
    except OperationalError:
        return None
    finally:
        engine.dispose()


# -- bulk loading ----------------------------------------------------------------------------


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _copy(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Stream rows into PostgreSQL with COPY, through the columns' own bind processing."""
    dialect = conn.dialect
    cols = list(rows[0])
    # psycopg adapts JSON values itself on execute (no bind processor); COPY needs the text.
    procs = [
        _json_text if isinstance(table.c[c].type, JSON) else table.c[c].type.bind_processor(dialect)
        for c in cols
    ]
    quote = dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in cols)}) FROM STDIN"
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row([p(row[c]) if p else row[c] for c, p in zip(cols, procs, strict=True)])


def load(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows in batches: COPY on PostgreSQL, one executemany per batch elsewhere."""
    total = 0
    for chunk in _chunks(rows, BATCH):
        if conn.dialect.name == "postgresql":
            _copy(conn, table, chunk)
        else:
            conn.execute(table.insert(), chunk)
        total += len(chunk)
    return total


def fix_sequences(conn: Connection, tables: Iterable[Table]) -> None:
    """Move PostgreSQL id sequences past the explicit ids that the bulk load used."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        seq = func.pg_get_serial_sequence(table.name, "id")
        nxt = select(func.coalesce(func.max(table.c.id), 0) + 1).scalar_subquery()
        conn.execute(select(func.setval(seq, nxt, False)))


# -- one function per table ------------------------------------------------------------------


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
    km, day, history = 0, vehicle["purchase_date"], []
    last = today - timedelta(days=7)
    while True:
        day += timedelta(days=rng.randint(60, 200))
        if day >= last:
            break
        km += rng.randint(2000, 9000)
        history.append((day, km))
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


def fill(
    owners: int,
    vehicles: int,
    seed: int = 42,
    log: Callable[[str], None] = lambda _: None,
    maintenance: bool = False,
) -> dict[str, int]:
    """Fill the app's empty, migrated database in one transaction; return the row counts.

    With maintenance, every car also gets its maintenance history and the aggregates built
    from it (bench.generate_maintenance)."""
    rng = random.Random(seed)
    when = now()
    started = clock.perf_counter()

    def step(what: str) -> None:
        log(f"  {clock.perf_counter() - started:6.1f} s  {what}")

    conn = db.session.connection()
    store_ids = insert_stores(conn, when)
    staff_hash = passwords.hash_password(STAFF_PASSWORD)
    owner_hash = passwords.hash_password(BENCH_PASSWORD)
    advisors = insert_staff(rng, store_ids, staff_hash, when)
    step(f"{len(store_ids)} stores, staff and advisor photos")
    first_owner_id = db.session.scalar(select(func.max(User.id))) + 1
    n_owners = insert_owners(
        conn, rng, owners, first_owner_id, store_ids, advisors, owner_hash, when
    )
    step(f"{n_owners} owners")
    n_vehicles, n_readings = insert_vehicles(
        conn, rng, vehicles, owners, first_owner_id, len(store_ids), when.date()
    )
    step(f"{n_vehicles} vehicles, {n_readings} mileage readings")
    n_bookings = insert_bookings(conn, rng, store_ids, advisors, when.date())
    step(f"{n_bookings} bookings over a year")
    extra: dict[str, int] = {}
    if maintenance:
        from bench.generate_maintenance import TABLES, insert_maintenance

        extra = insert_maintenance(conn, load, seed, when)
        fix_sequences(conn, TABLES)
        step(", ".join(f"{n} {what}" for what, n in extra.items()))
    fix_sequences(
        conn,
        [
            Store.__table__,
            User.__table__,
            Vehicle.__table__,
            MileageReading.__table__,
            Booking.__table__,
        ],
    )
    return {
        "stores": len(store_ids),
        "owners": n_owners,
        "vehicles": n_vehicles,
        "mileage_readings": n_readings,
        "bookings": n_bookings,
        **extra,
    }


def generate(
    database_url: str,
    owners: int,
    vehicles: int | None = None,
    *,
    seed: int = 42,
    reset: bool = False,
    log: Callable[[str], None] = lambda _: None,
    maintenance: bool = False,
) -> dict[str, Any]:
    """Build the dataset in an empty (or, with reset, wiped) database; return counts and timing."""
    vehicles = owners * 3 // 2 if vehicles is None else vehicles
    started = clock.perf_counter()
    prepare_database(database_url, reset=reset)
    app = bench_app(database_url)
    with app.app_context():
        flask_migrate.upgrade()
        log(f"  schema at revision {migrations_head()}")
        counts = fill(owners, vehicles, seed, log, maintenance)
        db.session.commit()
        with db.engine.connect() as conn:  # fresh planner statistics for the bench queries
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        db.session.remove()
        db.engine.dispose()
    return {**counts, "seconds": round(clock.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database-url", help="default: SQLite under bench/data/")
    parser.add_argument("--owners", type=int, default=100_000)
    parser.add_argument("--vehicles", type=int, help="default: 1.5 per owner")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reset", action="store_true", help="wipe a non-empty database first")
    parser.add_argument(
        "--maintenance", action="store_true", help="add maintenance history and aggregates"
    )
    args = parser.parse_args(argv)
    url = args.database_url or default_sqlite_url(args.owners)
    print(f"generating {args.owners} owners into {engine_url(url).render_as_string()}")
    result = generate(
        url,
        args.owners,
        args.vehicles,
        seed=args.seed,
        reset=args.reset,
        log=lambda line: print(line, flush=True),
        maintenance=args.maintenance,
    )
    print(f"done in {result['seconds']} s: {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
