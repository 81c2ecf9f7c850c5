"""Card payments end to end against localstripe: the real stripe library, real webhooks.

What localstripe really does (checked against localstripe 1.15.10):
- it POSTs each event, signed with the secret we register at /_config/webhooks/<id>, about
  one second after the API call that caused it, to any URL: so the app runs here under a
  real werkzeug server on loopback and receives the webhooks itself;
- `payment_intent.succeeded` and `payment_intent.payment_failed` are sent, but no
  `charge.refunded`: the refund test posts that event itself, signed the same way;
- it ignores idempotency keys, so the keys are checked on the requests our client sent;
- `confirm` with a payment_method is not implemented: the method is set by an update first;
- it accepts payment_method_types and payment_method_options (Alipay, WeChat Pay) on a
  PaymentIntent but keeps neither, and has no Alipay or WeChat Pay payment methods: so the
  request our client sent is checked, and tests/shop/test_alipay_wechat.py posts those
  methods' webhooks itself.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import stripe
from sqlalchemy import select
from werkzeug.serving import make_server

from portal.extensions import db
from shop import orders, payments
from shop.models import Order, Product, Refund
from tests.shop.test_webhooks import event, sign

HERE = Path(__file__).parent
SECRET = "whsec_localstripe_m4s"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def localstripe(tmp_path):
    """Start localstripe on 127.0.0.1 (from scratch, data in tmp_path); fail if it cannot."""
    port = _free_port()
    log = (tmp_path / "localstripe.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "localstripe_loopback.py"), "--port", str(port),
         "--data", str(tmp_path / "localstripe.pickle"), "--from-scratch"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            pytest.fail(f"localstripe exited: {(tmp_path / 'localstripe.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("localstripe did not start within 20 s")
            time.sleep(0.1)
    yield base
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


class RecordingClient(stripe.RequestsClient):
    """The stripe library's own HTTP client, noting each POST's idempotency key and body."""

    def __init__(self):
        super().__init__()
        self.keys: list[tuple[str, str]] = []
        self.bodies: list[tuple[str, str]] = []

    def request(self, method, url, headers, post_data=None):
        if method == "post":
            self.keys.append((url, (headers or {}).get("Idempotency-Key", "")))
            self.bodies.append((url, post_data or ""))
        return super().request(method, url, headers, post_data)


@pytest.fixture
def live(app, localstripe, monkeypatch):
    """The app under a real server thread, Stripe pointed at localstripe, webhook registered."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorder = RecordingClient()
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_localstripe")
    monkeypatch.setitem(app.config, "STRIPE_PUBLISHABLE_KEY", "pk_test_localstripe")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", localstripe)
    monkeypatch.setitem(app.extensions, "m4s_stripe_http", recorder)
    hook = urllib.request.Request(  # noqa: S310 (loopback)
        f"{localstripe}/_config/webhooks/m4s",
        data=f"url=http://127.0.0.1:{server.port}/shop/stripe/webhook&secret={SECRET}".encode(),
        method="POST",
    )
    with urllib.request.urlopen(hook, timeout=5) as r:  # noqa: S310
        assert r.status == 200
    yield recorder
    server.shutdown()
    thread.join(timeout=5)


def _card_checkout(client, auth, owner, store, product, qty=2) -> Order:
    auth.login(owner)
    client.post(f"/shop/cart/add/{product.id}", data={"quantity": str(qty)})
    total = product.price_fen * qty
    r = client.post("/shop/checkout", data={"delivery": "pickup", "store": str(store.id),
                    "payment": "stripe", "expected_total_fen": str(total)})  # fmt: skip
    assert r.status_code == 303 and "/pay" in r.headers["Location"], r.get_data(as_text=True)
    page = client.get(r.headers["Location"])
    assert "https://js.stripe.com" in page.headers["Content-Security-Policy"]
    assert 'data-client-secret="pi_' in page.get_data(as_text=True)
    return db.session.scalar(select(Order))


def _pay_with(app, order: Order, method: str) -> None:
    """Do what Stripe.js does in the browser: attach the card, then confirm."""
    with app.app_context():
        c = payments.client()
        c.v1.payment_intents.update(order.payment_intent_id, params={"payment_method": method})
        c.v1.payment_intents.confirm(order.payment_intent_id)


def _wait_for(order_id: int, check, seconds: float = 15) -> Order:
    deadline = time.monotonic() + seconds
    while True:
        db.session.rollback()
        order = db.session.get(Order, order_id)
        if check(order) or time.monotonic() > deadline:
            return order
        time.sleep(0.2)


def test_card_payment_is_fulfilled_by_localstripes_webhook(
    app, live, client, auth, owner, store, shop
):
    product = shop.product(stock_qty=2, price_fen=12345)
    order = _card_checkout(client, auth, owner, store, product)
    intent = payments.client().v1.payment_intents.retrieve(order.payment_intent_id)
    assert (intent.amount, intent.currency) == (24690, "cny")
    assert live.keys[0][1] == payments.intent_key(order)  # the key derived from the order
    _pay_with(app, order, "pm_card_visa")
    order = _wait_for(order.id, lambda o: o.status == "paid")
    assert order.status == "paid" and order.stock_state == "sold"
    assert db.session.get(Product, product.id).stock == 0


def test_failing_card_leaves_the_order_unpaid_and_releases_stock(
    app, live, client, auth, owner, store, shop
):
    product = shop.product(stock_qty=2, price_fen=5000)
    order = _card_checkout(client, auth, owner, store, product)
    with pytest.raises(stripe.CardError):
        _pay_with(app, order, "pm_card_chargeCustomerFail")
    order = _wait_for(order.id, lambda o: o.stock_state == "released")
    assert order.status == "pending" and order.stock_state == "released"
    assert db.session.get(Product, product.id).stock == 2


def test_partial_refund_through_the_refunds_api(app, live, client, auth, owner, store, shop, f):
    product = shop.product(stock_qty=1, price_fen=8000)
    order = _card_checkout(client, auth, owner, store, product, qty=1)
    _pay_with(app, order, "pm_card_visa")
    order = _wait_for(order.id, lambda o: o.status == "paid")
    assert order.status == "paid"
    manager = f.manager(store)
    with app.test_request_context(method="POST"):
        row = orders.refund(manager, db.session.get(Order, order.id), 3000, "scratch")
        db.session.commit()
        key, refund_id = row.idempotency_key, row.stripe_refund_id
    assert (live.keys[-1][0].endswith("/v1/refunds"), live.keys[-1][1]) == (True, key)
    listed = payments.client().v1.refunds.list(params={"payment_intent": order.payment_intent_id})
    assert [(r.id, r.amount) for r in listed.data] == [(refund_id, 3000)]
    # localstripe sends no charge.refunded: post it the way Stripe would, signed.
    payload = event("charge.refunded", {"object": "charge", "amount_refunded": 3000,
                                        "payment_intent": order.payment_intent_id})  # fmt: skip
    r = client.post("/shop/stripe/webhook", data=payload,
                    headers={"Stripe-Signature": sign(payload, SECRET)})  # fmt: skip
    assert r.status_code == 200
    db.session.rollback()
    order = db.session.get(Order, order.id)
    assert order.status == "paid" and order.refunded_fen == 3000
    assert len(db.session.scalars(select(Refund)).all()) == 1


def _intent_request(live) -> dict:
    (body,) = [b for url, b in live.bodies if url.endswith("/v1/payment_intents")]
    return dict(parse_qsl(body))


def test_the_intent_offers_card_alipay_and_wechat_pay_in_cny(
    app, live, client, auth, owner, store, shop
):
    product = shop.product(stock_qty=1, price_fen=8800)
    order = _card_checkout(client, auth, owner, store, product, qty=1)
    sent = _intent_request(live)
    assert (sent["amount"], sent["currency"]) == ("8800", "cny")
    types = [sent[f"payment_method_types[{i}]"] for i in range(3)]
    assert types == ["card", "alipay", "wechat_pay"] and "payment_method_types[3]" not in sent
    assert sent["payment_method_options[wechat_pay][client]"] == "web"
    # localstripe made the intent; a card still pays it end to end.
    _pay_with(app, order, "pm_card_visa")
    order = _wait_for(order.id, lambda o: o.status == "paid")
    assert order.status == "paid"


def test_a_card_only_shop_asks_for_cards_only(app, live, client, auth, owner, store, shop,
                                              monkeypatch):  # fmt: skip
    monkeypatch.setitem(app.config, "SHOP_PAYMENT_METHODS", ("card",))
    _card_checkout(client, auth, owner, store, shop.product(stock_qty=1), qty=1)
    sent = _intent_request(live)
    assert sent["payment_method_types[0]"] == "card" and "payment_method_types[1]" not in sent
    assert not any(k.startswith("payment_method_options") for k in sent)
    assert db.session.scalar(select(Order.payment_intent_id)).startswith("pi_")
