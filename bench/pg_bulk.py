"""Bulk-load PostgreSQL the way pg_restore does: secondary indexes and foreign keys off while
the rows stream in, then built once at the end (a sort per index instead of a B-tree insert
per row, one validation scan per foreign key instead of a lookup per row).

The schema stays the migrations' own: every index and constraint is read back from the catalog
(pg_get_indexdef, pg_get_constraintdef) and recreated from that text, and the counts are
checked before the load returns. Primary keys and unique constraints stay on throughout.
With jobs > 1 the indexes are built on that many connections at once (the load is committed
first: the builds must see its rows), each in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

INDEXES = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.schemaname = current_schema()
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
ORDER BY i.indexname
"""
FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
ORDER BY c.conname
"""


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _build_indexes(
    conn: Connection, definitions: list[str], jobs: int, engine: Engine | None
) -> None:
    """Run the CREATE INDEX statements: on conn, or on jobs connections of engine at once."""
    if jobs > 1 and engine is not None:
        conn.commit()

        def build(definition: str) -> None:
            with engine.connect() as own:
                own.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
                own.exec_driver_sql(definition)
                own.commit()

        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(build, definitions))
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        return
    conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    for definition in definitions:
        conn.exec_driver_sql(definition)


@contextmanager
def deferred_indexes(
    conn: Connection,
    log: Callable[[str], None] = lambda _: None,
    *,
    jobs: int = 1,
    engine: Engine | None = None,
) -> Iterator[None]:
    """Drop secondary indexes and foreign keys for the block; recreate them after it."""
    if conn.dialect.name != "postgresql":
        yield
        return
    indexes = conn.exec_driver_sql(INDEXES).all()
    fks = conn.exec_driver_sql(FOREIGN_KEYS).all()
    for table, name, _definition in fks:
        conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {_quote(conn, name)}")
    for name, _definition in indexes:
        conn.exec_driver_sql(f"DROP INDEX {_quote(conn, name)}")
    yield
    log(f"building {len(indexes)} indexes and {len(fks)} foreign keys")
    _build_indexes(conn, [definition for _name, definition in indexes], jobs, engine)
    for table, name, definition in fks:
        conn.exec_driver_sql(
            f"ALTER TABLE {table} ADD CONSTRAINT {_quote(conn, name)} {definition}"
        )
    # By name: PostgreSQL re-prints a partial index's predicate in its own way.
    before = {r[0] for r in indexes} | {r[1] for r in fks}
    after = {r[0] for r in conn.exec_driver_sql(INDEXES)}
    after |= {r[1] for r in conn.exec_driver_sql(FOREIGN_KEYS)}
    if after != before:
        raise RuntimeError(f"indexes or foreign keys changed in the load: {before ^ after}")
