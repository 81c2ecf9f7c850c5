"""order.paid reaches a store's webhook endpoint, once, with the order's lines in fen."""

from __future__ import annotations

import json

from portal.services import webhooks
from portal.webhook_signature import verify
from portal.worker.delivery import deliver_due
from shop import cart as carts
from shop import orders
from tests.channel_fakes import FakeServer
from tests.shop.test_alipay_wechat import _succeeded
from tests.shop.test_webhooks import post


def test_paying_at_the_store_sends_order_paid(app, monkeypatch, f, db, shop, store, owner):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    server = FakeServer(lambda req: (200, {}, b"ok")).start()
    _endpoint, secret = webhooks.create_endpoint(
        f.manager(store), store.id, server.url, ["order.paid"]
    )
    product = shop.product(stock_qty=3, price_fen=12_900)
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, product, 2)
    order = orders.place_order(owner, cart, delivery="pickup", store=store)
    db.session.commit()
    assert deliver_due(channels=[webhooks.CHANNEL])["sent"] == 0  # placing is not paying
    orders.mark_paid_at_store(f.advisor(store), order)
    db.session.commit()
    assert deliver_due(channels=[webhooks.CHANNEL])["sent"] == 1
    (req,) = server.received
    assert verify(secret, req.body, req.headers["m4s-signature"])
    event = json.loads(req.body)
    assert event["type"] == "order.paid" and req.headers["m4s-event-id"] == event["id"]
    paid = event["data"]["order"]
    assert paid["number"] == order.number and paid["paid_via"] == "store"
    assert paid["payment_method"] is None
    assert paid["total_fen"] == order.total_fen
    assert paid["lines"] == [
        {"product_id": product.id, "name": product.name, "quantity": 2, "unit_price_fen": 12_900}
    ]
    server.stop()


def test_an_alipay_payment_sends_order_paid_with_its_method(
    app, monkeypatch, client, f, db, shop, store, owner, stripe_keys
):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    server = FakeServer(lambda req: (200, {}, b"ok")).start()
    webhooks.create_endpoint(f.manager(store), store.id, server.url, ["order.paid"])
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, shop.product(stock_qty=1, price_fen=8_800), 1)
    order = orders.place_order(owner, cart, delivery="pickup", store=store, payment="stripe")
    order.payment_intent_id = "pi_m4s_order_paid"
    db.session.commit()
    assert post(client, _succeeded(order, "alipay")).json["result"] == "applied"
    assert deliver_due(channels=[webhooks.CHANNEL])["sent"] == 1
    paid = json.loads(server.received[0].body)["data"]["order"]
    assert (paid["paid_via"], paid["payment_method"], paid["total_fen"]) == (
        "stripe",
        "alipay",
        8_800,
    )
    server.stop()
