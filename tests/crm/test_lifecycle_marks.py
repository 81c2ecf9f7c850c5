"""The lifecycle rules leave no gaps: each store's rule remembers how far it has looked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm import lifecycle, lifecycle_marks, rules
from crm.models import Task
from portal.extensions import db
from portal.models import Store
from portal.timeutil import add_months, now
from tests.crm.test_lifecycle import _due, _loan, _policy, _reading
from tests.threads import at_once

# Thursday 3 December 2026, 10:00 in Shanghai: the store's today is 2026-12-03.
MORNING = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
TODAY = date(2026, 12, 3)
GAP = 21  # the worker is down for three weeks


@pytest.fixture
def morning(clock):
    clock.now = MORNING
    return clock


def _count(rule: str | None = None) -> int:
    stmt = select(func.count(Task.id)).where(Task.rule.is_not(None))
    if rule:
        stmt = stmt.where(Task.rule == rule)
    return db.session.scalar(stmt)


def _marks(store) -> dict[str, date]:
    return lifecycle_marks.marks(store.id)


def _gap_causes(f, store, advisor) -> dict[str, int]:
    """Give the store one cause of each rule on several days of the three weeks after
    MORNING's run (and one just past them); return how many calls the gap owes per rule."""
    owed = {"renewal_policy": 0, "trade_in_3y": 0, "maintenance_due": 0, "trade_in_km": 0}
    for day in range(1, GAP + 2):  # policies end 31..52 days ahead: the last is not due yet
        owner = f.owner(store, advisor_id=advisor.id)
        _policy(store, owner, None, TODAY + timedelta(days=30 + day), f"P-GAP-{day}")
        owed["renewal_policy"] += day <= GAP
    for day in (1, 9, 20):  # cars turning 3 in 31, 39 and 50 days
        owner = f.owner(store, advisor_id=advisor.id)
        f.vehicle(owner, purchase_date=add_months(TODAY + timedelta(days=30 + day), -36))
        owed["trade_in_3y"] += 1
    for day in (0, 7, 17, 18):  # maintenance falls due during the gap (day 18: 3 days later)
        car = f.vehicle(f.owner(store, advisor_id=advisor.id))
        _due(car, MORNING + timedelta(days=day))
        owed["maintenance_due"] += day + 3 <= GAP
    for day in (2, 12):  # readings pass 100,000 km during the gap
        car = f.vehicle(f.owner(store, advisor_id=advisor.id), current_km=99_000)
        _reading(car, 100_100, MORNING + timedelta(days=day))
        owed["trade_in_km"] += 1
    return owed


def test_a_worker_down_three_weeks_calls_every_threshold_of_the_gap_once(f, morning):
    store = f.store()
    advisor = f.advisor(store)
    assert sum(rules.generate_tasks().values()) == 0  # the first run marks the current week
    db.session.commit()
    owed = _gap_causes(f, store, advisor)

    morning.advance(days=GAP)
    rules.generate_tasks()
    db.session.commit()
    for rule, n in owed.items():
        assert _count(rule) == n, rule
    marks = _marks(store)
    assert marks["renewal_policy"] == TODAY + timedelta(days=GAP + 30)
    assert marks["maintenance_due"] == TODAY + timedelta(days=GAP - 3)

    assert sum(rules.generate_tasks().values()) == 0  # a second run the same day
    morning.advance(days=1)
    rules.generate_tasks()
    assert _count("renewal_policy") == owed["renewal_policy"] + 1  # the 52nd day is due now


def test_two_workers_after_the_gap_call_each_threshold_once(app, f, morning):
    store = f.store()
    advisor = f.advisor(store)
    rules.generate_tasks()
    db.session.commit()
    owed = _gap_causes(f, store, advisor)
    morning.advance(days=GAP)
    store_id = store.id

    def work():
        return sum(lifecycle.run(db.session.get(Store, store_id), now()).values())

    results = at_once(app, work, 4)
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == sum(owed.values())
    assert _count() == sum(owed.values())


def test_a_first_run_covers_only_the_current_week(f, morning):
    store = f.store()
    owner = f.owner(store, advisor_id=f.advisor(store).id)
    _policy(store, owner, None, TODAY + timedelta(days=20), "P-HISTORY")  # due 10 days ago
    _policy(store, f.owner(store), None, TODAY + timedelta(days=27), "P-WEEK")
    assert lifecycle.policy_renewals(store, now()) == 1
    assert _marks(store) == {"renewal_policy": TODAY + timedelta(days=30)}


def test_a_rule_switched_off_forgets_its_mark_and_starts_afresh(f, morning):
    store = f.store()
    rules.generate_tasks()
    db.session.commit()
    assert "renewal_loan" in _marks(store)
    rules.set_rule(store.id, "renewal_loan", 30, False)
    rules.generate_tasks()
    assert "renewal_loan" not in _marks(store)
    morning.advance(days=60)  # switched on again on 1 February 2027
    rules.set_rule(store.id, "renewal_loan", 30, True)
    _loan(store, f.owner(store), date(2024, 2, 21), 36)  # its call day passed while off
    week = _loan(store, f.owner(store), date(2024, 3, 1), 36)  # ends in 28 days
    rules.generate_tasks()
    assert _marks(store)["renewal_loan"] == TODAY + timedelta(days=90)
    (task,) = db.session.scalars(select(Task).where(Task.rule == "renewal_loan"))
    assert task.cause == f"loan:{week.id}:2027-03-01"


def test_claim_moves_the_mark_once_and_never_back(f):
    store = f.store()
    first = lifecycle_marks.claim(store.id, "trade_in_km", TODAY, TODAY - timedelta(days=7))
    assert first == TODAY - timedelta(days=7)
    assert lifecycle_marks.claim(store.id, "trade_in_km", TODAY, TODAY) is None
    earlier = TODAY - timedelta(days=3)  # a rule's days made longer: nothing new behind
    assert lifecycle_marks.claim(store.id, "trade_in_km", earlier, earlier) is None
    assert lifecycle_marks.covered(store.id, "trade_in_km") == TODAY


def test_the_manager_sees_how_far_each_rule_has_looked(client, auth, f, morning):
    store = f.store()
    manager = f.manager(store)
    rules.generate_tasks()
    db.session.commit()
    auth.login(manager)
    page = client.get("/admin/task_rules/", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Dates checked through Feb 1, 2027" in text  # the warranty rule: 60 days ahead
    assert text.count('class="small text-muted rule-mark"') == 7
