"""The marketing demo: consents, segments, a sent, a draft and a scheduled campaign, once."""

from __future__ import annotations

from sqlalchemy import func, select

from crm import campaign_offers
from crm.campaign_models import BuiltinCampaign, Campaign, Segment
from crm.demo_marketing import SEGMENTS, load_marketing_demo
from portal.demo import DEMO_LOGINS, load_demo
from portal.models import MarketingConsent, User
from portal.models.accounts import OWNER
from shop import coupons
from shop.demo import load_demo as shop_demo
from tests.crm.test_campaigns import DAYTIME


def test_demo_marketing_loads_once(db, clock):
    clock.now = DAYTIME
    load_demo(owners=30)
    db.session.commit()
    found = load_marketing_demo()
    db.session.commit()
    assert found["segments"] == len(SEGMENTS) + 2 and found["audience"] > 0  # coupon, recall
    assert load_marketing_demo() == {"segments": 0}
    assert db.session.scalar(select(func.count(Segment.id))) == len(SEGMENTS) + 2
    from crm.campaign_models import RecallList

    recall = db.session.scalar(select(RecallList))
    assert recall is not None and recall.vins > 0  # uploaded, waiting to be sent
    statuses = sorted(db.session.scalars(select(Campaign.status)))
    assert statuses == ["done", "done", "draft", "draft"]
    scheduled = db.session.scalar(select(Campaign.send_at).where(Campaign.send_at.is_not(None)))
    assert scheduled is not None and scheduled > DAYTIME  # one waits for the worker
    assert db.session.scalar(select(func.count(MarketingConsent.id))) > 10
    assert db.session.scalar(select(BuiltinCampaign.enabled)) is True


def test_demo_owner_has_one_unused_coupon_and_another_owner_used_theirs(db, clock):
    clock.now = DAYTIME
    load_demo(owners=30)
    shop_demo()
    db.session.commit()
    found = load_marketing_demo()
    db.session.commit()
    assert found["coupons"] > 1
    me = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[OWNER]))
    assert [c.offer.name for c in coupons.usable(me)] == ["配件商城满减券"]
    voucher = db.session.scalar(select(Campaign).where(Campaign.offer_id.is_not(None)))
    numbers = campaign_offers.report(voucher)
    assert numbers.issued == found["coupons"] and numbers.redeemed == 1
    assert numbers.revenue_fen > 0 and numbers.discount_fen == 3000
