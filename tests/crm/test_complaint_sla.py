"""Complaint deadlines per store and severity: the defaults without rows, a store's own values
at open and reopen, the managers' page refusing bad input, escalation on each store's own
deadlines (a controlled clock), two managers saving at once, and the share within deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm import complaints as svc
from crm import quality_stats
from crm.quality_models import Complaint, ComplaintSla
from portal.errors import NotAllowed, ValidationError
from portal.extensions import db
from tests.threads import at_once

OWN = {"high": (1, 2), "medium": (4, 5), "low": (48, 10)}


@pytest.fixture
def two_stores(f):
    store_a, store_b = f.store(), f.store()
    manager_a, manager_b = f.manager(store_a), f.manager(store_b)
    db.session.commit()
    return store_a, store_b, manager_a, manager_b


def _open(store, owner, severity) -> Complaint:
    complaint = svc.open_complaint(
        owner, store, source="phone", category="waiting", severity=severity, description="等太久"
    )
    db.session.commit()
    return complaint


def test_a_store_without_rows_uses_the_defaults(two_stores, f, clock):
    store_a, _b, _ma, _mb = two_stores
    assert svc.store_sla(store_a.id) == svc.SLA
    complaint = _open(store_a, f.owner(store_a), "medium")
    assert complaint.ack_due_at == clock.now + timedelta(hours=8)
    assert complaint.resolve_due_at == clock.now + timedelta(days=3)


def test_the_complaints_store_values_are_used_at_open_and_reopen(two_stores, f, clock):
    store_a, store_b, manager_a, _mb = two_stores
    svc.save_sla(manager_a, store_a.id, OWN)
    db.session.commit()
    assert svc.store_sla(store_a.id) == OWN and svc.store_sla(store_b.id) == svc.SLA
    here = _open(store_a, f.owner(store_a), "low")
    there = _open(store_b, f.owner(store_b), "low")
    assert here.ack_due_at == clock.now + timedelta(hours=48)
    assert here.resolve_due_at == clock.now + timedelta(days=10)
    assert there.ack_due_at == clock.now + timedelta(hours=24)  # the other store: defaults
    # Changing the targets leaves an open complaint's deadlines alone...
    svc.save_sla(manager_a, store_a.id, {**OWN, "low": (2, 1)})
    db.session.commit()
    db.session.refresh(here)
    assert here.resolve_due_at == clock.now + timedelta(days=10)
    # ...and a reopen takes the store's resolve window of that moment.
    svc.resolve(manager_a, here, "已处理")
    db.session.commit()
    clock.advance(hours=3)
    svc.answer(svc.link_path(here)[len("/complaint-answer/") :], confirm=False)
    db.session.commit()
    assert here.resolve_due_at == clock.now + timedelta(days=1)


@pytest.mark.parametrize(
    "change",
    [
        {"high": (0, 1)},
        {"high": (169, 10)},
        {"medium": (8, 0)},
        {"medium": (8, 61)},
        {"low": (None, 7)},
        {"low": (48, 1)},  # acknowledge after the resolve deadline
    ],
)
def test_out_of_range_values_are_refused_and_nothing_changes(two_stores, change):
    store_a, _b, manager_a, _mb = two_stores
    svc.save_sla(manager_a, store_a.id, OWN)
    db.session.commit()
    with pytest.raises(ValidationError):
        svc.save_sla(manager_a, store_a.id, {**OWN, "high": (3, 3), **change})
    db.session.rollback()
    assert svc.store_sla(store_a.id) == OWN


def test_a_manager_cannot_set_another_stores_deadlines(two_stores):
    store_a, _b, _ma, manager_b = two_stores
    with pytest.raises(NotAllowed):
        svc.save_sla(manager_b, store_a.id, OWN)
    db.session.rollback()
    assert svc.store_sla(store_a.id) == svc.SLA


def test_the_database_refuses_out_of_range_rows_too(two_stores):
    store_a, _b, _ma, _mb = two_stores
    db.session.add(ComplaintSla(store_id=store_a.id, severity="high", ack_hours=0, resolve_days=1))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_manager_edits_the_deadlines_on_the_page(two_stores, auth, client, f):
    store_a, store_b, manager_a, _mb = two_stores
    auth.login(manager_a)
    page = client.get("/admin/complaint_analytics/deadlines")
    assert page.status_code == 200 and 'name="ack_high" value="2"' in page.get_data(as_text=True)
    form = {f"ack_{k}": str(h) for k, (h, _d) in OWN.items()}
    form |= {f"resolve_{k}": str(d) for k, (_h, d) in OWN.items()}
    bad = client.post("/admin/complaint_analytics/deadlines", data={**form, "ack_medium": "abc"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "1 to 168 hours" in body and 'value="abc"' in body
    assert svc.store_sla(store_a.id) == svc.SLA  # nothing saved
    saved = client.post("/admin/complaint_analytics/deadlines", data=form)
    assert saved.status_code == 303
    assert svc.store_sla(store_a.id) == OWN and svc.store_sla(store_b.id) == svc.SLA
    again = client.post("/admin/complaint_analytics/deadlines", data={**form, "ack_low": "36"})
    assert again.status_code == 303
    assert svc.store_sla(store_a.id)["low"] == (36, 10)
    rows = db.session.scalar(select(func.count()).where(ComplaintSla.store_id == store_a.id))
    assert rows == 3  # updated in place


def test_escalation_follows_each_stores_own_deadlines(two_stores, f, clock):
    store_a, store_b, manager_a, manager_b = two_stores
    svc.save_sla(manager_a, store_a.id, OWN)  # medium: acknowledge in 4 h, resolve in 5 days
    db.session.commit()
    fast = _open(store_a, f.owner(store_a), "medium").id
    slow = _open(store_b, f.owner(store_b), "medium").id  # defaults: 8 h, 3 days
    clock.advance(hours=4, minutes=1)
    assert svc.escalate() == {"managers": 1, "group": 0}
    assert db.session.get(Complaint, fast).escalation == 1
    assert db.session.get(Complaint, slow).escalation == 0
    clock.advance(hours=4)
    assert svc.escalate() == {"managers": 1, "group": 0}
    assert db.session.get(Complaint, slow).escalation == 1
    clock.advance(days=3)  # store B's resolve deadline passed, store A's (5 days) not yet
    assert svc.escalate() == {"managers": 0, "group": 1}
    assert db.session.get(Complaint, slow).escalation == 2
    assert db.session.get(Complaint, fast).escalation == 1
    clock.advance(days=2)
    assert svc.escalate() == {"managers": 0, "group": 1}
    assert db.session.get(Complaint, fast).escalation == 2


def test_two_managers_saving_at_once_leave_one_row_per_severity(app, two_stores):
    store_a, _b, manager_a, _mb = two_stores
    store_id, manager_id = store_a.id, manager_a.id
    tables = iter([OWN, {k: (h + 1, d + 1) for k, (h, d) in OWN.items()}])
    chosen = [next(tables), next(tables)]

    def save():
        from portal.models import User

        svc.save_sla(db.session.get(User, manager_id), store_id, chosen.pop())
        return "ok"

    assert at_once(app, save, 2) == ["ok", "ok"]
    db.session.expire_all()
    table = svc.store_sla(store_id)
    assert table in (OWN, {k: (h + 1, d + 1) for k, (h, d) in OWN.items()})
    rows = db.session.scalar(select(func.count()).where(ComplaintSla.store_id == store_id))
    assert rows == 3


def test_the_analytics_count_each_complaint_against_its_own_deadline(two_stores, f, clock):
    store_a, store_b, manager_a, manager_b = two_stores
    svc.save_sla(manager_a, store_a.id, OWN)  # high: acknowledge in 1 h
    db.session.commit()
    a = _open(store_a, f.owner(store_a), "high")
    b = _open(store_b, f.owner(store_b), "high")  # default: 2 h
    clock.advance(minutes=90)
    svc.acknowledge(manager_a, a)  # late at A
    svc.acknowledge(manager_b, b)  # in time at B
    db.session.commit()
    numbers = quality_stats.complaint_numbers(f.admin(), 30)
    shares = {s.label: (s.acknowledged, s.ack_on_time) for s in numbers.sla_by_store}
    assert shares == {store_a.name: (1, 0), store_b.name: (1, 1)}
    assert numbers.ack_within == 0.5 and numbers.resolve_within is None


def test_the_analytics_page_shows_the_share_and_links_the_deadlines(two_stores, f, auth, client):
    store_a, _b, manager_a, _mb = two_stores
    complaint = _open(store_a, f.owner(store_a), "high")
    svc.acknowledge(manager_a, complaint)
    db.session.commit()
    auth.login(manager_a)
    body = client.get("/admin/complaint_analytics/").get_data(as_text=True)
    assert 'id="ack-within"' in body and "100 %" in body
    assert "/admin/complaint_analytics/deadlines" in body
