"""Buy now: one product ordered straight from its page, the service and the view."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.errors import Conflict, ValidationError
from portal.extensions import db
from shop import cart as carts
from shop import orders, payments, stock
from shop.models import Cart, Order, Product
from shop.orders import pickup
from tests.shop.test_views import _Queries


def _stock(product) -> int:
    return db.session.scalar(select(Product.stock).where(Product.id == product.id))


def _orders() -> int:
    return db.session.scalar(select(func.count(Order.id)))


def test_buy_now_orders_the_product_and_leaves_the_cart_alone(owner, store, shop):
    p, other = shop.product(stock_qty=5, price_fen=10000), shop.product()
    shop.discount(p, "percent", 25)
    carts.set_quantity(carts.open_cart(owner), other, 2)
    order = orders.buy_now(owner, p, 2, delivery="pickup", store=store, expected_price_fen=7500)
    db.session.commit()
    line = order.lines[0]
    assert (line.product_id, line.quantity, line.unit_price_fen, line.list_price_fen) == (
        p.id, 2, 7500, 10000,
    )  # fmt: skip
    assert order.total_fen == 15000 and order.status == "pending" and order.stock_state == "held"
    assert _stock(p) == 3 == stock.ledger_total(p.id)
    assert {i.product_id: i.quantity for i in carts.find(owner).items} == {other.id: 2}


@pytest.mark.parametrize(
    ("quantity", "kw", "error", "match"),
    [
        (0, {}, ValidationError, "quantity"),
        (100, {}, ValidationError, "quantity"),
        (1, {"expected_price_fen": 1}, ValidationError, "prices changed"),
        (1, {"delivery": "delivery"}, ValidationError, "address"),
        (1, {"payment": "stripe"}, ValidationError, "payment"),
        (4, {}, Conflict, "Only 3"),
    ],
)
def test_buy_now_refuses_bad_input_and_changes_nothing(owner, store, shop, quantity, kw, error,
                                                       match):  # fmt: skip
    p = shop.product(stock_qty=3, price_fen=1000)
    args = {"delivery": "pickup", "store": store, "expected_price_fen": 1000, **kw}
    with pytest.raises(error, match=match):
        orders.buy_now(owner, p, quantity, **args)
    db.session.rollback()
    assert _orders() == 0 and _stock(p) == 3 == stock.ledger_total(p.id)


def test_staff_cannot_buy_now(store, f, shop):
    with pytest.raises(Exception, match="Only car owners"):
        orders.buy_now(f.advisor(store), shop.product(), 1, delivery="pickup", store=store)


def _buy(client, product, **data):
    page = client.get(f"/shop/products/{product.id}").get_data(as_text=True)
    expected = re.search(r'name="expected_price_fen" type="hidden" value="(\d+)"', page)
    day = re.search(r'name="pickup_on" type="date" value="([\d-]+)"', page)
    form = {"quantity": "1", "delivery": "pickup", "payment": "store", "address": "",
            "store": re.search(r'<option selected value="(\d+)"', page).group(1),
            "expected_price_fen": expected.group(1), "pickup_on": day.group(1)}  # fmt: skip
    form.update(data)
    return client.post(f"/shop/products/{product.id}/buy", data=form)


def test_buy_now_from_the_product_page(client, auth, owner, store, shop):
    p, other = shop.product(stock_qty=4, price_fen=2500), shop.product()
    assert 'id="buy-now"' not in client.get(f"/shop/products/{p.id}").get_data(as_text=True)
    auth.login(owner)
    client.post(f"/shop/cart/add/{other.id}", data={"quantity": "1"})
    r = _buy(client, p, quantity="3")
    assert r.status_code == 303, r.get_data(as_text=True)
    order = db.session.scalar(select(Order))
    assert r.headers["Location"].endswith(f"/shop/orders/{order.id}")
    assert order.total_fen == 7500 and order.store_id == store.id and order.delivery == "pickup"
    assert _stock(p) == 1 == stock.ledger_total(p.id)
    assert [i.product_id for i in db.session.scalar(select(Cart)).items] == [other.id]
    assert order.number in client.get(r.headers["Location"]).get_data(as_text=True)


def test_buy_now_errors_are_shown_at_their_fields(client, auth, owner, store, shop):
    p = shop.product(stock_qty=2, price_fen=1000)
    auth.login(owner)
    r = _buy(client, p, quantity="3")
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="buy-quantity-error">Only 2 of' in body
    assert '<details class="buy-now" id="buy-now" open>' in body
    r = _buy(client, p, delivery="delivery")
    assert r.status_code == 422 and 'id="address-error">Enter the delivery address' in (
        r.get_data(as_text=True)
    )
    r = _buy(client, p, quantity="0")
    assert r.status_code == 422 and 'id="buy-quantity-error"' in r.get_data(as_text=True)
    r = _buy(client, p, expected_price_fen="1")
    assert r.status_code == 422 and "prices changed" in r.get_data(as_text=True)
    assert _orders() == 0 and _stock(p) == 2


def test_buy_now_of_a_product_sold_out_meanwhile_says_so(client, auth, f, owner, store, shop):
    p = shop.product(stock_qty=1, price_fen=1000, name="Last mat")
    auth.login(owner)
    page = client.get(f"/shop/products/{p.id}").get_data(as_text=True)
    assert 'id="buy-now"' in page
    orders.buy_now(f.owner(store), p, 1, delivery="pickup", store=store)
    db.session.commit()
    r = client.post(f"/shop/products/{p.id}/buy", data={
        "quantity": "1", "delivery": "pickup", "payment": "store", "store": str(store.id),
        "expected_price_fen": "1000", "pickup_on": pickup.window(store)[0].isoformat(),
    })  # fmt: skip
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "Last mat is sold out." in body
    assert 'class="warn" id="stock"' in body and 'id="buy-now"' not in body
    assert _orders() == 1 and _stock(p) == 0


def test_buy_now_of_a_misfit_part_needs_a_confirmation(client, auth, f, owner, store, shop):
    f.vehicle(owner, brand="丰田", series="凯美瑞")
    p = shop.product(fits=[("本田", "思域")])
    auth.login(owner)
    r = _buy(client, p)
    assert r.status_code == 422 and "fit none of your cars" in r.get_data(as_text=True)
    assert _orders() == 0
    assert _buy(client, p, fits_confirmed="y").status_code == 303 and _orders() == 1


def test_buy_now_stays_within_its_query_budget(client, auth, owner, store, shop):
    """User with login session, product with discounts and fitments, stores, expired holds;
    then the order, one conditional UPDATE, the ledger row and the line."""
    p = shop.product(stock_qty=5, price_fen=1000)
    auth.login(owner)
    page = client.get(f"/shop/products/{p.id}").get_data(as_text=True)
    assert 'id="buy-now"' in page
    url, store_id = f"/shop/products/{p.id}/buy", str(store.id)
    with _Queries() as buy:
        r = client.post(url, data={
            "quantity": "2", "delivery": "pickup", "payment": "store", "store": store_id,
            "expected_price_fen": "1000", "pickup_on": pickup.window(store)[0].isoformat(),
        })  # fmt: skip
    assert r.status_code == 303 and "/shop/orders/" in r.headers["Location"]
    sql = [q.split()[0] for q in buy.statements if q.split()[0] not in ("BEGIN", "COMMIT")]
    assert sql == ["SELECT"] * 4 + ["INSERT", "UPDATE", "INSERT", "INSERT"], buy.statements
    assert _stock(p) == 3 == stock.ledger_total(p.id)


def test_buy_now_by_card_goes_to_the_payment_page(client, auth, owner, store, shop, stripe_keys,
                                                  monkeypatch):  # fmt: skip
    monkeypatch.setattr(
        payments, "create_intent", lambda order: SimpleNamespace(id=f"pi_{order.number}")
    )
    p = shop.product(stock_qty=2, price_fen=5000)
    auth.login(owner)
    page = client.get(f"/shop/products/{p.id}").get_data(as_text=True)
    assert "Pay now online: Bank card, Alipay, or WeChat Pay" in page
    r = _buy(client, p, payment="stripe")
    order = db.session.scalar(select(Order))
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/shop/orders/{order.id}/pay")
    assert order.payment == "stripe" and order.payment_intent_id == f"pi_{order.number}"
    assert order.stock_state == "held" and _stock(p) == 1


def test_buy_now_to_pay_at_the_store_holds_the_stock_until_the_chosen_day(
    client, auth, owner, store, shop
):
    p = shop.product(stock_qty=3, price_fen=2500)
    auth.login(owner)
    first, last = pickup.window(store)
    page = client.get(f"/shop/products/{p.id}").get_data(as_text=True)
    assert f'value="{first.isoformat()}"' in page and f'max="{last.isoformat()}"' in page
    missing = _buy(client, p, pickup_on="")
    assert missing.status_code == 422 and "Choose the day you will pick up" in missing.get_data(
        as_text=True
    )
    late = _buy(client, p, pickup_on=(last + timedelta(days=1)).isoformat())
    assert late.status_code == 422 and _orders() == 0 and _stock(p) == 3
    r = _buy(client, p, pickup_on=last.isoformat())
    assert r.status_code == 303
    order = db.session.scalar(select(Order))
    assert order.pickup_on == last and order.hold_expires_at == pickup.deadline(store, last)
    assert _stock(p) == 2
