"""A campaign's coupon: one code per recipient at the snapshot, the code in each message, the
offer's rules, and the report's coupon numbers on constructed orders."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from crm import campaign_offers, campaign_sending, campaigns
from crm.campaign_models import CampaignMember, CampaignSend
from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.models import Notification, OutboxMessage
from shop import coupons, orders
from shop.coupon_models import Coupon
from tests.crm.campaign_data import campaign, consent_to, customers
from tests.crm.test_campaigns import DAYTIME
from tests.shop.conftest import ShopFactory
from tests.shop.coupon_data import offer

GOOD = campaign_offers.OfferDraft(
    title_zh="冬季满减券", title_en="Winter voucher", amount_off_fen=3000, percent_off=None,
    cap_fen=None, min_order_fen=20_000, valid_from=date(2026, 12, 1), valid_to=date(2026, 12, 31),
)  # fmt: skip


@pytest.fixture
def daytime(clock):
    clock.now = DAYTIME
    return clock


def _with_offer(manager, store, **kw):
    c = campaign(manager, store, **kw)
    campaign_offers.attach(c, campaign_offers.make_offer(store, GOOD))
    db.session.commit()
    return c


def test_every_recipient_gets_their_own_code_in_the_message_and_the_holdout_none(f, daytime):
    store = f.store()
    manager = f.manager(store)
    ids = customers(store, 40)
    consent_to(ids, "inapp")
    consent_to(ids[:10], "email")
    c = campaigns.start(manager, _with_offer(manager, store, holdout=20))
    db.session.commit()
    held = dict(db.session.execute(select(Coupon.owner_id, Coupon.code)).all())
    reached = set(
        db.session.scalars(select(CampaignSend.customer_id).where(CampaignSend.campaign_id == c.id))
    )
    holdout = set(
        db.session.scalars(
            select(CampaignMember.customer_id).where(CampaignMember.holdout.is_(True))
        )
    )
    assert holdout and set(held) == reached and not holdout & set(held)
    assert all(code == campaign_offers.code_for(c.offer_id, i) for i, code in held.items())
    assert len(set(held.values())) == len(held)
    campaign_sending.queue_batch(c.id, 500)
    db.session.commit()
    for note in db.session.scalars(select(Notification)):
        assert f"您的优惠券 {held[note.user_id]}：冬季满减券，满 ¥200.00 立减 ¥30.00" in note.text
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email"))
    assert all(held[m.user_id] in m.body for m in mails)
    someone = db.session.get(type(manager), next(iter(held)))
    assert [x.code for x in coupons.usable(someone)] == [held[someone.id]]


def test_the_offer_page_shows_the_recipients_code_and_leads_to_my_coupons(f, daytime, client):
    from crm.campaign_responses import click_path

    store = f.store()
    manager = f.manager(store)
    ids = customers(store, 2)
    consent_to(ids, "inapp")
    with_coupon = campaigns.start(manager, _with_offer(manager, store, holdout=0))
    plain = campaigns.start(manager, campaign(manager, store, ("inapp",), holdout=0, name="无券"))
    db.session.commit()
    pages = {}
    for c in (with_coupon, plain):
        send_id = db.session.scalar(
            select(CampaignSend.id).where(
                CampaignSend.campaign_id == c.id, CampaignSend.customer_id == ids[0]
            )
        )
        page = client.get(click_path(send_id) + "/offer")
        assert page.status_code == 200
        pages[c.id] = page.get_data(as_text=True)
    code = campaign_offers.code_for(with_coupon.offer_id, ids[0])
    assert code in pages[with_coupon.id] and 'id="offer-my-coupons"' in pages[with_coupon.id]
    assert 'href="/shop/coupons"' in pages[with_coupon.id]
    assert 'id="offer-coupon"' not in pages[plain.id]
    assert 'id="offer-my-coupons"' not in pages[plain.id]


def test_a_campaign_without_an_offer_issues_nothing(f, daytime):
    store = f.store()
    manager = f.manager(store)
    consent_to(customers(store, 5), "inapp")
    campaigns.start(manager, campaign(manager, store))
    db.session.commit()
    assert db.session.scalar(select(Coupon.id)) is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title_zh": " "}, "offer_title_zh"),
        ({"percent_off": 10}, "offer_kind"),  # both kinds
        ({"amount_off_fen": None}, "offer_kind"),  # neither
        ({"amount_off_fen": None, "percent_off": 100}, "offer_percent"),
        ({"amount_off_fen": None, "percent_off": 10, "cap_fen": 0}, "offer_cap"),
        ({"valid_to": None}, "offer_dates"),
        ({"valid_from": date(2026, 12, 9), "valid_to": date(2026, 12, 8)}, "offer_dates"),
        ({"valid_from": date(2026, 11, 1), "valid_to": date(2026, 12, 2)}, "offer_dates"),
    ],
)
def test_a_bad_offer_is_refused(f, daytime, change, field):
    store = f.store()
    draft = campaign_offers.OfferDraft(**{**GOOD.__dict__, **change})
    with pytest.raises(ValidationError) as caught:
        campaign_offers.make_offer(store, draft)
    assert caught.value.field == field


def test_only_a_draft_takes_an_offer_once(f, daytime):
    store = f.store()
    manager = f.manager(store)
    c = _with_offer(manager, store)
    with pytest.raises(Conflict):
        campaign_offers.attach(c, campaign_offers.make_offer(store, GOOD))
    elsewhere = campaign_offers.make_offer(f.store(), GOOD)
    with pytest.raises(ValidationError):
        campaign_offers.attach(campaign(manager, store, name="另一个"), elsewhere)


def test_the_report_counts_issued_redeemed_and_revenue(f, daytime):
    shop = ShopFactory()
    store = f.store()
    manager = f.manager(store)
    advisor = f.advisor(store)
    owners = [f.owner(store) for _ in range(5)]
    c = campaign(manager, store)
    o = offer(store, amount_off_fen=2000, min_order_fen=0)
    campaign_offers.attach(c, o)
    codes = []
    for owner in owners:
        db.session.add(Coupon(offer_id=o.id, owner_id=owner.id, code=f"R{owner.id}"))
        codes.append(f"R{owner.id}")
    stray = offer(store)  # another offer's redeemed coupon does not count
    db.session.add(Coupon(offer_id=stray.id, owner_id=owners[0].id, code="STRAY"))
    db.session.commit()
    p = shop.product(price_fen=15_000, stock_qty=20)

    def buy(i, code):
        order = orders.buy_now(owners[i], p, 1, delivery="pickup", store=store, payment="store")
        coupons.redeem(owners[i], order, code)
        db.session.commit()
        return order

    paid = [buy(0, codes[0]), buy(1, codes[1])]  # 13,000 each after the coupon
    for order in paid:
        orders.mark_paid_at_store(advisor, order)
    orders.refund(advisor, paid[1], 3000)  # net 10,000
    buy(2, codes[2])  # placed, not paid
    orders.cancel(owners[3], buy(3, codes[3]))  # cancelled: the coupon is free again
    buy(0, "STRAY")
    db.session.commit()
    found = campaign_offers.report(c)
    assert found == campaign_offers.CouponReport(
        issued=5, redeemed=2, waiting=1, discount_fen=4000, revenue_fen=23_000
    )
    assert campaign_offers.report(campaign(manager, store, name="无券")) is None
