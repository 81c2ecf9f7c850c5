"""Tasks: rules fire once per cause, the same-day rule at closing time, calls and approvals."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm import leads as lead_svc
from crm import rules
from crm import tasks as svc
from crm.models import (
    NO_ANSWER,
    PHONE,
    POST_SERVICE,
    REACHED,
    Lead,
    Task,
)
from portal.errors import NotAllowed, ValidationError
from portal.extensions import db
from portal.models import ServiceRecord, Store, User
from portal.timeutil import now, set_clock


def _lead(store, phone="13655550001", timeframe="7d"):
    return lead_svc.capture(
        lead_svc.Inquiry(name="潜客", phone=phone, store=store, source=PHONE, timeframe=timeframe)
    ).lead


def _contacted(advisor, lead, at):
    """Contact the lead at a given time (its first-contact task done then)."""
    lead_svc.mark_contacted(advisor, lead)
    lead.first_contact_at = at
    for task in lead.tasks:
        task.done_at = at
    db.session.commit()


def _threads(app, n, work) -> list[str]:
    results: list[str] = []
    gate = threading.Barrier(n)

    def one(i):
        with app.app_context():
            gate.wait()
            try:
                results.append(str(work(i)))
                db.session.commit()
            except Exception as exc:  # noqa: BLE001  (reported, and the test fails on it)
                db.session.rollback()
                results.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _made(counts: dict[str, int]) -> dict[str, int]:
    """The follow-up and post-service counts (the lifecycle rules have their own tests)."""
    assert not any(counts[k] for k in ("renewal", "maintenance_due", "trade_in")), counts
    return {"follow_up": counts["follow_up"], "post_service": counts["post_service"]}


# -- rules -----------------------------------------------------------------------------------


def test_follow_up_cadence_by_grade_creates_one_task_when_due(f, clock):
    store = f.store()
    advisor = f.advisor(store)
    hot = _lead(store, "13655550001", "7d")  # grade H: every 2 days
    warm = _lead(store, "13655550002", "30d")  # grade B: every 7 days
    contacted = clock.now - timedelta(days=3)
    _contacted(advisor, hot, contacted)
    _contacted(advisor, warm, contacted)

    assert _made(rules.generate_tasks()) == {"follow_up": 1, "post_service": 0}
    task = db.session.scalar(select(Task).where(Task.rule == "follow_up_H"))
    assert task.lead_id == hot.id and task.owner_id == advisor.id and task.status == "open"
    assert task.kind == "follow_up" and task.customer_id == hot.customer_id
    # A second run the same day creates nothing, and neither does the next while it is open.
    assert _made(rules.generate_tasks()) == {"follow_up": 0, "post_service": 0}
    clock.advance(days=5)
    assert _made(rules.generate_tasks()) == {"follow_up": 1, "post_service": 0}  # B's week is up
    assert db.session.scalar(select(func.count()).where(Task.lead_id == hot.id)) == 2


def test_a_store_tunes_the_cadence_and_can_switch_a_rule_off(f, clock):
    store = f.store()
    advisor = f.advisor(store)
    lead = _lead(store, timeframe="90d")  # grade C: 14 days by default
    _contacted(advisor, lead, clock.now - timedelta(days=5))
    assert rules.generate_tasks()["follow_up"] == 0
    rules.set_rule(store.id, "follow_up_C", 3, True)
    db.session.commit()
    assert rules.generate_tasks()["follow_up"] == 1
    db.session.execute(Task.__table__.delete().where(Task.rule.is_not(None)))
    rules.set_rule(store.id, "follow_up_C", 3, False)
    db.session.commit()
    assert rules.generate_tasks()["follow_up"] == 0


def _finished_job(f, store, owner, advisor, at):
    vehicle = f.vehicle(owner)
    record = ServiceRecord(
        vehicle_id=vehicle.id, store_id=store.id, advisor_id=advisor.id, mileage_km=1000
    )
    record.completed_at = at
    db.session.add(record)
    db.session.commit()
    return record


def test_post_service_call_three_days_after_a_finished_job_goes_to_the_call_centre(f, clock):
    store = f.store()
    advisor = f.advisor(store)
    agent = f.agent(store)
    owner = f.owner(store)
    _finished_job(f, store, owner, advisor, clock.now - timedelta(days=1))
    assert rules.generate_tasks()["post_service"] == 0  # not yet
    clock.advance(days=2)
    assert rules.generate_tasks()["post_service"] == 1
    task = db.session.scalar(select(Task).where(Task.kind == POST_SERVICE))
    assert task.owner_id == agent.id and task.customer_id == owner.id and task.lead_id is None
    clock.advance(days=1)
    assert rules.generate_tasks()["post_service"] == 0


def test_rules_fire_once_per_cause_with_many_workers_at_once(app, f, clock):
    store = f.store()
    advisor = f.advisor(store)
    leads = [_lead(store, f"1365555{i:04d}") for i in range(6)]
    for lead in leads:
        _contacted(advisor, lead, clock.now - timedelta(days=3))
    for _ in range(4):
        _finished_job(f, store, f.owner(store), advisor, clock.now - timedelta(days=4))
    store_id = store.id

    def work(i):
        shop = db.session.get(Store, store_id)
        at = now()
        return rules.follow_ups(shop, at) + rules.post_service_calls(shop, at)

    results = _threads(app, 8, work)
    db.session.rollback()
    assert all(r.isdigit() for r in results), results
    assert sum(int(r) for r in results) == 10
    assert db.session.scalar(select(func.count(Task.id)).where(Task.rule.is_not(None))) == 10


# -- the same-day rule -----------------------------------------------------------------------


def test_open_tasks_due_today_are_flagged_at_closing_and_lead_tomorrows_list(f):
    store = f.store()  # Asia/Shanghai, closes at 18:00
    advisor = f.advisor(store)
    owner = f.owner(store)
    morning = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    clock = {"now": morning}
    set_clock(lambda: clock["now"])
    try:
        today = svc.add_task(
            advisor, owner, "follow_up", morning + timedelta(hours=2),
            store_id=store.id, owner_id=advisor.id,
        )  # fmt: skip
        late = svc.add_task(
            advisor, owner, "follow_up", morning + timedelta(hours=13),  # 23:00 today
            store_id=store.id, owner_id=advisor.id,
        )  # fmt: skip
        tomorrow = svc.add_task(
            advisor, owner, "renewal", morning + timedelta(hours=24),  # 09:00 tomorrow
            store_id=store.id, owner_id=advisor.id, priority=1,
        )  # fmt: skip
        done = svc.add_task(
            advisor, owner, "follow_up", morning + timedelta(hours=1),
            store_id=store.id, owner_id=advisor.id,
        )  # fmt: skip
        svc.log_call(advisor, done, REACHED)
        db.session.commit()

        clock["now"] = datetime(2026, 12, 3, 9, 59, tzinfo=UTC)  # 17:59: still open
        assert rules.close_day() == {"flagged": 0}
        clock["now"] = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # 18:00: closing time
        assert rules.close_day() == {"flagged": 2}
        assert rules.close_day() == {"flagged": 0}  # a second run flags nothing
        db.session.expire_all()
        assert today.overdue_at is not None and late.overdue_at is not None
        assert tomorrow.overdue_at is None and done.overdue_at is None

        clock["now"] = datetime(2026, 12, 3, 16, 30, tzinfo=UTC)  # 00:30 the next day
        assert rules.close_day() == {"flagged": 0}  # before tomorrow's closing
        ids = [t.id for t in svc.my_open_tasks(advisor)]
        assert ids == [today.id, late.id, tomorrow.id]  # yesterday's leftovers on top
    finally:
        set_clock(None)


# -- calls and approvals ---------------------------------------------------------------------


def test_no_answer_keeps_the_task_open_and_clearing_it_needs_a_manager(f, clock):
    store = f.store()
    advisor = f.advisor(store)
    manager = f.manager(store)
    lead = _lead(store)
    task = lead.tasks[0]
    svc.log_call(advisor, task, NO_ANSWER, "关机")
    assert task.status == "open" and task.attempts == 1 and task.due_at > clock.now
    with pytest.raises(ValidationError):
        svc.ask(advisor, task, "clear", "")  # a reason is required
    svc.ask(advisor, task, "clear", "打了三次都没人接")
    db.session.commit()
    assert task.status == "awaiting"
    with pytest.raises(NotAllowed):
        svc.decide(advisor, task, approve=True)
    svc.decide(manager, task, approve=True)
    db.session.commit()
    assert task.status == "done" and task.outcome == "cleared" and task.decided_by_id == manager.id


def test_call_back_closes_the_call_and_plans_the_next_one(f, clock):
    store = f.store()
    advisor = f.advisor(store)
    lead = _lead(store)
    task = lead.tasks[0]
    with pytest.raises(ValidationError):
        svc.log_call(advisor, task, "call_back", when=clock.now - timedelta(hours=1))
    nxt = svc.log_call(advisor, task, "call_back", "明天下午", when=clock.now + timedelta(days=1))
    db.session.commit()
    assert task.status == "done" and task.next_task_id == nxt.id
    assert nxt.owner_id == advisor.id and nxt.due_at == clock.now + timedelta(days=1)
    assert db.session.get(Lead, lead.id).first_contact_at == clock.now


def test_a_colleague_cannot_work_anothers_task(f):
    store = f.store()
    first = f.advisor(store)
    lead = _lead(store)
    task = lead.tasks[0]
    assert task.owner_id == first.id
    with pytest.raises(NotAllowed):
        svc.log_call(f.advisor(store), task, REACHED)
    assert task.status == "open" and task.attempts == 0


def test_two_managers_deciding_at_once_one_wins(app, f):
    store = f.store()
    advisor = f.advisor(store)
    managers = [f.manager(store) for _ in range(4)]
    lead = _lead(store)
    svc.ask(advisor, lead.tasks[0], "cancel", "客户已在别家买车")
    db.session.commit()
    task_id, ids = lead.tasks[0].id, [m.id for m in managers]

    def work(i):
        svc.decide(db.session.get(User, ids[i]), db.session.get(Task, task_id), approve=i % 2 == 0)
        return "won"

    results = _threads(app, 4, work)
    db.session.rollback()
    assert results.count("won") == 1, results
    task = db.session.get(Task, task_id)
    assert task.decided_by_id in ids
    assert task.status == ("cancelled" if ids.index(task.decided_by_id) % 2 == 0 else "open")
