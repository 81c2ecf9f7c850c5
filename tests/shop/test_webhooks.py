"""The Stripe webhook with signatures made by stripe.WebhookSignature: once, in any order."""

from __future__ import annotations

import itertools
import json
import time
from types import SimpleNamespace

import pytest
import stripe
from sqlalchemy import func, select

from portal.extensions import db
from shop import cart as carts
from shop import orders, payments, stock
from shop.models import Order, Product, StripeEvent
from shop.orders import payment_events

SECRET = "whsec_test_m4s"
_ids = itertools.count(1)


def sign(payload: str, secret: str = SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    sig = stripe.WebhookSignature._compute_signature(f"{at}.{payload}", secret)
    return f"t={at},v1={sig}"


def event(kind: str, obj: dict, event_id: str | None = None) -> str:
    return json.dumps(
        {
            "id": event_id or f"evt_{next(_ids)}",
            "object": "event",
            "type": kind,
            "data": {"object": obj},
        }
    )


def post(client, payload: str, signature: str | None = None):
    return client.post(
        "/shop/stripe/webhook",
        data=payload,
        headers={"Stripe-Signature": signature or sign(payload)},
        content_type="application/json",
    )


@pytest.fixture
def card_order(stripe_keys, monkeypatch, owner, store, shop):
    """A pending card order for 2 units, with a (fake) PaymentIntent id."""
    monkeypatch.setattr(
        payments, "create_intent", lambda order: SimpleNamespace(id=f"pi_{order.number}")
    )
    refunds = []
    monkeypatch.setattr(
        payments, "refund", lambda order, amount, key: refunds.append((amount, key)) or "re_1"
    )
    product = shop.product(stock_qty=2, price_fen=5000)
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, product, 2)
    order = orders.place_order(owner, cart, delivery="pickup", store=store, payment="stripe")
    orders.start_stripe_payment(order)
    db.session.commit()
    return SimpleNamespace(order=order, product=product, refunds=refunds)


def _reload(order) -> Order:
    db.session.rollback()
    return db.session.get(Order, order.id)


def _intent(order, **extra) -> dict:
    """A PaymentIntent as Stripe sends it: for the order's total, in yuan (fen)."""
    paid = {"amount": order.total_fen, "amount_received": order.total_fen, "currency": "cny"}
    return {"id": order.payment_intent_id, "object": "payment_intent", **paid, **extra}


def test_signature_checks(client, card_order):
    payload = event("payment_intent.succeeded", _intent(card_order.order))
    assert post(client, payload, sign(payload, "whsec_wrong")).status_code == 400
    old = post(client, payload, sign(payload, at=int(time.time()) - 301))
    assert old.status_code == 400 and old.json["reason"]
    tampered = payload.replace("payment_intent.succeeded", "payment_intent.canceled")
    assert post(client, tampered, sign(payload)).status_code == 400
    assert _reload(card_order.order).status == "pending"
    assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 0


def test_without_keys_the_webhook_does_not_exist(client):
    assert client.post("/shop/stripe/webhook", data="{}").status_code == 404


def test_duplicated_three_times_is_fulfilled_once(client, card_order, monkeypatch):
    paid = []
    real = payment_events._settle
    monkeypatch.setattr(payment_events, "_settle", lambda *a: paid.append(1) or real(*a))
    payload = event("payment_intent.succeeded", _intent(card_order.order), "evt_dup")
    answers = [post(client, payload).json["result"] for _ in range(3)]
    assert answers == ["applied", "duplicate", "duplicate"] and paid == [1]
    order = _reload(card_order.order)
    assert order.status == "paid" and order.stock_state == "sold"
    assert stock.ledger_total(card_order.product.id) == 0


@pytest.mark.parametrize("order_of_events", list(itertools.permutations(range(3))))
def test_any_order_of_events_ends_paid_and_partly_refunded(client, card_order, order_of_events):
    o = card_order.order
    events = [
        event("payment_intent.payment_failed", _intent(o)),
        event("payment_intent.succeeded", _intent(o)),
        event(
            "charge.refunded",
            {"object": "charge", "payment_intent": o.payment_intent_id, "amount_refunded": 3000},
        ),  # fmt: skip
    ]
    for i in order_of_events:
        assert post(client, events[i]).status_code == 200
    order = _reload(o)
    assert order.status == "paid" and order.refunded_fen == 3000
    product = db.session.get(Product, card_order.product.id)
    assert product.stock == 0 == stock.ledger_total(product.id)


def test_paid_never_goes_back_to_pending_or_cancelled(client, card_order):
    o = card_order.order
    post(client, event("payment_intent.succeeded", _intent(o)))
    post(client, event("payment_intent.canceled", _intent(o)))
    post(client, event("payment_intent.payment_failed", _intent(o)))
    order = _reload(o)
    assert order.status == "paid" and order.stock_state == "sold"


def test_failed_payment_releases_the_stock(client, card_order):
    post(client, event("payment_intent.payment_failed", _intent(card_order.order)))
    order = _reload(card_order.order)
    assert order.status == "pending" and order.stock_state == "released"
    assert db.session.get(Product, card_order.product.id).stock == 2


def test_payment_after_expiry_reserves_again_if_stock_allows(client, card_order, clock):
    clock.advance(hours=1)
    orders.expire_holds()
    db.session.commit()
    post(client, event("payment_intent.succeeded", _intent(card_order.order)))
    order = _reload(card_order.order)
    assert order.status == "paid" and db.session.get(Product, card_order.product.id).stock == 0
    assert card_order.refunds == []


def test_payment_after_expiry_and_sell_out_is_refunded(client, card_order, clock, f, store):
    clock.advance(hours=1)
    orders.expire_holds()
    other = f.owner(store)
    cart = carts.open_cart(other)
    carts.set_quantity(cart, db.session.get(Product, card_order.product.id), 2)
    orders.place_order(other, cart, delivery="pickup", store=store)
    db.session.commit()
    post(client, event("payment_intent.succeeded", _intent(card_order.order)))
    order = _reload(card_order.order)
    assert order.status == "refunded" and order.refunded_fen == order.total_fen
    assert "refunded" in order.note
    assert card_order.refunds == [(10000, f"m4s-{order.number}-autorefund")]
    product = db.session.get(Product, card_order.product.id)
    assert product.stock == 0 == stock.ledger_total(product.id)  # never oversold


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_sold_out_refund_mail_is_in_the_owners_language(client, card_order, clock, f, store,
                                                            lang):  # fmt: skip
    """A webhook has no reader: its mail reads in the owner's language, not the one the
    request (Stripe's Accept-Language) or the default happens to name."""
    from portal.models import OutboxMessage

    owner = card_order.order.user
    owner.locale, owner.email = lang, "late-payer@example.com"
    clock.advance(hours=1)
    orders.expire_holds()
    other = f.owner(store)
    cart = carts.open_cart(other)
    carts.set_quantity(cart, db.session.get(Product, card_order.product.id), 2)
    orders.place_order(other, cart, delivery="pickup", store=store)
    db.session.commit()
    payload = event("payment_intent.succeeded", _intent(card_order.order))
    client.post(
        "/shop/stripe/webhook",
        data=payload,
        headers={
            "Stripe-Signature": sign(payload),
            "Accept-Language": {"en": "zh-CN"}.get(lang, "en"),
        },
        content_type="application/json",
    )
    order = _reload(card_order.order)
    assert order.status == "refunded"
    mail = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.recipient == "late-payer@example.com")
    )
    expected = {
        "zh_CN": f"您的订单 {order.number} 已退款",
        "en": f"Your order {order.number} was refunded",
    }
    assert mail.subject == expected[lang]


def test_unknown_events_are_recorded_and_ignored(client, card_order):
    r = post(client, event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert r.status_code == 200 and r.json["result"] == "ignored"


def test_bad_json_is_400(client, stripe_keys):
    assert post(client, "not json").status_code == 400


@pytest.mark.parametrize(
    "wrong",
    [
        {"amount": 1, "amount_received": 1},
        {"amount_received": 9999},
        {"currency": "usd"},
        {"amount": None, "amount_received": None},
        {"currency": None},
    ],
    ids=["one-fen", "less-received", "other-currency", "no-amount", "no-currency"],
)
def test_a_payment_that_does_not_match_the_order_is_recorded_not_paid(client, card_order, wrong):
    from portal.models import AuditEvent

    o = card_order.order
    payload = event("payment_intent.succeeded", _intent(o, **wrong))
    assert post(client, payload).json["result"] == "mismatch"
    order = _reload(o)
    assert order.status == "pending" and order.paid_at is None
    assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 1
    record = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment_mismatch"))
    assert record.target_id == o.id and record.detail["expected_fen"] == o.total_fen == 10_000
    # The matching payment, delivered later, still pays the order.
    assert post(client, event("payment_intent.succeeded", _intent(o))).json["result"] == "applied"
    assert _reload(o).status == "paid"
