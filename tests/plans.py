"""Query plans in tests: the statements a piece of work sends, and PostgreSQL's plan of one.

A plan test checks that a page reads its rows through the index meant for it. On a test's few
rows PostgreSQL would rather read a table whole, so sequential scans are turned off for the
plan (SET LOCAL: the test's transaction only)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event

from portal.extensions import db


def statements_during(work: Callable[[], object]) -> list[tuple[str, object]]:
    """Run work and return every (statement, parameters) the engine sent meanwhile."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


def postgres_plan(statement: str, parameters) -> str:
    """Return PostgreSQL's plan of the statement with these parameters, sequential scans off."""
    conn = db.session.connection()
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
