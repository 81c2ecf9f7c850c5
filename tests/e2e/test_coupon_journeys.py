"""A campaign's coupon in a real Chromium: a manager sends a campaign carrying ¥30 off shop
orders from ¥200; the owner opens the offer from the message on a phone, finds the coupon
under My coupons, uses it at the shop's checkout, and once the order is paid at the store the
manager's campaign page counts the redemption and the return."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import MANAGER, OWNER
from tests.e2e.live import DESKTOP, PHONE
from tests.e2e.test_campaign_journeys import run_campaign_batches
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e

RULE = {"all": [{"field": "consent", "op": "has", "value": "inapp"}]}
MIN_ORDER_FEN = 20_000


@contextmanager
def live_db(live_server):
    """Open the live server's database (to find what a person would see on the screen)."""
    from portal.app import create_app
    from portal.extensions import db

    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": live_server.env["M4S_SECRET_KEY"],
            "DATABASE_URL": live_server.env["M4S_DATABASE_URL"],
        }
    )
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


def product_over_minimum(live_server) -> tuple[int, int]:
    """Return the id and price of the cheapest product in stock at the demo owner's store
    that the coupon's minimum allows."""
    from sqlalchemy import select

    from portal.models import User
    from shop.models import Product, StoreStock

    with live_db(live_server) as session:
        home = select(User.store_id).where(User.phone == DEMO_LOGINS[OWNER]).scalar_subquery()
        found = session.execute(
            select(Product.id, Product.price_fen)
            .join(StoreStock, StoreStock.product_id == Product.id)
            .where(
                Product.is_active.is_(True),
                Product.price_fen >= MIN_ORDER_FEN,
                StoreStock.store_id == home,
                StoreStock.stock > 2,
            )
            .order_by(Product.price_fen, Product.id)
            .limit(1)
        ).one()
    return found.id, found.price_fen


def cny(fen: int) -> str:
    yuan, cents = divmod(fen, 100)
    return f"¥{yuan:,}.{cents:02d}"


def test_an_owner_uses_a_campaign_coupon_and_the_campaign_counts_it(open_page, live_server):
    # The owner takes offers in the portal (another journey may have unsubscribed them).
    owner = open_page("owner", **PHONE)
    login(owner, DEMO_LOGINS[OWNER], DEMO_PASSWORD[OWNER])
    owner.goto("/account/channels")
    owner.check("input[name=marketing-inapp]")
    owner.locator("#channel-form button[type=submit]").click()
    expect(owner.locator(".flash-success")).to_be_visible()

    manager = open_page("manager", **DESKTOP)
    login(manager, DEMO_LOGINS[MANAGER], DEMO_PASSWORD[MANAGER])
    manager.goto("/admin/segments/new")
    manager.fill("#segment-name", "E2E 领券客户")
    manager.fill("#segment-rule", json.dumps(RULE))
    expect(manager.locator("#preview-count")).to_contain_text("符合条件的客户")
    manager.locator("#segment-save").click()
    expect(manager).to_have_url(re.compile(r"/admin/segments/\d+$"))

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    manager.goto("/admin/campaigns/new")
    manager.fill("#c-name", "E2E 配件满减")
    manager.select_option("#c-segment", label="E2E 领券客户")
    manager.fill("#c-holdout", "0")
    manager.fill("#inapp-body_zh", "{name}您好，E2E 配件满200减30。")
    manager.fill("#inapp-body_en", "Hello {name}, E2E ¥30 off ¥200 in the shop.")
    manager.fill("#offer_title_zh", "E2E 满减券")
    manager.fill("#offer_title_en", "E2E voucher")
    manager.fill("#offer_amount", "30")
    manager.fill("#offer_min", "200")
    # From yesterday: a run across the store's midnight still finds the coupon valid.
    manager.fill("#offer_from", (today - timedelta(days=1)).isoformat())
    manager.fill("#offer_to", (today + timedelta(days=30)).isoformat())
    manager.locator("#campaign-save").click()
    expect(manager).to_have_url(re.compile(r"/admin/campaigns/\d+$"))
    campaign_url = manager.url
    expect(manager.locator("#campaign-offer")).to_contain_text("E2E 满减券")
    manager.locator("#campaign-send").click()
    expect(manager.locator("#campaign-status")).to_have_text("发送中")
    assert run_campaign_batches(live_server) > 0
    expect(manager.locator("#campaign-status")).to_have_text("已完成")
    expect(manager.locator("#coupons-redeemed")).to_have_text("0")

    # The owner opens the offer from the message; it shows their own code.
    owner.goto("/notifications")
    message = owner.locator(".notifications a", has_text="E2E 配件满200减30")
    expect(message).to_be_visible()
    message.click()
    expect(owner).to_have_url(re.compile(r"/c/[^/]+/offer$"))
    expect(owner.locator("#offer-coupon")).to_contain_text("E2E 满减券")
    assert_fits_phone(owner)
    code = re.search(r"C\d+-\d+", owner.locator("#offer-coupon").inner_text()).group(0)
    owner.locator("#offer-my-coupons").click()
    expect(owner).to_have_url(re.compile(r"/shop/coupons$"))
    mine = owner.locator("#coupon-list li", has_text=code)
    expect(mine).to_contain_text("E2E 满减券")
    expect(mine.locator(".badge")).to_be_visible()  # ready to use
    assert_fits_phone(owner)

    # A product over the minimum, into the cart, and the coupon chosen at checkout.
    product_id, price_fen = product_over_minimum(live_server)
    owner.goto(f"/shop/products/{product_id}")
    owner.locator("#add-to-cart").click()
    owner.goto("/shop/cart")
    owner.locator("#checkout").click()
    expect(owner.locator("#place-order")).to_be_visible()
    assert_fits_phone(owner)
    subtotal_fen = int(re.sub(r"[^\d]", "", owner.locator("#checkout-total").inner_text()))
    assert subtotal_fen >= price_fen
    owner.select_option("#coupon", value=code)
    if owner.locator("#fits_confirmed").count():
        owner.locator("#fits_confirmed").check()
    owner.locator("#place-order").click()
    expect(owner).to_have_url(re.compile(r"/shop/orders/\d+$"))
    expect(owner.locator("#order-discount")).to_contain_text(code)
    expect(owner.locator("#order-discount")).to_contain_text("-¥30.00")
    expect(owner.locator("[id^=status-]")).to_have_text("待支付")
    number = owner.locator("h1").inner_text().split()[-1]
    paid_fen = int(re.sub(r"[^\d]", "", owner.locator("#order-total").inner_text()))
    assert paid_fen == subtotal_fen - 3000
    assert_fits_phone(owner)
    owner.goto("/shop/coupons")
    expect(owner.locator("#coupon-list li", has_text=code)).to_contain_text("已使用")

    # Not paid yet: the campaign shows it waiting, not redeemed.
    manager.goto(campaign_url)
    expect(manager.locator("#coupons-redeemed")).to_have_text("0 (另有 1 张在未付款的订单中)")

    # Paid at the store: the redemption and its revenue count in the campaign's return.
    manager.goto("/admin/shop_orders/")
    manager.locator(f"#order-{number}").click()
    manager.locator("#act-paid").click()
    expect(manager.locator("[id^=status-]")).to_have_text("已支付")
    manager.goto(campaign_url)
    expect(manager.locator("#coupons-redeemed")).to_have_text("1")
    expect(manager.locator("#coupons-revenue")).to_have_text(cny(paid_fen))
    reached = manager.locator("#campaign-return tbody tr").first
    expect(reached.locator("td").nth(2)).to_have_text("1")  # converted
    expect(reached.locator("td").nth(4)).to_have_text(cny(paid_fen))
    expect(manager.locator("#funnel-revenue")).to_have_text(cny(paid_fen))
