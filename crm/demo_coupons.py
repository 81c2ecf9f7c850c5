"""Demo of a campaign with a coupon: ¥30 off shop orders from ¥200, sent to the store's owners
who take in-app messages (the demo owner among them, with their coupon unused), and one other
owner who already bought with theirs, so the report shows a redemption and its revenue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm import campaign_offers, campaign_schedule, campaign_sending, campaigns
from crm.campaign_models import Campaign
from portal.demo import DEMO_LOGINS
from portal.extensions import db
from portal.models import User
from portal.models.accounts import OWNER
from portal.services.vehicles import store_today
from shop import coupons, orders
from shop.coupon_models import Coupon
from shop.models import Product, StoreStock

RULE = {"field": "consent", "op": "has", "value": "inapp"}
TEXT = {
    "body_zh": "{name}您好！{store}配件商城送您一张满200减30元优惠券，下单时选择即可使用。",
    "body_en": "Hello {name}! {store} gives you ¥30 off a shop order of ¥200 or more: choose "
    "the coupon at checkout.",
}


def coupon_campaign(manager: User) -> Campaign:
    """Send the coupon campaign now and let one owner (not the demo owner) redeem theirs."""
    store = manager.store
    segment = campaigns.save_segment(manager, store, "同意站内信 · In-app consent", RULE)
    draft = campaigns.Draft(
        "配件商城满减券 · Shop voucher", segment, {"inapp": TEXT}, {}, holdout_pct=0
    )
    campaign = campaigns.create_campaign(manager, draft)
    today = store_today(store.id)
    offer = campaign_offers.make_offer(
        store,
        campaign_offers.OfferDraft(
            title_zh="配件商城满减券",
            title_en="Shop voucher",
            amount_off_fen=3000,
            percent_off=None,
            cap_fen=None,
            min_order_fen=20_000,
            valid_from=today,
            valid_to=today + timedelta(days=30),
        ),
    )
    campaign_offers.attach(campaign, offer)
    campaign = campaigns.start(manager, campaign)
    while campaign_sending.queue_batch(campaign.id, 500):
        pass  # at night nothing is queued: the worker sends it in the morning
    campaign_schedule.finish_if_done(campaign.id)
    _one_redeemed(manager, offer.id)
    return campaign


def _one_redeemed(manager: User, offer_id: int) -> None:
    demo_owner = db.session.scalar(select(User.id).where(User.phone == DEMO_LOGINS[OWNER]))
    coupon = db.session.scalar(
        select(Coupon)
        .where(Coupon.offer_id == offer_id, Coupon.owner_id != demo_owner)
        .order_by(Coupon.id)
        .limit(1)
    )
    product = db.session.scalar(
        select(Product)
        .join(StoreStock, StoreStock.product_id == Product.id)
        .where(
            Product.is_active.is_(True),
            Product.price_fen >= 20_000,
            StoreStock.store_id == manager.store_id,
            StoreStock.stock > 2,
        )
        .order_by(Product.price_fen)
        .limit(1)
    )
    if coupon is None or product is None:
        return
    buyer = db.session.get(User, coupon.owner_id)
    order = orders.buy_now(
        buyer, product, 1, delivery="pickup", store=manager.store, payment="store"
    )
    coupons.redeem(buyer, order, coupon.code)
    orders.mark_paid_at_store(manager, order)
