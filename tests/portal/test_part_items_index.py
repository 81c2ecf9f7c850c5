"""The parts lists of the repair analytics read part lines through their partial index.

SQLite and PostgreSQL both use it. On PostgreSQL the index carries every column the lists
read, so the plan is an index-only scan of the part lines (with sequential scans off: on a
table this small the planner would rather read it whole). 'part' is written into the SQL, not
bound: a prepared statement's generic plan could not use a partial index whose predicate it
cannot prove from a parameter."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from portal.extensions import db
from portal.services import booking_stats as stats
from portal.services import repeat_attribution
from tests.portal.test_repeat_attribution import END, START, job

INDEX = "ix_service_items_part_record"


def _statements(call) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return [(s, p) for s, p in seen if "service_items" in s]


def _plan(statement: str, parameters) -> str:
    conn = db.session.connection()
    if db.engine.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
        return "\n".join(r[0] for r in rows)
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
    return "\n".join(str(r[-1]) for r in rows)


def test_the_parts_lists_read_part_lines_from_the_partial_index(f):
    a = f.store("A")
    car = f.vehicle(f.owner(a))
    pad = ("BP-1", "刹车片", None, 2)
    job(a, car, "brakes", 0, parts=(pad,))
    job(a, car, "brakes", 10, parts=(pad,))
    queries = _statements(lambda: stats.top_parts(a.id, START, END))
    queries += _statements(lambda: repeat_attribution.by_part(a.id, START, END, 30))
    queries += _statements(lambda: stats.repeat_repairs(a.id, START, END - timedelta(0), 30))
    assert len(queries) == 3
    for statement, parameters in queries:
        assert "kind = 'part'" in statement, statement  # a constant, not a parameter
        plan = _plan(statement, parameters)
        assert INDEX in plan, plan
        if db.engine.dialect.name == "postgresql" and "ORDER BY service_items.id" not in statement:
            assert f"Index Only Scan using {INDEX}" in plan, plan  # the repeats' parts need ids
