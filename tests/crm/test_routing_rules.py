"""Routing on constructed rosters and rules with known answers, and the escalation of missed
first contacts on a controlled clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import func, select

from crm import escalation, routing
from crm import leads as svc
from crm.models import PHONE, PORTAL, Lead, Task
from crm.staffing_models import DutyShift, RoutingRule, TaskEscalation
from portal.extensions import db as _db
from portal.models import Notification

# Monday 2026-11-30, 10:00 and 19:00 in Shanghai (UTC+8).
MONDAY_10 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
MONDAY_19 = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)


def _shift(store, advisor, start, end, weekday=0):
    _db.session.add(
        DutyShift(
            store_id=store.id, advisor_id=advisor.id, weekday=weekday,
            start_minute=start * 60, end_minute=end * 60,
        )
    )  # fmt: skip


def _roster(f, db):
    """a and b on duty Monday 9-18, c on Monday 18-22."""
    store = f.store()
    a, b, c = f.advisor(store), f.advisor(store), f.advisor(store)
    _shift(store, a, 9, 18)
    _shift(store, b, 9, 18)
    _shift(store, c, 18, 22)
    db.session.commit()
    return store, a, b, c


def _capture(store, phone, source=PORTAL, model=""):
    return svc.capture(
        svc.Inquiry(name="客户", phone=phone, store=store, source=source, model_interest=model)
    ).lead


def test_round_robin_takes_only_the_advisors_on_duty_now(f, db, clock):
    store, a, b, c = _roster(f, db)
    clock.now = MONDAY_10
    day = [_capture(store, f"1390000030{i}").advisor_id for i in range(4)]
    assert sorted(day) == sorted([a.id, b.id, a.id, b.id])
    clock.now = MONDAY_19
    evening = [_capture(store, f"1390000031{i}").advisor_id for i in range(3)]
    assert evening == [c.id] * 3
    clock.now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday: nobody rostered, all take turns
    assert routing.on_duty(store) == []
    assert {_capture(store, f"1390000032{i}").advisor_id for i in range(3)} == {a.id, b.id, c.id}


def test_rules_in_order_by_source_and_model_line_and_off_duty_rules_are_skipped(f, db, clock):
    store, a, b, c = _roster(f, db)
    db.session.add_all(
        [
            RoutingRule(store_id=store.id, position=1, source=PHONE, advisor_id=c.id),
            RoutingRule(store_id=store.id, position=2, model_contains="tiguan", advisor_id=b.id),
        ]
    )
    db.session.commit()
    clock.now = MONDAY_19  # c on duty
    assert _capture(store, "13900000401", source=PHONE).advisor_id == c.id
    clock.now = MONDAY_10  # c off duty: the phone rule is skipped, the ring answers
    assert _capture(store, "13900000402", source=PHONE).advisor_id in (a.id, b.id)
    assert _capture(store, "13900000403", model="大众 Tiguan L").advisor_id == b.id
    assert _capture(store, "13900000404", model="途观L Tiguan").advisor_id == b.id
    b.is_active = False  # an inactive advisor's rule never takes a lead
    db.session.commit()
    assert _capture(store, "13900000405", model="Tiguan").advisor_id == a.id


def test_the_advisor_of_record_comes_before_any_rule(f, db, clock):
    store, a, b, c = _roster(f, db)
    db.session.add(RoutingRule(store_id=store.id, position=1, source=PORTAL, advisor_id=b.id))
    customer = f.owner(store, phone="13900000501", advisor_id=c.id)
    db.session.commit()
    clock.now = MONDAY_10
    assert _capture(store, customer.phone).advisor_id == c.id


def test_a_missed_first_contact_tells_the_managers_then_goes_to_the_next_advisor(app, f, db, clock):
    store, a, b, c = _roster(f, db)
    boss = f.manager(store)
    clock.now = MONDAY_10
    lead = _capture(store, "13900000601")
    first, lead_id = lead.advisor_id, lead.id
    contacted = _capture(store, "13900000602")
    svc.mark_contacted(contacted.advisor, contacted)
    db.session.commit()
    clock.advance(minutes=4)
    assert escalation.escalate_missed() == {"managers_told": 0, "handed_on": 0}
    clock.advance(minutes=2)  # 6 minutes: past due
    assert escalation.escalate_missed() == {"managers_told": 1, "handed_on": 0}
    assert escalation.escalate_missed() == {"managers_told": 0, "handed_on": 0}  # once only
    told = db.session.scalars(select(Notification.text).where(Notification.user_id == boss.id))
    assert len(told.all()) == 1
    clock.advance(minutes=10)  # 16 minutes: past due + 10
    assert escalation.escalate_missed() == {"managers_told": 0, "handed_on": 1}
    db.session.expire_all()
    lead = db.session.get(Lead, lead_id)
    task = db.session.scalar(select(Task).where(Task.lead_id == lead_id))
    assert lead.advisor_id != first and lead.advisor_id in (a.id, b.id)  # on duty, not c
    assert task.owner_id == lead.advisor_id and task.due_at > clock.now
    assert db.session.scalar(
        select(func.count()).select_from(Notification).where(
            Notification.user_id == lead.advisor_id
        )
    ) >= 1  # fmt: skip
    clock.advance(minutes=60)
    assert escalation.escalate_missed() == {"managers_told": 0, "handed_on": 0}
    levels = db.session.scalars(select(TaskEscalation.level).order_by(TaskEscalation.level))
    assert levels.all() == [1, 2]


def test_workers_escalating_at_once_tell_the_managers_once(app, f, db, clock):
    store, a, b, c = _roster(f, db)
    boss_id = f.manager(store).id
    clock.now = MONDAY_10
    for i in range(5):
        _capture(store, f"1390000070{i}")
    db.session.commit()
    clock.advance(minutes=6)
    results = []
    gate = threading.Barrier(4)

    def one():
        with app.app_context():
            gate.wait()
            try:
                results.append(escalation.escalate_missed()["managers_told"])
            except Exception as exc:  # noqa: BLE001  (reported, and the test fails on it)
                _db.session.rollback()
                results.append(repr(exc))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.rollback()
    assert sum(results) == 5, results
    sent = select(func.count()).select_from(Notification).where(Notification.user_id == boss_id)
    assert db.session.scalar(sent) == 5


def test_a_rule_by_language_sends_english_speakers_to_the_advisor_who_speaks_it(f, db, clock):
    from crm import roster

    clock.now = MONDAY_10
    store = f.store()
    manager, english, other = f.manager(store), f.advisor(store), f.advisor(store)
    db.session.commit()
    roster.add_rule(manager, english.id, "", "", "en")
    db.session.commit()
    written = svc.capture(
        svc.Inquiry(name="Ms Lee", phone="13900000501", store=store, source=PORTAL, language="en")
    ).lead
    account = f.owner(store, locale="en", phone="13900000502")
    by_account = _capture(store, "13900000502")
    chinese = [_capture(store, f"1390000051{i}").advisor_id for i in range(3)]
    assert written.advisor_id == english.id and by_account.customer_id == account.id
    assert by_account.advisor_id == english.id  # the account's language when the form says none
    assert english.id in chinese and other.id in chinese  # the rule leaves them to the ring


def test_a_rule_with_an_unknown_language_is_refused_and_nothing_added(f, db):
    import pytest

    from crm import roster
    from portal.errors import ValidationError

    store = f.store()
    manager, advisor = f.manager(store), f.advisor(store)
    db.session.commit()
    for language in ("fr", "zh", "x" * 50):
        with pytest.raises(ValidationError) as err:
            roster.add_rule(manager, advisor.id, "", "", language)
        assert err.value.field == "language"
    with pytest.raises(ValidationError):
        roster.add_rule(manager, advisor.id, "", "", "")  # names nothing at all
    assert db.session.scalar(select(func.count(RoutingRule.id))) == 0
