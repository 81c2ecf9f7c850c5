"""The lifecycle rules: renewal calls, maintenance due but not booked, and trade-in calls."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from crm import lifecycle, rules, trade_ins
from crm.models import MAINTENANCE_DUE, RENEWAL, TRADE_IN, Task
from portal.extensions import db
from portal.models import DueEvent, InsurancePolicy, Loan, MileageReading, Store
from portal.timeutil import now
from tests.threads import at_once

# Thursday 3 December 2026, 10:00 in Shanghai: the store's today is 2026-12-03.
MORNING = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
TODAY = date(2026, 12, 3)


@pytest.fixture
def morning(clock):
    clock.now = MORNING
    return clock


def _tasks(rule: str | None = None) -> list[Task]:
    stmt = select(Task).where(Task.rule.is_not(None)).order_by(Task.id)
    if rule:
        stmt = stmt.where(Task.rule == rule)
    return list(db.session.scalars(stmt))


def _policy(store, owner, vehicle, ends_on: date, number: str) -> InsurancePolicy:
    policy = InsurancePolicy(
        customer_id=owner.id,
        vehicle_id=vehicle.id if vehicle else None,
        store_id=store.id,
        insurer="人保",
        policy_number=number,
        coverage="combined",
        premium_fen=480000,
        starts_on=ends_on - timedelta(days=365),
        ends_on=ends_on,
    )
    db.session.add(policy)
    db.session.commit()
    return policy


def _loan(store, owner, start: date, months: int, status: str = "active") -> Loan:
    loan = Loan(
        customer_id=owner.id,
        store_id=store.id,
        lender="招商银行",
        principal_fen=10_000_000,
        annual_rate_bp=399,
        term_months=months,
        start_date=start,
        status=status,
    )
    db.session.add(loan)
    db.session.commit()
    return loan


def _due(vehicle, opened_at: datetime, code: str = "engine_oil") -> DueEvent:
    event = DueEvent(
        vehicle_id=vehicle.id,
        code=code,
        brand=vehicle.brand,
        series=vehicle.series,
        due_key=f"{code}|{opened_at.date().isoformat()}",
        status="open",
        opened_at=opened_at,
    )
    db.session.add(event)
    db.session.commit()
    return event


def _reading(vehicle, km: int, at: datetime) -> None:
    db.session.add(MileageReading(vehicle_id=vehicle.id, km=km, source="owner", recorded_at=at))
    vehicle.current_km = max(vehicle.current_km, km)
    db.session.commit()


def _zh(task: Task) -> str:
    with force_locale("zh_CN"):
        return lifecycle.reason(task)


# -- renewal calls ---------------------------------------------------------------------------


def test_a_policy_ending_in_thirty_days_gets_one_renewal_call_with_its_date(f, morning):
    store = f.store()
    advisor = f.advisor(store)
    owner = f.owner(store, advisor_id=advisor.id)
    car = f.vehicle(owner)
    due = _policy(store, owner, car, date(2027, 1, 1), "P-DUE")  # 29 days ahead
    _policy(store, f.owner(store), None, date(2027, 6, 1), "P-FAR")  # far: nothing
    renewed_owner = f.owner(store)
    renewed_car = f.vehicle(renewed_owner)
    _policy(store, renewed_owner, renewed_car, date(2026, 12, 31), "P-OLD")
    _policy(store, renewed_owner, renewed_car, date(2027, 12, 31), "P-NEW")  # already renewed

    assert rules.generate_tasks()["renewal"] == 1
    (task,) = _tasks()
    assert task.kind == RENEWAL and task.rule == "renewal_policy"
    assert task.customer_id == owner.id and task.owner_id == advisor.id  # no call centre here
    assert task.cause == f"policy:{due.id}:2027-01-01"
    assert _zh(task) == "保单 1月1日 到期"
    with force_locale("en"):
        assert lifecycle.reason(task) == "Insurance policy ends Jan 1"
    assert rules.generate_tasks()["renewal"] == 0  # a second run the same day
    morning.advance(days=1)
    assert rules.generate_tasks()["renewal"] == 0  # nor the next day: once per cause


def test_renewal_calls_go_to_the_call_centre_when_the_store_has_one(f, morning):
    store = f.store()
    agent = f.agent(store)
    owner = f.owner(store, advisor_id=f.advisor(store).id)
    _policy(store, owner, None, date(2027, 1, 1), "P-AGENT")
    assert lifecycle.policy_renewals(store, now()) == 1
    assert _tasks()[0].owner_id == agent.id


def test_a_loan_ending_is_called_about_as_the_store_tuned_it(f, morning):
    store = f.store()
    advisor = f.advisor(store)
    owner = f.owner(store, advisor_id=advisor.id)
    loan = _loan(store, owner, date(2024, 1, 15), 36)  # ends 2027-01-15, 43 days ahead
    _loan(store, f.owner(store), date(2024, 1, 15), 36, status="paid_off")
    assert loan.ends_on == date(2027, 1, 15)
    assert lifecycle.loan_renewals(store, now()) == 0  # 30 days by default: not yet
    rules.set_rule(store.id, "renewal_loan", 45, True)
    db.session.commit()
    assert lifecycle.loan_renewals(store, now()) == 1  # the paid-off loan makes nothing
    (task,) = _tasks("renewal_loan")
    assert task.owner_id == advisor.id and _zh(task) == "车贷 1月15日 到期"
    db.session.execute(Task.__table__.delete())
    rules.set_rule(store.id, "renewal_loan", 45, False)
    db.session.commit()
    assert lifecycle.loan_renewals(store, now()) == 0  # switched off


# -- maintenance due but not booked ----------------------------------------------------------


def test_maintenance_due_three_days_and_not_booked_gets_one_call(f, morning):
    store = f.store()
    advisor = f.advisor(store)
    waiting = f.owner(store, advisor_id=advisor.id)
    car = f.vehicle(waiting)
    _due(car, MORNING - timedelta(days=4))
    _due(car, MORNING - timedelta(days=4), code="air_filter")  # the same car: one call
    booked_owner = f.owner(store)
    booked_car = f.vehicle(booked_owner)
    _due(booked_car, MORNING - timedelta(days=4))
    f.booking(booked_owner, store, vehicle=booked_car, types=("maintenance",))
    fresh = f.vehicle(f.owner(store))
    _due(fresh, MORNING - timedelta(hours=1))  # due today: give the owner time to book
    old = f.vehicle(f.owner(store))
    _due(old, MORNING - timedelta(days=40))  # long ago: outside the window

    assert rules.generate_tasks()["maintenance_due"] == 1
    (task,) = _tasks()
    assert task.kind == MAINTENANCE_DUE and task.customer_id == waiting.id
    assert task.owner_id == advisor.id
    assert _zh(task) == "保养 11月29日 到期，尚未预约"
    assert rules.generate_tasks()["maintenance_due"] == 0
    morning.advance(days=1)
    assert rules.generate_tasks()["maintenance_due"] == 0  # the call is still live


# -- trade-in calls for the sales side -------------------------------------------------------


def test_trade_in_calls_for_age_warranty_and_mileage_go_to_the_sales_advisor(f, morning):
    store = f.store()
    sales = f.advisor(store)

    def car(**kw):
        return f.vehicle(f.owner(store, advisor_id=sales.id), **kw)

    three = car(purchase_date=date(2024, 1, 1), warranty_ends_on=date(2029, 1, 1))
    five = car(purchase_date=date(2022, 1, 1), warranty_ends_on=date(2027, 6, 1))
    warranty = car(purchase_date=date(2024, 6, 1), warranty_ends_on=date(2027, 1, 30))
    driven = car(purchase_date=date(2025, 1, 10), current_km=99_000)
    _reading(driven, 100_400, MORNING - timedelta(days=2))
    long_driven = car(purchase_date=date(2020, 8, 10), current_km=150_000)
    _reading(long_driven, 120_000, MORNING - timedelta(days=90))
    _reading(long_driven, 150_000, MORNING - timedelta(days=2))  # passed 100,000 long ago
    far = car(purchase_date=date(2025, 6, 1), current_km=20_000)  # far from every threshold
    _reading(far, 20_000, MORNING - timedelta(days=2))

    made = rules.generate_tasks()
    assert made["trade_in"] == 4, made
    tasks = {t.rule: t for t in _tasks()}
    assert set(tasks) == {"trade_in_3y", "trade_in_5y", "trade_in_warranty", "trade_in_km"}
    assert all(t.kind == TRADE_IN and t.owner_id == sales.id for t in tasks.values())
    assert tasks["trade_in_3y"].customer_id == three.owner_id
    assert tasks["trade_in_5y"].customer_id == five.owner_id
    assert tasks["trade_in_warranty"].customer_id == warranty.owner_id
    assert tasks["trade_in_km"].customer_id == driven.owner_id
    assert _zh(tasks["trade_in_3y"]) == "车龄 1月1日 满 3 年"
    assert _zh(tasks["trade_in_warranty"]) == "质保 1月30日 到期"
    assert _zh(tasks["trade_in_km"]) == "行驶里程已超过 10 万公里"
    assert rules.generate_tasks()["trade_in"] == 0
    assert not any(t.customer_id in (far.owner_id, long_driven.owner_id) for t in _tasks())


def test_a_new_car_gets_the_statutory_warranty_from_its_purchase(f):
    car = f.vehicle(f.owner(f.store()), purchase_date=date(2024, 2, 29))
    assert car.warranty_ends_on == date(2027, 2, 28)


def test_a_store_can_switch_a_trade_in_rule_off_and_move_its_day(f, morning):
    store = f.store()
    f.vehicle(f.owner(store), purchase_date=date(2024, 1, 20), warranty_ends_on=date(2030, 1, 1))
    assert trade_ins.car_ages(store, now()) == 0  # turns 3 in 48 days; 30 by default
    rules.set_rule(store.id, "trade_in_3y", 50, False)
    db.session.commit()
    assert trade_ins.car_ages(store, now()) == 0  # off
    rules.set_rule(store.id, "trade_in_3y", 50, True)
    db.session.commit()
    assert trade_ins.car_ages(store, now()) == 1


# -- once per cause under concurrent workers -------------------------------------------------


def test_lifecycle_rules_fire_once_per_cause_with_many_workers_at_once(app, f, morning):
    store = f.store()
    advisor = f.advisor(store)
    for i in range(3):
        owner = f.owner(store, advisor_id=advisor.id)
        car = f.vehicle(owner, purchase_date=date(2023, 12, 28 + i))  # turns 3: 3 calls
        _policy(store, owner, car, date(2027, 1, 1), f"P-RACE-{i}")  # 3 renewal calls
        _due(car, MORNING - timedelta(days=4))  # 3 maintenance calls
    store_id = store.id

    def work():
        shop = db.session.get(Store, store_id)
        return sum(lifecycle.run(shop, now()).values())

    results = at_once(app, work, 6)
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 9
    assert db.session.scalar(select(func.count(Task.id)).where(Task.rule.is_not(None))) == 9


# -- the 100,000 km rule ----------------------------------------------------------------------

# The first run's window (the rule's default 1 day ago, a week of local days in Shanghai):
# 26 November 00:00 through 3 December 00:00, store time.
KM_START = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
KM_END = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)


def _passed_in_window_as_before(store) -> set[int]:
    """The cars the rule called about before it probed car by car: the window's readings at or
    over 100,000 km of the store's cars with none such before the window (read through the
    readings' time index, the whole group's readings in the window)."""
    from sqlalchemy.orm import aliased

    from portal.models import Vehicle

    earlier = aliased(MileageReading)
    passed_before = (
        select(earlier.id)
        .where(earlier.vehicle_id == MileageReading.vehicle_id, earlier.km >= 100_000)
        .where(earlier.recorded_at < KM_START)
        .exists()
    )
    stmt = (
        select(Vehicle.id)
        .join(MileageReading, MileageReading.vehicle_id == Vehicle.id)
        .where(Vehicle.store_id == store.id)
        .where(MileageReading.recorded_at >= KM_START, MileageReading.recorded_at < KM_END)
        .where(MileageReading.km >= 100_000, ~passed_before)
    )
    return set(db.session.scalars(stmt))


def test_the_km_rule_calls_about_the_same_cars_as_before_and_only_its_stores(f, morning):
    store, other = f.store(), f.store()
    second = timedelta(seconds=1)
    made = {}

    def car(name, *readings, at=store):
        vehicle = f.vehicle(f.owner(at), current_km=0)
        for km, when in readings:
            _reading(vehicle, km, when)
        made[name] = vehicle
        return vehicle

    car(
        "in window", (99_000, KM_START - timedelta(days=30)), (100_400, MORNING - timedelta(days=2))
    )
    car("exactly 100,000 at the start", (100_000, KM_START))
    car("twice in window", (101_000, KM_START + timedelta(days=1)), (102_000, KM_END - second))
    car("passed before", (100_000, KM_START - second), (120_000, KM_START + timedelta(days=2)))
    car(
        "passed long ago",
        (120_000, MORNING - timedelta(days=90)),
        (150_000, MORNING - timedelta(days=2)),
    )
    car("under", (99_999, MORNING - timedelta(days=2)))
    car("passed today", (100_500, KM_END))  # after the window: tomorrow's run
    car("no readings")
    car("other store's", (100_400, MORNING - timedelta(days=2)), at=other)
    db.session.commit()

    expected = {"in window", "exactly 100,000 at the start", "twice in window"}
    assert _passed_in_window_as_before(store) == {made[n].id for n in expected}

    assert trade_ins.mileage_passed(store, now()) == 3
    db.session.commit()
    tasks = _tasks("trade_in_km")
    assert sorted(t.cause for t in tasks) == sorted(f"km:{made[n].id}" for n in expected)
    assert {t.customer_id for t in tasks} == {made[n].owner_id for n in expected}
    assert all(t.store_id == store.id for t in tasks)
    assert trade_ins.mileage_passed(store, now()) == 0  # the window is covered

    # The other store's run makes its own car's call, and only that.
    assert trade_ins.mileage_passed(other, now()) == 1
    db.session.commit()
    theirs = made["other store's"].id
    assert {t.cause for t in _tasks("trade_in_km")} - {t.cause for t in tasks} == {f"km:{theirs}"}
