"""The owner home's strip of orders waiting on the owner (to pay, or to pick up)."""

from __future__ import annotations

from portal.extensions import db
from shop import cart as carts
from shop import orders


def test_orders_waiting_to_be_paid_or_picked_up_show_on_the_home(
    f, client, auth, shop, store, owner
):
    product = shop.product(stock_qty=5)
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, product, 1)
    order = orders.place_order(owner, cart, delivery="pickup", store=store)
    db.session.commit()
    auth.login(owner)
    assert 'hx-get="/shop/orders/waiting"' in client.get("/").get_data(as_text=True)
    fragment = client.get("/shop/orders/waiting").get_data(as_text=True)
    assert order.number in fragment and 'id="orders-waiting"' in fragment

    other = f.owner(store)
    auth.logout()
    auth.login(other)
    fragment = client.get("/shop/orders/waiting").get_data(as_text=True)
    assert order.number not in fragment and "hidden" in fragment
