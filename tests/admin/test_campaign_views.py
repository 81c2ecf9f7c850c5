"""The marketing back office through the client: segment editor with a live count, campaigns
written, sent, followed, paused and resumed, built-ins switched, other stores invisible."""

from __future__ import annotations

import json

from sqlalchemy import select

from crm import campaign_sending
from crm.campaign_models import Campaign, CampaignMessage, Segment
from portal.services import consent
from tests.crm.test_campaigns import DAYTIME

HX = {"HX-Request": "true"}
RULE = {"all": [{"field": "consent", "op": "has", "value": "inapp"}]}


def test_a_manager_builds_a_segment_and_sends_a_campaign(f, db, auth, client, clock):
    clock.now = DAYTIME
    store = f.store()
    manager = f.manager(store)
    advisor = f.advisor(store)
    owners = [f.owner(store, advisor_id=advisor.id) for _ in range(3)]
    for o in owners[:2]:
        consent.set_consent(o.id, "inapp", True)
    db.session.commit()
    auth.login(manager)
    page = client.get("/admin/segments/new").get_data(as_text=True)
    assert "segment-rule" in page and "preview-count" in page
    preview = client.post(
        "/admin/segments/preview",
        data={"rule": json.dumps(RULE), "store": str(store.id)},
        headers=HX,
    )
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "<html" not in text
    assert "2 customers match" in text and owners[0].phone in text  # the manager sees it whole
    bad = client.post("/admin/segments/preview", data={"rule": "{"}, headers=HX)
    assert "not valid JSON" in bad.get_data(as_text=True)
    refused = client.post("/admin/segments/new", data={"name": "x", "rule": '{"all": []}'})
    assert refused.status_code == 422 and "non-empty list" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Segment)) is None
    saved = client.post(
        "/admin/segments/new", data={"name": "同意站内信", "rule": json.dumps(RULE)}
    )
    assert saved.status_code == 303
    segment = db.session.scalar(select(Segment))
    assert segment.store_id == store.id and segment.rule == RULE
    form = {
        "name": "冬季保养",
        "segment": str(segment.id),
        "holdout_pct": "0",
        "window_days": "14",
        "cost": "100",
        "inapp-body_zh": "{name}您好，冬季保养九折。",
        "inapp-body_en": "Hi {name}",
        "inapp-cost": "0.05",
    }
    made = client.post("/admin/campaigns/new", data=form)
    assert made.status_code == 303
    campaign = db.session.scalar(select(Campaign))
    assert campaign.cost_fen == 10_000 and campaign.status == "draft"
    assert db.session.scalar(select(CampaignMessage.unit_cost_fen)) == 5
    sent = client.post(f"/admin/campaigns/{campaign.id}/act", data={"verb": "send"})
    assert sent.status_code == 303
    db.session.refresh(campaign)
    assert campaign.status == "sending" and campaign.audience == 2
    bar = client.get(f"/admin/campaigns/{campaign.id}/progress", headers=HX)
    body = bar.get_data(as_text=True)
    assert "<html" not in body and 'hx-trigger="every 3s"' in body
    client.post(f"/admin/campaigns/{campaign.id}/act", data={"verb": "pause"})
    db.session.refresh(campaign)
    assert campaign.status == "paused"
    client.post(f"/admin/campaigns/{campaign.id}/act", data={"verb": "resume"})
    campaign_sending.queue_due()
    page = client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "campaign-lift-chart" in page and 'hx-trigger="every 3s"' not in page  # done: no poll
    again = client.post(f"/admin/campaigns/{campaign.id}/act", data={"verb": "send"})
    assert again.status_code == 303  # said, and nothing changes
    db.session.refresh(campaign)
    assert campaign.status == "done"


def test_another_stores_manager_sees_nothing_and_an_advisor_is_refused(f, db, auth, client):
    store, other = f.store(), f.store()
    manager = f.manager(store)
    segment = Segment(store_id=store.id, name="A", rule=RULE)
    db.session.add(segment)
    db.session.commit()
    auth.login(f.manager(other))
    assert client.get(f"/admin/segments/{segment.id}").status_code == 404
    assert "A</a>" not in client.get("/admin/segments/").get_data(as_text=True)
    auth.logout()
    auth.login(f.advisor(store))
    assert client.get("/admin/segments/").status_code == 403
    auth.logout()
    auth.login(manager)
    assert client.get(f"/admin/segments/{segment.id}").status_code == 200


def test_a_manager_switches_the_built_in_campaign_on(f, db, auth, client):
    store = f.store()
    auth.login(f.manager(store))
    r = client.post("/admin/campaigns/builtin", data={"key": "maintenance_due", "on": "1"})
    assert r.status_code == 303
    page = client.get("/admin/campaigns/").get_data(as_text=True)
    assert 'id="builtin-maintenance_due"' in page and "Switch off" in page


def test_a_rule_nested_thousands_deep_is_refused_not_a_crash(f, db, auth, client):
    store = f.store()
    auth.login(f.manager(store))
    deep = "[" * 15_000 + "]" * 15_000
    r = client.post("/admin/segments/preview", data={"rule": deep, "store": str(store.id)})
    assert r.status_code == 200 and "not valid JSON" in r.get_data(as_text=True)
    r = client.post("/admin/segments/new", data={"name": "deep", "rule": deep})
    assert r.status_code == 422
