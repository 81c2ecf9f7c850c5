"""The handoff to the showroom: invitations, reception check-in (one arrival under a race), the
no-show loop on a controlled clock, tomorrow's plan and the daily activity report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm import activity, invitations
from crm import leads as lead_svc
from crm import tasks as task_svc
from crm.models import NO_ANSWER, NO_SHOW, PHONE, REACHED, Lead, LeadEvent, Task
from crm.showroom_models import Invitation
from portal.errors import Conflict, NotAllowed, ValidationError
from portal.extensions import db
from portal.models import OutboxMessage, Store, User
from portal.worker import jobs
from tests.crm.test_tasks import _threads

MORNING = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Thursday
AFTERNOON = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


def _lead(store, phone="13655550001", source=PHONE):
    return lead_svc.capture(
        lead_svc.Inquiry(name="王先生", phone=phone, store=store, source=source, timeframe="7d")
    ).lead


@pytest.fixture
def desk(f, clock):
    clock.now = MORNING
    store = f.store()
    routed = f.advisor(store, name="刘顾问")  # the round robin gives new leads to this one
    named = f.advisor(store, name="陈顾问")
    agent = f.agent(store, name="邀约专员")
    reception = f.manager(store, name="前台经理")
    return store, routed, named, agent, reception


def _outbox_to(user) -> int:
    return db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.user_id == user.id, OutboxMessage.kind == "showroom"
        )
    )


def test_an_agent_invites_a_lead_to_meet_a_named_salesperson_who_is_told(desk):
    store, routed, named, agent, _reception = desk
    lead = _lead(store)
    inv = invitations.invite(agent, lead, AFTERNOON, kind="visit", advisor=named, note="看SUV")
    db.session.commit()
    assert (inv.status, inv.advisor_id, inv.agent_id) == ("invited", named.id, agent.id)
    assert _outbox_to(named) == 1 and _outbox_to(routed) == 0
    kinds = db.session.scalars(select(LeadEvent.kind).where(LeadEvent.lead_id == lead.id)).all()
    assert "invited" in kinds


def test_a_second_live_invitation_of_the_same_lead_is_refused(desk):
    store, _routed, named, agent, _reception = desk
    lead = _lead(store)
    invitations.invite(agent, lead, AFTERNOON, kind="visit", advisor=named)
    db.session.commit()
    with pytest.raises(Conflict):
        invitations.invite(agent, lead, AFTERNOON + timedelta(hours=1), kind="visit", advisor=None)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Invitation.id))) == 1


@pytest.mark.parametrize(
    "when, advisor_from",
    [
        (MORNING - timedelta(minutes=1), "named"),  # in the past
        (MORNING + timedelta(days=31), "named"),  # too far ahead
        (None, "named"),
        (AFTERNOON, "other_store"),  # not a salesperson of this store
    ],
)
def test_bad_invitations_are_refused_and_write_nothing(f, desk, when, advisor_from):
    store, _routed, named, agent, _reception = desk
    lead = _lead(store)
    advisor = named if advisor_from == "named" else f.advisor(f.store())
    with pytest.raises(ValidationError):
        invitations.invite(agent, lead, when, kind="visit", advisor=advisor)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Invitation.id))) == 0


def test_another_stores_agent_cannot_invite(f, desk):
    store, _routed, named, _agent, _reception = desk
    lead = _lead(store)
    with pytest.raises(NotAllowed):
        invitations.invite(f.agent(f.store()), lead, AFTERNOON, kind="visit", advisor=None)


def test_reception_finds_the_visitor_by_phone_or_plate_and_checks_them_in(f, desk, clock):
    store, routed, named, agent, reception = desk
    lead = _lead(store)
    car = f.vehicle(lead.customer)
    inv = invitations.invite(agent, lead, AFTERNOON, kind="test_drive", advisor=named)
    db.session.commit()
    assert lead.advisor_id == routed.id  # the routing rule's advisor before the visit
    clock.now = AFTERNOON - timedelta(minutes=10)
    start, end = datetime(2026, 12, 2, 16, tzinfo=UTC), datetime(2026, 12, 3, 16, tzinfo=UTC)
    assert invitations.find_waiting(reception, "+86 136 5555 0001", start, end) == [inv]
    assert invitations.find_waiting(reception, car.plate.lower(), start, end) == [inv]
    assert invitations.find_waiting(reception, "13999999999", start, end) == []
    invitations.check_in(reception, inv)
    db.session.commit()
    db.session.refresh(lead)
    assert inv.status == "arrived" and inv.arrived_at == clock.now
    assert inv.checked_in_by_id == reception.id
    assert lead.advisor_id == named.id and lead.stage == "visited"
    assert all(t.owner_id == named.id for t in lead.tasks if t.done_at is None)
    assert _outbox_to(named) == 2  # the booking, then "has arrived"
    assert _outbox_to(agent) == 1
    assert invitations.find_waiting(reception, "13655550001", start, end) == []


def test_without_a_named_salesperson_the_lead_keeps_its_advisor(desk):
    store, routed, _named, agent, reception = desk
    lead = _lead(store)
    inv = invitations.invite(agent, lead, AFTERNOON, kind="visit", advisor=None)
    db.session.commit()
    invitations.check_in(reception, inv)
    db.session.commit()
    assert inv.advisor_id == routed.id and lead.advisor_id == routed.id
    assert _outbox_to(routed) == 2


def test_an_agent_cannot_check_in_and_nothing_changes(desk):
    store, _routed, named, agent, _reception = desk
    inv = invitations.invite(agent, _lead(store), AFTERNOON, kind="visit", advisor=named)
    db.session.commit()
    with pytest.raises(NotAllowed):
        invitations.check_in(agent, inv)
    db.session.rollback()
    assert db.session.get(Invitation, inv.id).status == "invited"


def test_two_receptionists_checking_in_at_once_make_one_arrival(app, f, desk):
    store, _routed, named, agent, _reception = desk
    desks = [f.advisor(store) for _ in range(2)] + [f.manager(store) for _ in range(2)]
    lead = _lead(store)
    inv = invitations.invite(agent, lead, AFTERNOON, kind="visit", advisor=named)
    db.session.commit()
    inv_id, ids = inv.id, [u.id for u in desks]

    def work(i):
        invitations.check_in(db.session.get(User, ids[i]), db.session.get(Invitation, inv_id))
        return "arrived"

    results = _threads(app, 4, work)
    db.session.rollback()
    assert results.count("arrived") == 1, results
    assert sum("Conflict" in r for r in results) == 3, results
    inv = db.session.get(Invitation, inv_id)
    assert inv.status == "arrived" and inv.checked_in_by_id in ids
    arrivals = select(func.count(LeadEvent.id)).where(
        LeadEvent.lead_id == lead.id, LeadEvent.kind == "arrived"
    )
    assert db.session.scalar(arrivals) == 1
    assert _outbox_to(agent) == 1


# -- the no-show loop ------------------------------------------------------------------------


def test_a_no_show_goes_back_to_the_agents_queue_once(desk, clock):
    store, _routed, named, agent, reception = desk
    lead = _lead(store)
    inv = invitations.invite(agent, lead, AFTERNOON, kind="visit", advisor=named)
    db.session.commit()
    clock.now = AFTERNOON + invitations.NO_SHOW_AFTER - timedelta(minutes=1)
    assert invitations.mark_no_shows() == {"no_shows": 0}
    clock.now = AFTERNOON + invitations.NO_SHOW_AFTER + timedelta(minutes=1)
    assert invitations.mark_no_shows() == {"no_shows": 1}
    db.session.commit()
    assert invitations.mark_no_shows() == {"no_shows": 0}  # a second run makes nothing
    db.session.refresh(inv)
    assert inv.status == "no_show" and inv.missed_at == clock.now
    task = inv.recovery_task
    assert (task.kind, task.owner_id, task.lead_id, task.status) == (
        NO_SHOW,
        agent.id,
        lead.id,
        "open",
    )
    assert task_svc.queue(agent)[0].id == task.id  # at the top of the agent's queue
    with pytest.raises(Conflict):  # too late to check in: the call centre has it again
        invitations.check_in(reception, inv)
    db.session.rollback()
    # The agent calls and invites again: the loop closes with a new invitation.
    task_svc.log_call(agent, task, REACHED, "改约明天")
    again = invitations.invite(
        agent, lead, clock.now + timedelta(days=1), kind="visit", advisor=named
    )
    db.session.commit()
    assert again.status == "invited"


def test_the_no_show_job_runs_from_the_worker_and_many_workers_make_one_task(app, desk, clock):
    store, _routed, named, agent, _reception = desk
    ids = []
    for i in range(5):
        inv = invitations.invite(
            agent, _lead(store, f"1365555{i:04d}"), AFTERNOON, kind="visit", advisor=named
        )
        ids.append(inv.id)
    db.session.commit()
    clock.now = AFTERNOON + timedelta(hours=2)

    def work(_i):
        return invitations.mark_no_shows()["no_shows"]

    results = _threads(app, 4, work)
    db.session.rollback()
    assert all(r.isdigit() for r in results), results
    assert sum(int(r) for r in results) == 5
    made = select(func.count(Task.id)).where(Task.kind == NO_SHOW)
    assert db.session.scalar(made) == 5
    job = next(j for j in jobs.JOBS if j.name == "crm-no-shows")
    run = jobs.run_job(job, "w1")
    assert run.status == "ok" and run.result == "no_shows=0"


# -- tomorrow's plan -------------------------------------------------------------------------


def test_tomorrows_plan_puts_leftovers_first_then_tomorrows_work(f, desk, clock):
    store, routed, named, agent, _reception = desk
    customer = f.owner(store)
    tomorrow_9 = datetime(2026, 12, 4, 1, tzinfo=UTC)  # 09:00 local on the 4th
    add = task_svc.add_task
    later = add(routed, customer, "follow_up", tomorrow_9 + timedelta(hours=5), store_id=store.id,
                owner_id=routed.id)  # fmt: skip
    early = add(routed, customer, "follow_up", tomorrow_9, store_id=store.id, owner_id=routed.id)
    left = add(routed, customer, "renewal", MORNING, store_id=store.id, owner_id=routed.id)
    add(
        routed,
        customer,
        "renewal",
        tomorrow_9 + timedelta(days=1),
        store_id=store.id,
        owner_id=routed.id,
    )  # fmt: skip  (the day after: not tomorrow)
    add(routed, customer, "renewal", tomorrow_9, store_id=store.id, owner_id=named.id)
    inv = invitations.invite(agent, _lead(store), tomorrow_9 + timedelta(hours=2), kind="visit",
                             advisor=None)  # fmt: skip
    db.session.commit()
    assert inv.advisor_id == routed.id
    plan = activity.tomorrow_plan(routed, store, clock.now)
    assert plan.day == date(2026, 12, 4)
    first_call = inv.lead.tasks[0]  # the new lead's first contact, due this morning
    assert [t.id for t in plan.tasks] == [left.id, first_call.id, early.id, later.id]
    assert [i.id for i in plan.invitations] == [inv.id]
    assert [i.id for i in activity.tomorrow_plan(agent, store, clock.now).invitations] == [inv.id]


# -- the daily activity report ---------------------------------------------------------------


def test_the_daily_report_counts_what_each_person_logged(f, desk, clock):
    """A constructed day with a known answer, in the store's day (Shanghai), 2026-12-03."""
    store, routed, named, agent, reception = desk
    customer = f.owner(store)
    add = task_svc.add_task
    # The agent: three calls on the day (two on one task: no answer, then reached).
    t1 = add(agent, customer, "follow_up", MORNING, store_id=store.id, owner_id=agent.id)
    t2 = add(
        agent,
        customer,
        "follow_up",
        MORNING - timedelta(days=1),
        store_id=store.id,
        owner_id=agent.id,
    )  # fmt: skip  (yesterday's leftover)
    t3 = add(agent, customer, "follow_up", MORNING, store_id=store.id, owner_id=agent.id)
    db.session.commit()
    clock.now = MORNING + timedelta(minutes=5)
    task_svc.log_call(agent, t1, NO_ANSWER)
    task_svc.log_call(agent, t1, REACHED)  # on time
    task_svc.log_call(agent, t2, REACHED)  # late
    # Invitations: three booked today; one comes, one does not, one is for tomorrow.
    leads = [_lead(store, f"1365555{i:04d}") for i in range(3)]
    came = invitations.invite(agent, leads[0], AFTERNOON, kind="visit", advisor=named)
    invitations.invite(agent, leads[1], AFTERNOON, kind="visit", advisor=named)
    invitations.invite(agent, leads[2], AFTERNOON + timedelta(days=1), kind="visit", advisor=None)
    db.session.commit()
    clock.now = AFTERNOON
    invitations.check_in(reception, came)
    clock.now = AFTERNOON + timedelta(hours=2)
    invitations.mark_no_shows()
    # Something on the day before and the day after does not count.
    clock.now = MORNING + timedelta(days=1)
    task_svc.log_call(agent, t3, REACHED)
    db.session.commit()

    lines, total = activity.daily_report(reception, store, date(2026, 12, 3))
    by = {line.user.id: line for line in lines}
    a = by[agent.id].counts
    # Left open at the day's end: t3 (done the next day) and the no-show recovery task.
    assert (a["calls"], a["on_time"], a["late"], a["left_open"]) == (3, 1, 1, 2)
    assert (a["invited"], a["arrived"], a["no_show"]) == (3, 1, 1)
    assert by[agent.id].show_rate == 0.5
    assert by[named.id].counts["visits"] == 1 and by[named.id].counts["calls"] == 0
    assert total.counts["calls"] == 3 and total.counts["visits"] == 1
    assert total.counts["left_open"] == sum(line.counts["left_open"] for line in lines)
    # The next day: one late-free call, the lead's no-show recovery task still open.
    nxt = {
        line.user.id: line for line in activity.daily_report(reception, store, date(2026, 12, 4))[0]
    }
    assert nxt[agent.id].counts["calls"] == 1 and nxt[agent.id].counts["on_time"] == 0
    assert nxt[agent.id].counts["late"] == 1  # t3 was due on the 3rd
    assert nxt[agent.id].counts["left_open"] == 1  # the no-show recovery task
    # A salesperson sees only their own line; no one sees another store's report.
    own, _ = activity.daily_report(named, store, date(2026, 12, 3))
    assert [line.user.id for line in own] == [named.id]
    from portal.errors import NotFound

    with pytest.raises(NotFound):
        activity.daily_report(f.manager(f.store()), store, date(2026, 12, 3))


def test_completion_per_day_and_person_is_the_share_done_on_the_due_day(f, desk, clock):
    store, routed, named, agent, _reception = desk
    customer = f.owner(store)
    add = task_svc.add_task
    day1 = MORNING  # 12-03
    day2 = MORNING + timedelta(days=1)  # 12-04
    a = [
        add(agent, customer, "follow_up", day1, store_id=store.id, owner_id=agent.id)
        for _ in range(4)
    ]
    b = add(routed, customer, "follow_up", day2, store_id=store.id, owner_id=routed.id)
    db.session.commit()
    for task in a[:3]:
        task_svc.log_call(agent, task, REACHED)  # three of four on the day
    clock.now = day2
    task_svc.log_call(agent, a[3], REACHED)  # the fourth a day late
    task_svc.log_call(routed, b, REACHED)
    db.session.commit()
    overall, per_person = activity.completion(_reception_of(store), store, date(2026, 12, 4), 3)
    assert overall == [("12-02", None), ("12-03", 75), ("12-04", 100)]
    assert per_person[agent.name] == [("12-02", None), ("12-03", 75), ("12-04", None)]
    assert per_person[routed.name] == [("12-02", None), ("12-03", None), ("12-04", 100)]


def _reception_of(store: Store) -> User:
    return db.session.scalar(select(User).where(User.store_id == store.id, User.role == "manager"))


def test_report_by_source_counts_visits_arrivals_and_orders_after_the_visit(desk, clock):
    store, _routed, named, agent, reception = desk
    first = _lead(store, "13655550001", source="phone")
    second = _lead(store, "13655550002", source="walk_in")
    inv1 = invitations.invite(agent, first, AFTERNOON, kind="visit", advisor=named)
    invitations.invite(agent, second, AFTERNOON, kind="visit", advisor=named)
    db.session.commit()
    invitations.check_in(reception, inv1)
    db.session.get(Lead, first.id).stage = "order"
    db.session.commit()
    rows = activity.by_source(reception, store, date(2026, 12, 1), date(2026, 12, 3))
    assert rows == [("phone", 1, 1, 1), ("walk_in", 1, 0, 0)]
