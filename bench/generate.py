"""Fill an empty database with a production-sized M4S dataset, fast.

    python -m bench.generate --group --scale 10k --seed 1 --database-url postgresql://...

builds a dealer group instead (bench.group): 100 stores, customers with up to ten years of
history, and every table the stores fill; --scale tiny|10k|100k|1m sets the customers.

The schema comes from the Alembic migrations; rows go in with bulk inserts (COPY on
PostgreSQL, one executemany per batch elsewhere), one small function per table so that later
issues add theirs beside them. Names, VINs and plates come from portal.demo's generators.

    python -m bench.generate --database-url sqlite:///bench/data/portal-100000.db --owners 100000

Every owner logs in with the phone number owner_login(i) and the password BENCH_PASSWORD.
"""

from __future__ import annotations

import argparse
import random
import sys
import time as clock
from collections.abc import Callable
from typing import Any

import flask_migrate
from sqlalchemy import func, select

from bench.database import (
    DATA,
    ROOT,
    bench_app,
    default_sqlite_url,
    describe,
    engine_url,
    fix_sequences,
    load,
    migrations_head,
    prepare_database,
)
from bench.group import default_jobs
from bench.rows import (
    BOOKINGS_PER_DAY,
    insert_bookings,
    insert_owners,
    insert_staff,
    insert_stores,
    insert_vehicles,
    owner_login,
)
from portal.extensions import db
from portal.models import Booking, MileageReading, Store, User, Vehicle
from portal.services import passwords
from portal.timeutil import now

__all__ = [
    "BENCH_PASSWORD",
    "BOOKINGS_PER_DAY",
    "DATA",
    "ROOT",
    "bench_app",
    "default_sqlite_url",
    "describe",
    "engine_url",
    "fill",
    "generate",
    "main",
    "migrations_head",
    "owner_login",
    "prepare_database",
]

# Public by design: every owner shares one Argon2 hash of this password.
BENCH_PASSWORD = "m4s-bench-owner"  # noqa: S105
STAFF_PASSWORD = "m4s-bench-staff"  # noqa: S105


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


def all_id_tables() -> list:
    """Return every table whose primary key is an integer id (its sequence needs moving)."""
    return [
        t
        for t in db.metadata.sorted_tables
        if "id" in t.c and t.c.id.primary_key and t.c.id.type.python_type is int
    ]


def generate_group(
    database_url: str,
    scale: str,
    *,
    seed: int = 42,
    reset: bool = False,
    log: Callable[[str], None] = lambda _: None,
    jobs: int = 1,
    chunk_size: int | None = None,
) -> dict[str, Any]:
    """Build the group dataset at this scale in an empty (or wiped) database; return counts.

    On PostgreSQL, jobs processes make the customers side by side (bench.group), each on its
    own connection; the stores and staff are committed before they start, and the secondary
    indexes and foreign keys are built once at the end, on up to jobs connections."""
    from bench.group import CHUNK, SCALES, fill_group
    from bench.pg_bulk import deferred_indexes

    started = clock.perf_counter()
    prepare_database(database_url, reset=reset)
    app = bench_app(database_url)
    with app.app_context():
        flask_migrate.upgrade()
        log(f"  schema at revision {migrations_head()}")

        def step(what: str) -> None:
            log(f"  {clock.perf_counter() - started:7.1f} s  {what}")

        with db.engine.connect() as conn:
            with deferred_indexes(conn, step, jobs=jobs, engine=db.engine):
                counts = fill_group(
                    conn,
                    SCALES[scale],
                    seed,
                    now(),
                    passwords.hash_password(STAFF_PASSWORD),
                    passwords.hash_password(BENCH_PASSWORD),
                    step,
                    jobs=jobs,
                    database_url=database_url,
                    commit=conn.commit,
                    chunk_size=chunk_size or CHUNK,
                )
            fix_sequences(conn, all_id_tables())
            conn.commit()
        step("committed")
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
    parser.add_argument("--group", action="store_true", help="a dealer group of 100 stores")
    parser.add_argument(
        "--scale", choices=("tiny", "10k", "100k", "1m"), default="10k", help="with --group"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help="with --group on PostgreSQL: processes making customers (default: the cores)",
    )
    args = parser.parse_args(argv)
    if args.group:
        url = args.database_url or f"sqlite:///{DATA / f'group-{args.scale}.db'}"
        print(
            f"generating the group at scale {args.scale} with {args.jobs} jobs into "
            f"{engine_url(url).render_as_string()}"
        )
        result = generate_group(
            url,
            args.scale,
            seed=args.seed,
            reset=args.reset,
            log=lambda m: print(m, flush=True),
            jobs=args.jobs,
        )
        print(f"done in {result['seconds']} s: {result}")
        return 0
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
