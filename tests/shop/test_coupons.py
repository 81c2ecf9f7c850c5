"""Coupons at checkout: the rules, the discount, one coupon one order under racing checkouts,
and the coupon coming back when the unpaid order is cancelled."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.models import User
from portal.timeutil import set_clock
from shop import cart as carts
from shop import coupons, orders
from shop.coupon_models import Coupon
from shop.models import Order, Product
from tests.shop.coupon_data import coupon, offer
from tests.threads import at_once

# 2026-12-03 10:00 in Shanghai: the store's today is 3 December.
START = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


@pytest.fixture
def fixed(clock):
    clock.now = START
    set_clock(lambda: clock.now)
    return clock


def _order(owner, store, product, qty=1, payment="store"):
    return orders.buy_now(owner, product, qty, delivery="pickup", store=store, payment=payment)


def _holder(c: Coupon) -> int | None:
    return db.session.scalar(select(Coupon.order_id).where(Coupon.id == c.id))


@pytest.mark.parametrize(
    ("kw", "subtotal", "off"),
    [
        ({"amount_off_fen": 2000}, 15_000, 2000),
        ({"amount_off_fen": 2000}, 1500, 1500),  # never more than the order: total 0, not -5
        ({"percent_off": 15}, 10_001, 1500),  # rounded down to the fen
        ({"percent_off": 50, "cap_fen": 3000}, 10_000, 3000),  # the cap
        ({"percent_off": 50, "cap_fen": 3000}, 4000, 2000),
    ],
)
def test_the_discount_is_the_offer_never_more_than_the_order(store, fixed, kw, subtotal, off):
    assert coupons.discount_fen(offer(store, **kw), subtotal) == off


def test_an_owner_redeems_their_coupon_and_the_order_records_it(owner, store, shop, fixed):
    p = shop.product(price_fen=6000)
    c = coupon(offer(store), owner, "C1-42")
    order = _order(owner, store, p, qty=2)
    coupons.redeem(owner, order, " c1-42 ")  # typed with spaces, in lower case
    db.session.commit()
    order = db.session.get(Order, order.id)
    assert (order.total_fen, order.discount_fen, order.coupon_code) == (10_000, 2000, "C1-42")
    assert _holder(c) == order.id
    assert coupons.usable(owner) == []


def test_a_coupon_may_bring_a_store_payment_to_zero(owner, store, shop, fixed):
    p = shop.product(price_fen=1500)
    coupon(offer(store, min_order_fen=0, amount_off_fen=5000), owner, "FREE")
    order = _order(owner, store, p)
    coupons.redeem(owner, order, "FREE")
    db.session.commit()
    assert db.session.get(Order, order.id).total_fen == 0


def _refused(owner, store, p, code, error, payment="store"):
    order = _order(owner, store, p, payment=payment)
    with pytest.raises(error) as caught:
        coupons.redeem(owner, order, code)
    db.session.rollback()
    for stale in [o for o in db.session.identity_map.values() if isinstance(o, Order)]:
        db.session.expunge(stale)  # as a new request's session would: the order id is reused
    assert db.session.scalar(select(func.count(Order.id))) == 0
    assert db.session.scalar(select(func.count(Coupon.id)).where(Coupon.order_id.is_not(None))) == 0
    return caught.value.message


def test_the_rules_refuse_and_change_nothing(f, owner, store, shop, fixed):
    p = shop.product(price_fen=9000)
    cheap = shop.product(price_fen=9999)
    dear = shop.product(price_fen=10_000)
    other = f.owner(store)
    coupon(offer(store), other, "THEIRS")
    coupon(offer(store, valid_to=date(2026, 12, 2)), owner, "OLD")
    coupon(offer(store, valid_from=date(2026, 12, 4)), owner, "SOON")
    coupon(offer(store), owner, "MINE")
    assert "no coupon" in _refused(owner, store, p, "THEIRS", ValidationError)
    assert "no coupon" in _refused(owner, store, p, "NOPE", ValidationError)
    assert "2026-12-02" in _refused(owner, store, p, "OLD", ValidationError)
    assert "2026-12-04" in _refused(owner, store, p, "SOON", ValidationError)
    assert "¥100.00" in _refused(owner, store, cheap, "MINE", ValidationError)
    order = _order(owner, store, dear)  # exactly the minimum is enough
    coupons.redeem(owner, order, "MINE")
    db.session.commit()
    assert db.session.get(Order, order.id).total_fen == 8000


def test_the_last_valid_day_counts_in_the_store_zone(owner, store, shop, fixed):
    p = shop.product(price_fen=20_000)
    coupon(offer(store, valid_to=date(2026, 12, 3)), owner, "TODAY")
    fixed.now = datetime(2026, 12, 3, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai: still today
    assert [c.code for c in coupons.usable(owner)] == ["TODAY"]
    fixed.now = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # midnight there: the 4th
    assert coupons.usable(owner) == []
    assert "2026-12-03" in _refused(owner, store, p, "TODAY", ValidationError)


def test_a_used_coupon_is_refused(owner, store, shop, fixed):
    p = shop.product(price_fen=20_000, stock_qty=5)
    coupon(offer(store), owner, "ONCE")
    coupons.redeem(owner, _order(owner, store, p), "ONCE")
    db.session.commit()
    second = _order(owner, store, p)
    with pytest.raises(Conflict):
        coupons.redeem(owner, second, "ONCE")


def test_a_card_payment_below_stripes_least_is_refused(owner, store, shop, fixed, stripe_keys):
    p = shop.product(price_fen=12_000)
    coupon(offer(store, amount_off_fen=11_700), owner, "BIG")
    message = _refused(owner, store, p, "BIG", ValidationError, payment="stripe")
    assert "¥3.00" in message and "¥4.00" in message and "store" in message
    order = _order(owner, store, p, payment="store")  # at the store it is fine
    coupons.redeem(owner, order, "BIG")
    assert order.total_fen == 300


def test_racing_checkouts_use_one_coupon_once(app, owner, store, shop, fixed):
    p = shop.product(price_fen=20_000, stock_qty=20)
    c = coupon(offer(store), owner, "RACE")
    owner_id, store_id, product_id = owner.id, store.id, p.id

    def checkout():
        me = db.session.get(User, owner_id)
        order = orders.buy_now(
            me, db.session.get(Product, product_id), 1, delivery="pickup",
            store=db.session.get(type(store), store_id), payment="store",
        )  # fmt: skip
        coupons.redeem(me, order, "RACE")
        return order.id

    results = at_once(app, checkout, 6)
    won = [r for r in results if isinstance(r, int)]
    assert len(won) == 1, results
    assert all("already used" in r for r in results if not isinstance(r, int)), results
    assert db.session.scalar(select(func.count(Order.id))) == 1  # the losers rolled back
    assert _holder(c) == won[0]
    assert db.session.scalar(select(Product.stock).where(Product.id == p.id)) == 19


def test_cancelling_the_unpaid_order_gives_the_coupon_back(owner, store, shop, fixed):
    p = shop.product(price_fen=20_000)
    c = coupon(offer(store), owner, "BACK")
    first = _order(owner, store, p)
    coupons.redeem(owner, first, "BACK")
    db.session.commit()
    orders.cancel(owner, first)
    db.session.commit()
    assert _holder(c) is None and [x.code for x in coupons.usable(owner)] == ["BACK"]
    kept = db.session.get(Order, first.id)
    assert kept.coupon_code == "BACK" and kept.discount_fen == 2000  # the record stays
    second = _order(owner, store, p)
    coupons.redeem(owner, second, "BACK")
    db.session.commit()
    assert coupons.release(kept) is False  # the old order cannot free the new one's coupon
    assert _holder(c) == second.id


def test_a_cancelled_card_payment_and_a_missed_pickup_give_it_back(owner, store, shop, fixed):
    p = shop.product(price_fen=20_000)
    c = coupon(offer(store), owner, "AGAIN")
    order = _order(owner, store, p)
    coupons.redeem(owner, order, "AGAIN")
    db.session.commit()
    orders.payment_canceled(order)
    db.session.commit()
    assert _holder(c) is None
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, p, 1)
    pickup = orders.place_order(
        owner, cart, delivery="pickup", store=store, payment="store", pickup_on=date(2026, 12, 3)
    )
    coupons.redeem(owner, pickup, "AGAIN")
    db.session.commit()
    fixed.now = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    assert orders.expire_pickups() == 1
    assert _holder(c) is None


def test_a_paid_order_keeps_its_coupon(f, client, auth, owner, store, shop, fixed):
    p = shop.product(price_fen=20_000)
    c = coupon(offer(store), owner, "KEPT")
    order = _order(owner, store, p)
    coupons.redeem(owner, order, "KEPT")
    db.session.commit()
    advisor = f.advisor(store)
    orders.mark_paid_at_store(advisor, order)
    db.session.commit()
    with pytest.raises(Conflict):
        orders.cancel(owner, order)
    db.session.rollback()
    assert _holder(c) == order.id
    auth.login(advisor)  # the staff page shows what the coupon took off
    page = client.get(f"/admin/shop_orders/{order.id}").get_data(as_text=True)
    assert 'id="order-discount"' in page and "KEPT" in page and "¥180.00" in page


def _checkout_form(client):
    page = client.get("/shop/checkout").get_data(as_text=True)
    expected = re.search(r'name="expected_total_fen" type="hidden" value="(\d+)"', page).group(1)
    return page, expected


def test_checkout_offers_the_owners_coupons_and_takes_the_discount(
    client, auth, owner, store, shop, fixed
):
    p = shop.product(price_fen=6000, stock_qty=4)
    coupon(offer(store), owner, "PICK")
    auth.login(owner)
    client.post(f"/shop/cart/add/{p.id}", data={"quantity": "2"})
    page, expected = _checkout_form(client)
    assert 'value="PICK"' in page and "Shop voucher (PICK)" in page
    form = {"delivery": "pickup", "payment": "store", "store": str(store.id),
            "pickup_on": "2026-12-04", "expected_total_fen": expected}  # fmt: skip
    bad = client.post("/shop/checkout", data={**form, "coupon_code": "WRONG"})
    assert bad.status_code == 422 and "You have no coupon with this code." in bad.get_data(
        as_text=True
    )
    assert db.session.scalar(select(func.count(Order.id))) == 0
    assert db.session.scalar(select(Product.stock).where(Product.id == p.id)) == 4
    done = client.post("/shop/checkout", data={**form, "coupon": "PICK"})
    assert done.status_code == 303, done.get_data(as_text=True)
    order = db.session.scalar(select(Order))
    assert (order.total_fen, order.discount_fen) == (10_000, 2000)
    shown = client.get(f"/shop/orders/{order.id}").get_data(as_text=True)
    assert 'id="order-discount"' in shown and "PICK" in shown and "¥100.00" in shown


def test_my_coupons_lists_only_my_own(client, auth, f, owner, store, fixed):
    o = offer(store)
    coupon(o, owner, "MINE1")
    coupon(o, f.owner(store), "THEIRS1")
    auth.login(owner)
    page = client.get("/shop/coupons").get_data(as_text=True)
    assert "MINE1" in page and "THEIRS1" not in page and "¥20.00" in page
