"""Orders: checkout, payment, fulfilment, cancellation, refunds and hold expiry."""

from shop.orders.fulfilment import FULFILMENT, advance, cancel, mark_paid_at_store, refund
from shop.orders.payment_events import (
    by_intent,
    charge_refunded,
    payment_canceled,
    payment_failed,
    payment_method_seen,
    payment_processing,
    payment_succeeded,
)
from shop.orders.pickup import expire_pickups
from shop.orders.placing import (
    SWEEP_LIMIT,
    buy_now,
    expire_holds,
    history,
    history_query,
    hold_expired,
    hold_minutes,
    lock,
    owned_order,
    place_order,
    renew_hold,
    start_stripe_payment,
)

__all__ = [
    "FULFILMENT",
    "SWEEP_LIMIT",
    "advance",
    "buy_now",
    "by_intent",
    "cancel",
    "charge_refunded",
    "expire_holds",
    "expire_pickups",
    "hold_expired",
    "hold_minutes",
    "history",
    "history_query",
    "lock",
    "mark_paid_at_store",
    "owned_order",
    "payment_canceled",
    "payment_failed",
    "payment_method_seen",
    "payment_processing",
    "payment_succeeded",
    "place_order",
    "refund",
    "renew_hold",
    "start_stripe_payment",
]
