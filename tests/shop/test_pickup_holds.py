"""Pay-at-store pickups: the owner's day holds the stock; a missed day cancels exactly once."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.errors import ValidationError
from portal.extensions import db
from portal.models import Notification, OutboxMessage, Store
from portal.timeutil import set_clock
from shop import cart as carts
from shop import orders
from shop.models import Order, Product
from tests.threads import at_once

# 2026-12-03 10:00 in Shanghai (UTC+8): the store's today is 3 December.
START = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


@pytest.fixture
def fixed(clock):
    clock.now = START
    set_clock(lambda: clock.now)
    return clock


def _order(owner, store, product, day, qty=2, payment="store"):
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, product, qty)
    order = orders.place_order(
        owner, cart, delivery="pickup", store=store, payment=payment, pickup_on=day
    )
    db.session.commit()
    return order


def _stock(product) -> int:
    return db.session.scalar(select(Product.stock).where(Product.id == product.id))


def test_the_hold_lasts_to_the_end_of_the_pickup_day_in_the_store_zone(owner, store, shop, fixed):
    p = shop.product(stock_qty=5)
    order = _order(owner, store, p, date(2026, 12, 5))
    assert order.pickup_on == date(2026, 12, 5)
    # Midnight after 5 December in Shanghai is 16:00 UTC on the 5th.
    assert order.hold_expires_at == datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
    assert _stock(p) == 3
    fixed.now = datetime(2026, 12, 5, 15, 59, tzinfo=UTC)
    assert orders.expire_holds() == 0 and orders.expire_pickups() == 0
    assert _stock(p) == 3 and db.session.get(Order, order.id).status == "pending"


@pytest.mark.parametrize("day", [date(2026, 12, 2), date(2026, 12, 7), date(2027, 1, 1), None])
def test_a_day_outside_the_window_is_refused_and_changes_nothing(owner, store, shop, fixed, day):
    p = shop.product(stock_qty=5)
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, p, 1)
    db.session.commit()
    if day is None:
        # Without a day the domain keeps the short hold (buy now, API); the page asks for one.
        order = orders.place_order(owner, cart, delivery="pickup", store=store, pickup_on=None)
        assert order.pickup_on is None
        db.session.rollback()
        return
    with pytest.raises(ValidationError) as err:
        orders.place_order(owner, cart, delivery="pickup", store=store, pickup_on=day)
    db.session.rollback()
    assert err.value.field == "pickup_on" and "2026-12-03" in err.value.message
    assert _stock(p) == 5 and db.session.scalar(select(func.count(Order.id))) == 0


def test_the_store_sets_the_window(owner, store, shop, fixed):
    store.pickup_hold_days = 1
    db.session.commit()
    p = shop.product(stock_qty=5)
    with pytest.raises(ValidationError):
        _order(owner, store, p, date(2026, 12, 5))
    db.session.rollback()
    assert _order(owner, store, p, date(2026, 12, 4)).pickup_on == date(2026, 12, 4)


def test_a_missed_pickup_is_cancelled_once_stock_returned_and_owner_told(owner, store, shop, fixed):
    p = shop.product(stock_qty=5)
    order = _order(owner, store, p, date(2026, 12, 3))
    fixed.now = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    assert orders.expire_pickups() == 1
    assert orders.expire_pickups() == 0
    order = db.session.get(Order, order.id)
    assert order.status == "cancelled" and order.stock_state == "released"
    assert _stock(p) == 5
    notes = db.session.scalars(select(Notification).where(Notification.user_id == owner.id)).all()
    assert len(notes) == 1 and order.number in notes[0].text
    assert (
        db.session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.user_id == owner.id)
        )
        >= 1
    )


def test_the_short_hold_sweep_first_then_the_pickup_job_still_cancels(owner, store, shop, fixed):
    p = shop.product(stock_qty=5)
    order = _order(owner, store, p, date(2026, 12, 3))
    fixed.now = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    assert orders.expire_holds() == 1  # the 60 s sweep released the stock (still pending)
    assert orders.expire_pickups() == 1
    assert db.session.get(Order, order.id).status == "cancelled" and _stock(p) == 5


def test_paid_at_store_in_time_is_not_cancelled(owner, store, shop, fixed, f):
    p = shop.product(stock_qty=5)
    order = _order(owner, store, p, date(2026, 12, 4))
    orders.mark_paid_at_store(f.advisor(store), order)
    db.session.commit()
    fixed.advance(days=3)
    assert orders.expire_pickups() == 0
    assert db.session.get(Order, order.id).status == "paid" and _stock(p) == 3


def test_two_workers_at_once_cancel_and_tell_exactly_once(app, owner, store, shop, fixed):
    p = shop.product(stock_qty=9)
    for _ in range(3):
        _order(owner, store, p, date(2026, 12, 3), qty=1)
    fixed.now = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    n = 4
    results = at_once(app, orders.expire_pickups, n)
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 3
    assert _stock(p) == 9
    assert db.session.scalar(select(func.count(Notification.id))) == 3
    statuses = db.session.scalars(select(Order.status)).all()
    assert statuses == ["cancelled"] * 3


def test_checkout_page_offers_the_window_and_refuses_a_bad_day(client, auth, owner, store, shop,
                                                               fixed):  # fmt: skip
    p = shop.product(stock_qty=4, price_fen=2500)
    auth.login(owner)
    client.post(f"/shop/cart/add/{p.id}", data={"quantity": "2"})
    page = client.get("/shop/checkout").get_data(as_text=True)
    assert 'min="2026-12-03"' in page and 'max="2026-12-06"' in page
    expected = re.search(r'name="expected_total_fen" type="hidden" value="(\d+)"', page).group(1)
    form = {"delivery": "pickup", "payment": "store", "store": str(store.id), "address": "",
            "expected_total_fen": expected}  # fmt: skip
    for bad in ("2026-12-09", "2026-12-01", "not-a-day", ""):
        r = client.post("/shop/checkout", data={**form, "pickup_on": bad})
        assert r.status_code == 422, bad
        assert db.session.scalar(select(func.count(Order.id))) == 0 and _stock(p) == 4
    r = client.post("/shop/checkout", data={**form, "pickup_on": "2026-12-04"})
    assert r.status_code == 303, r.get_data(as_text=True)
    order = db.session.scalar(select(Order))
    assert order.pickup_on == date(2026, 12, 4) and _stock(p) == 2
    body = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "2026-12-04" in body and 'id="pickup-day"' in body
    fixed.now = START + timedelta(days=2)
    assert orders.expire_pickups() == 1
    db.session.commit()
    body = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'id="pickup-missed"' in body


def test_store_default_window_is_three_days(store):
    assert db.session.get(Store, store.id).pickup_hold_days == 3


def test_back_office_lists_awaiting_pickups_by_day_for_its_store_only(client, auth, f, shop,
                                                                     fixed):  # fmt: skip
    store, other = f.store(), f.store()
    p = shop.product(stock_qty=9, store=store)
    f.stock(p, 1, other)  # each store sells from its own shelf
    mine = [_order(f.owner(store), store, p, date(2026, 12, d), qty=1) for d in (5, 4, 4)]
    theirs = _order(f.owner(other), other, p, date(2026, 12, 4), qty=1)
    auth.login(f.advisor(store))
    body = client.get("/admin/shop_orders/?status=pickup").get_data(as_text=True)
    assert body.index('id="pickup-2026-12-04"') < body.index('id="pickup-2026-12-05"')
    assert all(o.number in body for o in mine) and theirs.number not in body
    assert (
        body.index(mine[1].number)
        < body.index('id="pickup-2026-12-05"')
        < body.index(mine[0].number)
    )


def test_a_manager_sets_the_pickup_window_and_bad_input_changes_nothing(client, auth, f):
    store = f.store()
    auth.login(f.manager(store))
    hours = {"bays": "6", "opens_at": "08:30", "closes_at": "18:00"}
    for bad in ("31", "-1", "abc", ""):
        r = client.post("/admin/my_store/", data={**hours, "pickup_hold_days": bad})
        assert r.status_code == 200 and "0 to 30 days" in r.get_data(as_text=True), bad
        db.session.expire_all()
        assert db.session.get(Store, store.id).pickup_hold_days == 3
    r = client.post("/admin/my_store/", data={**hours, "pickup_hold_days": "7"})
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(Store, store.id).pickup_hold_days == 7
    assert 'id="pickup-hold-days"' in client.get("/admin/my_store/").get_data(as_text=True)
