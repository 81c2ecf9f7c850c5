"""The nightly run's set-based rules make exactly the tasks the rules define: post-service calls
(one INSERT ... SELECT per store) and the 100,000 km trade-in calls (the group's readings of a
window read once per run), checked against answers written out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm import rules
from crm.models import NORMAL, POST_SERVICE, TRADE_IN, Task
from portal.extensions import db
from portal.models import MileageReading, ServiceRecord

# Thursday 3 December 2026, 10:00 in Shanghai (02:00 in London).
MORNING = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
# Post-service, the default 3 days, a Shanghai store: the jobs finished in the week of local
# days that ends with 30 November (the end of today less 3 days) are called about.
PS_END = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
PS_START = PS_END - timedelta(days=7)


@pytest.fixture
def morning(clock):
    clock.now = MORNING
    return clock


def _job(store, car, advisor, completed_at: datetime) -> ServiceRecord:
    record = ServiceRecord(
        vehicle_id=car.id, store_id=store.id, advisor_id=advisor.id, mileage_km=1000
    )
    record.completed_at = completed_at
    db.session.add(record)
    db.session.commit()
    return record


def _made(rule: str) -> set[tuple]:
    rows = db.session.execute(
        select(
            Task.cause,
            Task.store_id,
            Task.customer_id,
            Task.owner_id,
            Task.lead_id,
            Task.kind,
            Task.priority,
            Task.status,
            Task.due_at,
            Task.created_at,
            Task.note,
            Task.attempts,
        ).where(Task.rule == rule)
    )
    return {tuple(r) for r in rows}


def test_post_service_calls_are_exactly_the_jobs_of_the_window(f, morning):
    store, lonely = f.store(), f.store()  # the second store has no call centre
    advisor, their_advisor = f.advisor(store), f.advisor(lonely)
    agents = sorted([f.agent(store), f.agent(store)], key=lambda a: a.id)
    owners = {n: f.owner(shop) for n, shop in (("a", store), ("b", store), ("c", store))}
    owners["d"] = f.owner(lonely)
    cars = {n: f.vehicle(o) for n, o in owners.items()}
    last_moment = PS_END - timedelta(microseconds=750_000)  # 23:59:59.25 on 30 Nov, local
    jobs = {
        # due 3 days after the job, later today: the exact moment, fraction of a second kept
        "late": _job(store, cars["a"], advisor, last_moment),
        # due on 1 December, already past: due now
        "past": _job(store, cars["b"], advisor, datetime(2026, 11, 28, 8, 30, 0, 123456, UTC)),
        "first moment": _job(store, cars["c"], advisor, PS_START),
        "lonely store": _job(lonely, cars["d"], their_advisor, PS_START + timedelta(days=3)),
        # not in the window: finished today less 3 days (tomorrow's), and the week before
        "at the end": _job(store, cars["a"], advisor, PS_END),
        "before": _job(store, cars["b"], advisor, PS_START - timedelta(seconds=1)),
    }

    def agent_of(name: str) -> int:
        return agents[jobs[name].id % 2].id

    def expected(name, shop, owner, staff, due):
        cause = f"record:{jobs[name].id}"
        return (cause, shop.id, owner.id, staff, None, POST_SERVICE, NORMAL, "open", due, MORNING)

    answer = {
        expected("late", store, owners["a"], agent_of("late"), last_moment + timedelta(days=3)),
        expected("past", store, owners["b"], agent_of("past"), MORNING),
        expected("first moment", store, owners["c"], agent_of("first moment"), MORNING),
        expected("lonely store", lonely, owners["d"], their_advisor.id, MORNING),
    }

    assert rules.generate_tasks()["post_service"] == 4
    db.session.commit()
    assert {r[:10] for r in _made("post_service")} == answer
    assert all(r[10:] == ("", 0) for r in _made("post_service"))

    assert rules.generate_tasks()["post_service"] == 0  # the same day again: nothing
    db.session.commit()
    assert len(_made("post_service")) == 4


def _car(f, shop, *readings):
    vehicle = f.vehicle(f.owner(shop), current_km=0)
    for km, when in readings:
        db.session.add(
            MileageReading(vehicle_id=vehicle.id, km=km, source="owner", recorded_at=when)
        )
        vehicle.current_km = max(vehicle.current_km, km)
    db.session.commit()
    return vehicle


def test_the_km_rule_in_a_run_calls_each_stores_cars_of_its_own_window(f, morning):
    # Default 1 day ago, a first run covers a week of local days: Shanghai stores from
    # 25 Nov 16:00 UTC to 2 Dec 16:00 UTC, a London store from 26 Nov 00:00 to 3 Dec 00:00.
    shanghai, second, london = f.store(), f.store(), f.store()
    london.timezone = "Europe/London"
    db.session.commit()
    early = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)  # in Shanghai's window, not London's
    late = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)  # in London's window, not Shanghai's
    middle = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)  # in both
    cars = {
        "shanghai early": _car(f, shanghai, (99_000, early - timedelta(days=9)), (100_001, early)),
        "shanghai late": _car(f, shanghai, (100_001, late)),
        "shanghai long ago": _car(
            f, shanghai, (100_000, early - timedelta(days=40)), (130_000, middle)
        ),
        "shanghai under": _car(f, shanghai, (99_999, middle)),
        "second middle": _car(f, second, (100_000, middle), (101_000, middle + timedelta(hours=1))),
        "london early": _car(f, london, (100_500, early)),
        "london late": _car(f, london, (100_500, late)),
    }
    called = {"shanghai early", "second middle", "london late"}

    assert rules.generate_tasks()["trade_in"] >= 3
    db.session.commit()
    made = db.session.execute(
        select(Task.cause, Task.store_id, Task.customer_id, Task.kind).where(
            Task.rule == "trade_in_km"
        )
    )
    assert set(made) == {
        (f"km:{cars[n].id}", cars[n].store_id, cars[n].owner_id, TRADE_IN) for n in called
    }
    assert rules.generate_tasks()["trade_in"] == 0  # the windows are covered
