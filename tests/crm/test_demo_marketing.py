"""The marketing demo: consents, segments, a sent, a draft and a scheduled campaign, once."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.campaign_models import BuiltinCampaign, Campaign, Segment
from crm.demo_marketing import SEGMENTS, load_marketing_demo
from portal.demo import load_demo
from portal.models import MarketingConsent
from tests.crm.test_campaigns import DAYTIME


def test_demo_marketing_loads_once(db, clock):
    clock.now = DAYTIME
    load_demo(owners=30)
    db.session.commit()
    found = load_marketing_demo()
    db.session.commit()
    assert found["segments"] == len(SEGMENTS) and found["audience"] > 0
    assert load_marketing_demo() == {"segments": 0}
    assert db.session.scalar(select(func.count(Segment.id))) == len(SEGMENTS)
    statuses = sorted(db.session.scalars(select(Campaign.status)))
    assert statuses == ["done", "draft", "draft"]
    scheduled = db.session.scalar(select(Campaign.send_at).where(Campaign.send_at.is_not(None)))
    assert scheduled is not None and scheduled > DAYTIME  # one waits for the worker
    assert db.session.scalar(select(func.count(MarketingConsent.id))) > 10
    assert db.session.scalar(select(BuiltinCampaign.enabled)) is True
