"""A group admin's approvals page and Today read the live tasks (open or awaiting a decision)
through their partial index, not the millions of done tasks behind them.

The plan is PostgreSQL's (with sequential scans off: on a test's few rows the planner would
rather read the table whole); SQLite cannot prove a bound status from the index's predicate
and reads the table, which at its embedded scale is fine."""

from __future__ import annotations

import pytest

from portal.extensions import db
from tests.plans import postgres_plan, statements_during

INDEX = "ix_crm_tasks_live_status_due"


def _task_statements(client, url: str) -> list[tuple[str, object]]:
    seen = statements_during(lambda: _ok(client, url))
    return [(s, p) for s, p in seen if "FROM crm_tasks" in s and "crm_tasks.status" in s]


def _ok(client, url: str) -> None:
    assert client.get(url).status_code == 200


def test_the_admins_approvals_and_today_read_the_live_tasks_index(f, client, auth):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the partial index's plan is PostgreSQL's")
    admin = f.admin()
    db.session.commit()
    auth.login(admin)
    found = _task_statements(client, "/admin/task_approvals/")
    found += _task_statements(client, "/admin/today/")
    assert len(found) >= 4, [s for s, _p in found]
    checked = 0
    for statement, parameters in found:
        if "crm_tasks.owner_id = " in statement:  # a person's own list: their live tasks' index
            continue
        plan = postgres_plan(statement, parameters)
        assert INDEX in plan, (statement, plan)
        checked += 1
    assert checked >= 3
