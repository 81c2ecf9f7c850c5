"""The owner's shop through the client: catalog, cart (htmx and plain), checkout, orders."""

from __future__ import annotations

import re

from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from portal.extensions import db
from shop import stock
from shop.models import Cart, Order, Product
from shop.orders import pickup


def _csrf_free(client):
    return client


def test_shop_home_shows_hot_and_recommended_with_prices(client, shop):
    hot = shop.product(name="Hot mat", price_fen=10000)
    rec = shop.product(name="Nice cover", price_fen=5000)
    shop.discount(hot, "percent", 20)
    shop.placement(hot, "hot")
    shop.placement(rec, "recommended")
    body = client.get("/shop/").get_data(as_text=True)
    assert 'id="hot"' in body and "Hot mat" in body and "Nice cover" in body
    assert "¥80.00" in body and "¥100.00" in body  # discounted and original price


def test_hot_fragment_is_a_fragment(client, shop):
    shop.placement(shop.product(name="Dash cam"), "hot")
    r = client.get("/shop/hot", headers={"HX-Request": "true"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "Dash cam" in body and "<html" not in body


def test_search_and_filters(client, shop):
    a = shop.category("Mats")
    shop.product(name="Floor mat", category=a, stock_qty=0)
    sale = shop.product(name="Seat cover", price_fen=20000)
    shop.discount(sale, "fixed", 5000)
    body = client.get("/shop/?q=mat").get_data(as_text=True)
    assert "Floor mat" in body and "Seat cover" not in body
    body = client.get("/shop/?sale=1").get_data(as_text=True)
    assert "Seat cover" in body and "Floor mat" not in body
    body = client.get(f"/shop/?category={a.id}&stock=1").get_data(as_text=True)
    assert "Floor mat" not in body and "0 results" in body


def test_fitment_says_fits_and_warns(client, auth, f, owner, shop):
    f.vehicle(owner, brand="丰田", series="凯美瑞")
    fits = shop.product(name="Camry mat", fits=[("丰田", "凯美瑞")])
    other = shop.product(name="Civic mat", fits=[("本田", "思域")])
    auth.login(owner)
    body = client.get(f"/shop/products/{fits.id}").get_data(as_text=True)
    assert 'id="fits"' in body and "凯美瑞" in body and 'id="fits-none"' not in body
    body = client.get(f"/shop/products/{other.id}").get_data(as_text=True)
    assert 'id="fits-none"' in body
    body = client.get("/shop/?fits=1").get_data(as_text=True)
    assert "Camry mat" in body and "Civic mat" not in body


def test_cart_quantity_with_htmx_and_without(client, shop):
    p = shop.product(stock_qty=3, price_fen=1000)
    r = client.post(f"/shop/cart/add/{p.id}", data={"quantity": "2"})
    assert r.status_code == 303
    r = client.post(f"/shop/cart/{p.id}", data={"quantity": "3"}, headers={"HX-Request": "true"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and "¥30.00" in body
    r = client.post(f"/shop/cart/{p.id}", data={"quantity": "4"}, headers={"HX-Request": "true"})
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "Only 3" in body and 'value="3"' in body
    r = client.post(f"/shop/cart/{p.id}", data={"quantity": "-1"})
    assert r.status_code == 303
    assert "from 0 to 99" in client.get("/shop/cart").get_data(as_text=True)
    assert db.session.scalar(select(Cart)).items[0].quantity == 3
    client.post(f"/shop/cart/{p.id}", data={"quantity": "0"})
    assert "Your cart is empty" in client.get("/shop/cart").get_data(as_text=True)


def test_cannot_add_more_than_stock_or_unknown_products(client, shop):
    p = shop.product(stock_qty=1)
    client.post(f"/shop/cart/add/{p.id}", data={"quantity": "1"})
    r = client.post(f"/shop/cart/add/{p.id}", data={"quantity": "1"}, follow_redirects=True)
    assert "Only 1" in r.get_data(as_text=True)
    assert client.post("/shop/cart/add/99999", data={"quantity": "1"}).status_code == 404
    assert client.post("/shop/cart/99999", data={"quantity": "1"}).status_code == 404


def test_anonymous_cart_merges_at_login(client, auth, owner, shop):
    a, b = shop.product(stock_qty=5), shop.product(stock_qty=5)
    auth.login(owner)
    client.post(f"/shop/cart/add/{a.id}", data={"quantity": "1"})
    auth.logout()
    client.post(f"/shop/cart/add/{a.id}", data={"quantity": "2"})
    client.post(f"/shop/cart/add/{b.id}", data={"quantity": "1"})
    assert "m4s_cart" in (
        client.get_cookie("m4s_cart").key if client.get_cookie("m4s_cart") else ""
    )
    auth.login(owner)
    carts = db.session.scalars(select(Cart)).all()
    assert len(carts) == 1 and carts[0].user_id == owner.id
    assert {i.product_id: i.quantity for i in carts[0].items} == {a.id: 3, b.id: 1}
    assert client.get_cookie("m4s_cart") is None


def test_tampered_cart_cookie_is_ignored(client, shop):
    p = shop.product()
    client.set_cookie("m4s_cart", "forged.value")
    client.post(f"/shop/cart/add/{p.id}", data={"quantity": "1"})
    assert len(db.session.scalars(select(Cart)).all()) == 1


def _checkout(client, **data):
    page = client.get("/shop/checkout").get_data(as_text=True)
    expected = re.search(r'name="expected_total_fen" type="hidden" value="(\d+)"', page)
    day = re.search(r'name="pickup_on" type="date" value="([0-9-]*)"', page)
    form = {"delivery": "pickup", "payment": "store", "store": "", "address": "",
            "expected_total_fen": expected.group(1) if expected else "",
            "pickup_on": day.group(1) if day else ""}  # fmt: skip
    form.update(data)
    return client.post("/shop/checkout", data=form)


def test_checkout_pay_at_store_holds_stock_and_shows_order(client, auth, owner, store, shop):
    p = shop.product(stock_qty=4, price_fen=2500)
    auth.login(owner)
    client.post(f"/shop/cart/add/{p.id}", data={"quantity": "3"})
    r = _checkout(client, store=str(store.id))
    assert r.status_code == 303, r.get_data(as_text=True)
    order = db.session.scalar(select(Order))
    assert order.total_fen == 7500 and order.status == "pending" and order.stock_state == "held"
    assert db.session.get(Product, p.id).stock == 1
    body = client.get(r.headers["Location"]).get_data(as_text=True)
    assert order.number in body and "Waiting for payment" in body
    assert order.number in client.get("/shop/orders").get_data(as_text=True)
    receipt = client.get(f"/shop/orders/{order.id}/receipt").get_data(as_text=True)
    assert "¥75.00" in receipt and "no-print" in receipt


class _Queries:
    """Count the SQL statements the app sends (executemany batches count once)."""

    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __enter__(self):
        event.listen(Engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(Engine, "before_cursor_execute", self)


def test_cart_add_and_checkout_stay_within_their_query_budget(client, auth, owner, store, shop):
    """One read of the user with the login session, of the cart with its products, of the
    shelf of the owner's store; one conditional UPDATE per product; ledger rows and order lines
    inserted in one batch each."""
    a, b = shop.product(stock_qty=5, price_fen=1000), shop.product(stock_qty=5, price_fen=2000)
    ids, store_id = (a.id, b.id), str(store.id)
    day = pickup.window(store)[0].isoformat()
    auth.login(owner)
    client.post(f"/shop/cart/add/{ids[0]}", data={"quantity": "1"})
    with _Queries() as add:
        r = client.post(f"/shop/cart/add/{ids[1]}", data={"quantity": "2"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/shop/cart")
    with _Queries() as checkout:
        r = client.post("/shop/checkout", data={
            "delivery": "pickup", "payment": "store", "store": store_id,
            "expected_total_fen": "5000", "pickup_on": day,
        })  # fmt: skip
    assert r.status_code == 303 and "/shop/orders/" in r.headers["Location"]
    sql = [q.split()[0] for q in add.statements if q.split()[0] not in ("BEGIN", "COMMIT")]
    # user, product, cart with items, the home store's shelf of the product, INSERT item
    assert len(sql) <= 5, add.statements
    sql = [q.split()[0] for q in checkout.statements if q.split()[0] not in ("BEGIN", "COMMIT")]
    # user, cart with products, stores, expired holds; order; one UPDATE per product; cart
    assert sql.count("SELECT") <= 4 and sql.count("UPDATE") == 2, checkout.statements
    assert sql.count("DELETE") == 1, checkout.statements
    # The order, then its ledger rows and its lines in one multi-row INSERT each.
    assert sql.count("INSERT") == 3, checkout.statements
    order = db.session.scalar(select(Order))
    assert order.total_fen == 5000 and [li.quantity for li in order.lines] == [1, 2]
    assert db.session.get(Product, a.id).stock == 4 and db.session.get(Product, b.id).stock == 3
    assert stock.ledger_total(a.id) == 4 and stock.ledger_total(b.id) == 3


def test_price_tampering_in_the_form_changes_nothing(client, auth, owner, store, shop):
    p = shop.product(stock_qty=4, price_fen=2500)
    auth.login(owner)
    client.post(f"/shop/cart/add/{p.id}", data={"quantity": "1"})
    r = _checkout(client, store=str(store.id), expected_total_fen="1")
    assert r.status_code == 422 and "prices changed" in r.get_data(as_text=True)
    assert db.session.scalar(select(Order)) is None
    assert db.session.get(Product, p.id).stock == 4


def test_delivery_needs_an_address(client, auth, owner, store, shop):
    p = shop.product()
    auth.login(owner)
    client.post(f"/shop/cart/add/{p.id}", data={"quantity": "1"})
    r = _checkout(client, store=str(store.id), delivery="delivery")
    assert r.status_code == 422 and "delivery address" in r.get_data(as_text=True)
    r = _checkout(client, store=str(store.id), delivery="delivery", address="深圳市南山区 1 号")
    assert r.status_code == 303
    assert db.session.scalar(select(Order)).address == "深圳市南山区 1 号"


def test_misfit_parts_need_a_confirmation(client, auth, f, owner, store, shop):
    f.vehicle(owner, brand="丰田", series="凯美瑞")
    p = shop.product(fits=[("本田", "思域")])
    auth.login(owner)
    client.post(f"/shop/cart/add/{p.id}", data={"quantity": "1"})
    assert 'id="misfit-warning"' in client.get("/shop/checkout").get_data(as_text=True)
    r = _checkout(client, store=str(store.id))
    assert r.status_code == 422 and db.session.scalar(select(Order)) is None
    assert _checkout(client, store=str(store.id), fits_confirmed="y").status_code == 303


def test_stripe_is_not_offered_without_keys(client, auth, owner, store, shop):
    p = shop.product()
    auth.login(owner)
    client.post(f"/shop/cart/add/{p.id}", data={"quantity": "1"})
    assert "Pay now online" not in client.get("/shop/checkout").get_data(as_text=True)
    r = _checkout(client, store=str(store.id), payment="stripe")
    assert r.status_code == 422 and db.session.scalar(select(Order)) is None


def test_owner_cancels_an_unpaid_order(client, auth, owner, store, shop):
    p = shop.product(stock_qty=2)
    auth.login(owner)
    client.post(f"/shop/cart/add/{p.id}", data={"quantity": "2"})
    _checkout(client, store=str(store.id))
    order = db.session.scalar(select(Order))
    assert client.post(f"/shop/orders/{order.id}/cancel").status_code == 303
    db.session.refresh(order)
    assert order.status == "cancelled" and db.session.get(Product, p.id).stock == 2
