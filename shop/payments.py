"""Stripe: PaymentIntents in CNY and refunds, with an idempotency key derived from the order.

Amounts always come from the order's lines (database prices, in fen): the browser never sends
a price. Without M4S_STRIPE_SECRET_KEY and M4S_STRIPE_WEBHOOK_SECRET the shop offers only
pay-at-the-store and nothing here is called.
"""

from __future__ import annotations

import stripe
from flask import current_app

from shop import payment_methods
from shop.models import Order

CURRENCY = "cny"
# Stripe's least charge is about US$0.50 in the settlement currency: 4 yuan, rounded up.
MIN_CHARGE_FEN = 400


def configured() -> bool:
    """Return whether Stripe payments are switched on (both keys set)."""
    cfg = current_app.config
    return bool(cfg.get("STRIPE_SECRET_KEY") and cfg.get("STRIPE_WEBHOOK_SECRET"))


def client() -> stripe.StripeClient:
    """Return a Stripe client for this app (a local API base such as localstripe in tests)."""
    cfg = current_app.config
    extra = {}
    if cfg.get("STRIPE_API_BASE"):
        extra["base_addresses"] = {"api": cfg["STRIPE_API_BASE"]}
    if current_app.extensions.get("m4s_stripe_http"):  # tests record the requests sent
        extra["http_client"] = current_app.extensions["m4s_stripe_http"]
    return stripe.StripeClient(cfg["STRIPE_SECRET_KEY"], max_network_retries=2, **extra)


def intent_key(order: Order) -> str:
    """Return the idempotency key of the order's PaymentIntent (same order, same intent)."""
    return f"m4s-{order.number}-intent-{order.total_fen}"


def intent_params(order: Order) -> dict:
    """Return the parameters of the order's PaymentIntent: its total, in CNY, and the methods
    offered (card, Alipay, WeChat Pay as configured)."""
    return {
        "amount": order.total_fen,
        "currency": CURRENCY,
        **payment_methods.intent_options(payment_methods.offered()),
        "metadata": {"order": order.number},
    }


def create_intent(order: Order) -> stripe.PaymentIntent:
    """Create (or, on a retry, get back) the order's PaymentIntent for its server-side total."""
    return client().v1.payment_intents.create(
        params=intent_params(order),
        options={"idempotency_key": intent_key(order)},
    )


def client_secret(order: Order) -> str:
    """Return the client secret of the order's PaymentIntent (a read, no change)."""
    return client().v1.payment_intents.retrieve(order.payment_intent_id).client_secret


def cancel_intent(order: Order) -> None:
    """Cancel the order's PaymentIntent; one that already finished is left alone."""
    try:
        client().v1.payment_intents.cancel(
            order.payment_intent_id, options={"idempotency_key": f"m4s-{order.number}-cancel"}
        )
    except stripe.InvalidRequestError:
        current_app.logger.info("PaymentIntent of %s could not be cancelled", order.number)


def refund(order: Order, amount_fen: int, key: str) -> str:
    """Refund part or all of the order's payment; return the Stripe refund id."""
    result = client().v1.refunds.create(
        params={"payment_intent": order.payment_intent_id, "amount": amount_fen},
        options={"idempotency_key": key},
    )
    return result.id
