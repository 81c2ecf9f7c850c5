"""Prepare the bench database (create, migrate, describe) and bulk-load rows into it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import JSON, Connection, MetaData, Table, create_engine, func, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from portal.app import create_app
from portal.models import User, Vehicle
from portal.models.accounts import OWNER

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
BATCH = 10_000


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


# The key of the bench data's encrypted columns: the generator and every bench server use it.
BENCH_DATA_KEY = "YmVuY2gtZGF0YS1rZXktbm90LWEtc2VjcmV0LTAwMDA="
BENCH_LOOKUP_KEY = "bench-lookup-key-not-a-secret-0000000000"  # the hashes built with the data


def bench_app(database_url: str) -> Flask:
    """Return a portal app bound to the database, for offline bulk work."""
    return create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "bench-generate-not-secret-" + "0" * 32,
            "DATA_KEYS": BENCH_DATA_KEY,
            "LOOKUP_KEY": BENCH_LOOKUP_KEY,
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
