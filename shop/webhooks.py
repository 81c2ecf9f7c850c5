"""POST /shop/stripe/webhook: verified on the raw body, each event applied exactly once."""

from __future__ import annotations

import stripe
from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import IntegrityError

from portal.extensions import csrf, db
from portal.services import audit
from portal.timeutil import now
from shop import orders, payment_methods, payments
from shop.models import StripeEvent

bp = Blueprint("shop_stripe", __name__, url_prefix="/shop/stripe")
TOLERANCE_S = 300
HANDLED = {
    "payment_intent.succeeded",
    "payment_intent.processing",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.refunded",
    # A charge names its payment method (card, Alipay, WeChat Pay) in every API version.
    "charge.succeeded",
    "charge.pending",
    "charge.failed",
}


def _bad(reason: str):
    return jsonify(status=400, error="bad_request", reason=reason), 400


def _paid_in_full(order, intent: dict) -> bool:
    """Say whether the intent received the order's total, in fen, in the shop's currency."""
    received = intent.get("amount_received", intent.get("amount"))
    currency = str(intent.get("currency") or "").lower()
    if received == order.total_fen and currency == payments.CURRENCY:
        return True
    # Money arrived that does not pay this order: keep it on record, leave the order unpaid.
    audit.record(
        "payment_mismatch",
        target=order,
        intent=str(intent.get("id") or "")[:64],
        expected_fen=order.total_fen,
        expected_currency=payments.CURRENCY,
        received=received if isinstance(received, int) else str(received)[:32],
        currency=currency[:8],
    )
    return False


def apply_event(event_id: str, event_type: str, obj: dict) -> str:
    """Record the event and change its order in the current transaction; say what happened."""
    intent_id = obj.get("id") if event_type.startswith("payment_intent.") else None
    if event_type.startswith("charge."):
        intent_id = obj.get("payment_intent")
    order = orders.by_intent(intent_id) if event_type in HANDLED else None
    # The order is locked before the event's row is inserted: that row's foreign key takes a
    # share lock on the order, and two events of one order (a charge's and its intent's,
    # sent together) each holding one while waiting for the update lock would deadlock.
    # A concurrent duplicate then waits on the order, fails on the event's unique key, and
    # so two deliveries never both change the order.
    if order is not None:
        order = orders.lock(order)
    db.session.add(
        StripeEvent(
            id=event_id,
            type=event_type[:64],
            order_id=order.id if order else None,
            received_at=now(),
        )
    )
    db.session.flush()
    if order is None:
        return "ignored"
    method = payment_methods.method_of(obj)
    if event_type == "payment_intent.succeeded":
        if not _paid_in_full(order, obj):
            return "mismatch"
        orders.payment_succeeded(order, method)
    elif event_type == "payment_intent.processing":
        orders.payment_processing(order, method)
    elif event_type == "payment_intent.payment_failed":
        orders.payment_failed(order, method)
    elif event_type == "payment_intent.canceled":
        orders.payment_canceled(order)
    elif event_type == "charge.refunded":
        orders.charge_refunded(order, int(obj.get("amount_refunded") or 0))
    else:
        orders.payment_method_seen(order, method, succeeded=event_type == "charge.succeeded")
    return "applied"


@bp.route("/webhook", methods=["POST"])
@csrf.exempt
def webhook():
    """Verify a Stripe event's signature and apply it once."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        return jsonify(status=404, error="not_found", reason="Stripe is not configured"), 404
    payload = request.get_data(cache=False)
    try:
        event = stripe.Webhook.construct_event(
            payload, request.headers.get("Stripe-Signature"), secret, tolerance=TOLERANCE_S
        )
    except ValueError:
        return _bad("the body is not a JSON event")
    except stripe.SignatureVerificationError:
        return _bad("the signature does not match, or the event is too old")
    if db.session.get(StripeEvent, event.id) is not None:
        return jsonify(status=200, result="duplicate")
    try:
        result = apply_event(event.id, event.type, event.data.object.to_dict())
        db.session.commit()
    except IntegrityError:  # the same event, delivered twice at once: the other one applied it
        db.session.rollback()
        if db.session.get(StripeEvent, event.id) is None:
            raise  # some other rule broke: a 500, and Stripe retries later
        return jsonify(status=200, result="duplicate")
    return jsonify(status=200, result=result)
