"""Scheduled campaign sends: the manager picks a time in the store's zone (stored UTC), the
worker starts a due campaign exactly once (even with workers racing), a cancelled schedule never
starts, and a send that falls due at night still waits for the day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm import campaign_schedule, campaign_sending, campaigns
from crm.campaign_models import DRAFT, SENDING, CampaignMember
from portal.errors import Conflict, ValidationError
from portal.worker.jobs import JOBS
from tests.crm.campaign_data import campaign, consent_to, customers
from tests.threads import at_once

MORNING = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
AT = datetime(2026, 12, 3, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai


def members(db, campaign_id):
    return db.session.scalar(select(func.count()).where(CampaignMember.campaign_id == campaign_id))


def test_the_worker_starts_a_scheduled_campaign_once_when_it_is_due(f, db, clock):
    clock.now = MORNING
    store = f.store()
    manager = f.manager(store)
    consent_to(customers(store, 6), "inapp")
    c = campaign(manager, store, ("inapp",), holdout=0)
    campaign_schedule.schedule(c, AT)
    db.session.commit()
    assert any(job.path == "crm.campaign_schedule:start_due" for job in JOBS)
    assert campaign_schedule.start_due() == 0  # not yet
    clock.now = AT - timedelta(seconds=1)
    assert campaign_schedule.start_due() == 0
    clock.now = AT
    assert campaign_schedule.start_due() == 1
    assert campaign_schedule.start_due() == 0  # once
    db.session.refresh(c)
    assert c.status == SENDING and c.sent_at == AT and c.send_at is None
    assert members(db, c.id) == 6
    assert campaign_sending.queue_due() == 6


def test_a_cancelled_schedule_never_starts_and_only_drafts_are_scheduled(f, db, clock):
    clock.now = MORNING
    store = f.store()
    manager = f.manager(store)
    c = campaign(manager, store, ("inapp",))
    with pytest.raises(ValidationError):
        campaign_schedule.schedule(c, MORNING - timedelta(minutes=1))  # the past
    with pytest.raises(ValidationError):
        campaign_schedule.schedule(c, None)
    with pytest.raises(Conflict):
        campaign_schedule.unschedule(c)  # nothing scheduled
    campaign_schedule.schedule(c, AT)
    campaign_schedule.unschedule(c)
    db.session.commit()
    clock.now = AT + timedelta(hours=1)
    assert campaign_schedule.start_due() == 0
    db.session.refresh(c)
    assert c.status == DRAFT and c.send_at is None and c.sent_at is None
    campaigns.start(manager, c)  # sent by hand: it can no longer be scheduled
    with pytest.raises(Conflict):
        campaign_schedule.schedule(c, AT + timedelta(days=1))


def test_a_send_due_at_night_is_snapshotted_but_waits_for_the_day(f, db, clock):
    clock.now = MORNING
    store = f.store()
    manager = f.manager(store)
    consent_to(customers(store, 4), "inapp")
    c = campaign(manager, store, ("inapp",), holdout=0)
    night = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    campaign_schedule.schedule(c, night)
    db.session.commit()
    clock.now = night
    assert campaign_schedule.start_due() == 1
    assert campaign_sending.queue_due() == 0  # quiet hours
    clock.now = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # 10:00 the next day
    assert campaign_sending.queue_due() == 4


def test_workers_racing_on_a_due_campaign_start_it_once(app, f, db, clock):
    clock.now = MORNING
    store = f.store()
    manager = f.manager(store)
    consent_to(customers(store, 20), "inapp")
    due = [campaign(manager, store, ("inapp",), holdout=0, name=f"定时{i}") for i in range(2)]
    for c in due:
        campaign_schedule.schedule(c, AT)
    db.session.commit()
    clock.now = AT
    results = at_once(app, campaign_schedule.start_due, 4)
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 2  # each campaign started by exactly one worker
    for c in due:
        db.session.refresh(c)
        assert c.status == SENDING
        assert members(db, c.id) == 20


def test_the_manager_schedules_in_the_store_zone_and_cancels(f, db, clock, auth, client):
    clock.now = MORNING
    store = f.store()
    manager = f.manager(store)
    c = campaign(manager, store, ("inapp",))
    auth.login(manager)
    url = f"/admin/campaigns/{c.id}/act"
    for bad in ("", "soon", "2026-12-03T08:00", "9999-01-01T00:00"):  # 08:00 local is past
        r = client.post(url, data={"verb": "schedule", "send_at": bad})
        assert r.status_code == 303
        db.session.refresh(c)
        assert c.send_at is None
    r = client.post(url, data={"verb": "schedule", "send_at": "2026-12-03T14:30"})
    assert r.status_code == 303
    db.session.refresh(c)
    assert c.send_at == AT  # 14:30 in Shanghai is 06:30 UTC
    page = client.get(f"/admin/campaigns/{c.id}").get_data(as_text=True)
    assert 'id="campaign-scheduled"' in page and "Thu 3 Dec 14:30" in page  # store time
    r = client.post(url, data={"verb": "unschedule"})
    assert r.status_code == 303
    db.session.refresh(c)
    assert c.send_at is None and c.status == DRAFT
