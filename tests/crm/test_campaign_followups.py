"""Campaign responders become their advisor's follow-up call: a reached member who books in the
window gets one task (however often and however many workers run it), the holdout and bookings
outside the window get none."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm import campaign_followups, campaign_sending, campaigns
from crm.campaign_models import CampaignMember
from crm.models import Task
from portal.models import User
from portal.worker.jobs import JOBS
from tests.crm.campaign_data import campaign, consent_to, customers
from tests.crm.test_campaigns import DAYTIME
from tests.threads import at_once


def _sent(f, db, clock, n=8, holdout=0):
    clock.now = DAYTIME
    store = f.store()
    manager = f.manager(store)
    advisor = f.advisor(store)
    ids = customers(store, n)
    consent_to(ids, "inapp")
    for user in db.session.scalars(select(User).where(User.id.in_(ids))):
        user.advisor_id = advisor.id
    db.session.commit()
    c = campaigns.start(manager, campaign(manager, store, ("inapp",), holdout=holdout))
    db.session.commit()
    campaign_sending.queue_due()
    return store, advisor, c, ids


def _tasks(db):
    return db.session.scalars(
        select(Task).where(Task.rule == campaign_followups.RULE).order_by(Task.customer_id)
    ).all()


def test_a_member_who_books_in_the_window_gets_one_call_from_the_advisor(f, db, clock):
    store, advisor, c, ids = _sent(f, db, clock)
    assert any(j.path == "crm.campaign_followups:follow_up_responders" for j in JOBS)
    assert campaign_followups.follow_up_responders() == 0  # nobody answered yet
    clock.advance(days=2)
    responder = db.session.get(User, ids[0])
    f.booking(responder, store, days=3)
    assert campaign_followups.follow_up_responders() == 1
    assert campaign_followups.follow_up_responders() == 0  # once per member
    f.booking(responder, store, days=4)  # a second booking: still the one task
    assert campaign_followups.follow_up_responders() == 0
    (task,) = _tasks(db)
    assert (task.customer_id, task.owner_id, task.store_id) == (ids[0], advisor.id, store.id)
    assert task.kind == "follow_up" and task.note == c.name
    assert task.cause == campaign_followups.cause(c.id, ids[0])


def test_the_holdout_and_bookings_after_the_window_make_no_task(f, db, clock):
    store, _advisor, c, ids = _sent(f, db, clock, n=60, holdout=50)
    held = db.session.scalars(
        select(CampaignMember.customer_id).where(
            CampaignMember.campaign_id == c.id, CampaignMember.holdout.is_(True)
        )
    ).all()
    reached = sorted(set(ids) - set(held))
    assert held and reached
    clock.advance(days=1)
    f.booking(db.session.get(User, held[0]), store, days=2)  # the holdout got nothing
    f.booking(db.session.get(User, reached[0]), store, days=2)
    clock.advance(days=c.window_days)  # the window has closed
    f.booking(db.session.get(User, reached[1]), store, days=2)
    assert campaign_followups.follow_up_responders() == 1
    assert [t.customer_id for t in _tasks(db)] == [reached[0]]
    clock.advance(days=3)  # long closed: the campaign is no longer looked at
    assert campaign_followups.follow_up_responders() == 0


def test_workers_racing_make_each_responders_task_once(app, f, db, clock):
    store, _advisor, c, ids = _sent(f, db, clock)
    clock.advance(hours=5)
    for customer_id in ids[:3]:
        f.booking(db.session.get(User, customer_id), store, days=2)
    results = at_once(app, campaign_followups.follow_up_responders, 4)
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 3
    assert [t.customer_id for t in _tasks(db)] == ids[:3]
    assert timedelta(0) <= _tasks(db)[0].due_at - DAYTIME
