"""A manager writes a campaign with a coupon in the back office and reads its coupon numbers."""

from __future__ import annotations

from sqlalchemy import func, select

from crm import campaigns
from crm.campaign_models import Campaign
from portal.services import consent
from shop.coupon_models import Coupon, CouponOffer
from tests.crm.test_campaigns import DAYTIME

RULE = {"all": [{"field": "consent", "op": "has", "value": "inapp"}]}


def _form(segment_id: int, **offer) -> dict:
    return {
        "name": "冬季商城券",
        "segment": str(segment_id),
        "holdout_pct": "0",
        "window_days": "14",
        "cost": "0",
        "inapp-body_zh": "{name}您好，送您一张商城券。",
        "offer_title_zh": "满200减30",
        "offer_title_en": "¥30 off ¥200",
        "offer_kind": "amount",
        "offer_amount": "30",
        "offer_min": "200",
        "offer_from": "2026-12-01",
        "offer_to": "2026-12-31",
        **offer,
    }


def test_a_manager_sends_a_campaign_with_a_coupon(f, db, auth, client, clock):
    clock.now = DAYTIME
    store = f.store()
    manager = f.manager(store)
    owners = [f.owner(store) for _ in range(3)]
    for o in owners[:2]:
        consent.set_consent(o.id, "inapp", True)
    segment = campaigns.save_segment(manager, store, "站内信", RULE)
    db.session.commit()
    auth.login(manager)
    assert 'id="campaign-offer"' in client.get("/admin/campaigns/new").get_data(as_text=True)
    for bad in ({"offer_amount": "abc"}, {"offer_to": "2026-11-30"}, {"offer_title_zh": ""},
                {"offer_kind": "percent", "offer_percent": "120"}):  # fmt: skip
        refused = client.post("/admin/campaigns/new", data=_form(segment.id, **bad))
        assert refused.status_code == 422, bad
        assert 'id="campaign-error"' in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Campaign.id))) == 0
    assert db.session.scalar(select(func.count(CouponOffer.id))) == 0
    made = client.post("/admin/campaigns/new", data=_form(segment.id))
    assert made.status_code == 303
    campaign = db.session.scalar(select(Campaign))
    offer = campaign.offer
    assert (offer.amount_off_fen, offer.min_order_fen, offer.name_en) == (
        3000,
        20_000,
        "¥30 off ¥200",
    )
    client.post(f"/admin/campaigns/{campaign.id}/act", data={"verb": "send"})
    assert set(db.session.scalars(select(Coupon.owner_id))) == {owners[0].id, owners[1].id}
    page = client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'id="coupons-issued">2<' in page and 'id="coupons-redeemed">0<' in page


def test_a_percent_coupon_without_a_cap_is_fine(f, db, auth, client, clock):
    clock.now = DAYTIME
    store = f.store()
    manager = f.manager(store)
    segment = campaigns.save_segment(manager, store, "站内信", RULE)
    db.session.commit()
    auth.login(manager)
    form = _form(
        segment.id, offer_kind="percent", offer_percent="15", offer_amount="", offer_cap=""
    )
    assert client.post("/admin/campaigns/new", data=form).status_code == 303
    offer = db.session.scalar(select(CouponOffer))
    assert (offer.percent_off, offer.cap_fen, offer.amount_off_fen) == (15, None, None)
