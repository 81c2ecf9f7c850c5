"""Apply Stripe's payment events to the order they concern."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from portal.errors import Conflict
from portal.extensions import db
from portal.i18n import in_language_of
from portal.mail import send_mail
from portal.services import audit
from portal.timeutil import now
from shop import coupons, payments, stock
from shop.models import (
    CANCELLED,
    FAILED,
    PENDING,
    PROCESSING,
    REFUNDED,
    Order,
    Refund,
)
from shop.orders.fulfilment import _settle
from shop.orders.placing import lock


def by_intent(intent_id: str | None) -> Order | None:
    if not intent_id:
        return None
    return db.session.scalar(select(Order).where(Order.payment_intent_id == intent_id))


def _note_method(order: Order, method: str | None, succeeded: bool) -> None:
    """Remember the Stripe payment method an event names; once paid, only a success may."""
    if method and (succeeded or not order.is_paid):
        order.payment_method = method


def payment_method_seen(order: Order, method: str | None, succeeded: bool) -> None:
    """Remember which method a charge event says the owner paid (or is paying) with."""
    _note_method(lock(order), method, succeeded)


def payment_succeeded(order: Order, method: str | None = None) -> None:
    """Fulfil an online payment; after a lost hold re-reserve, or refund and tell the owner."""
    order = lock(order)
    _note_method(order, method, succeeded=True)
    if order.status != PENDING and order.status != CANCELLED:
        return  # already paid or further: a duplicate or late event changes nothing
    order.payment_state = None
    if order.status == PENDING:
        try:
            with db.session.begin_nested():
                _settle(order, None, "stripe")
            return
        except Conflict:
            db.session.refresh(order)
    _refund_unfillable(order)


def _refund_unfillable(order: Order) -> None:
    order.paid_at = now()
    order.note = _("Paid after the reservation ended and the items were sold out: refunded.")
    key = f"m4s-{order.number}-autorefund"
    stripe_id = payments.refund(order, order.total_fen - order.refunded_fen, key)
    db.session.add(
        Refund(
            order_id=order.id,
            amount_fen=order.total_fen - order.refunded_fen,
            reason="sold out after the hold expired",
            idempotency_key=key,
            stripe_refund_id=stripe_id,
            created_at=now(),
        )
    )
    order.refunded_fen = order.total_fen
    order.status = REFUNDED
    coupons.release(order)  # nothing was bought: the coupon is the owner's again
    audit.record("shop_order_autorefund", target=order, store_id=order.store_id)
    if order.user.email:
        with in_language_of(order.user):  # a webhook has no language; the owner has one
            subject = _("Your order %(n)s was refunded", n=order.number)
            body = _(
                "Your payment for order %(n)s arrived after its reservation ended, and the "
                "items had been sold meanwhile. We refunded the full amount.",
                n=order.number,
            )
        send_mail(
            order.user.email,
            subject,
            body,
            kind="order",
            store_id=order.store_id,
            user_id=order.user_id,
        )
    db.session.flush()


def payment_processing(order: Order, method: str | None = None) -> None:
    """Note that the provider (Alipay, WeChat Pay, a bank) has yet to confirm the payment.

    A failed attempt stays failed until the owner starts another one (renew_hold clears it),
    so that a processing event delivered after its own failure does not look like news."""
    order = lock(order)
    _note_method(order, method, succeeded=False)
    if order.status == PENDING and order.payment_state in (None, PROCESSING):
        order.payment_state = PROCESSING


def payment_failed(order: Order, method: str | None = None) -> None:
    """Release the stock of an unpaid order whose payment failed; it stays unpaid."""
    order = lock(order)
    _note_method(order, method, succeeded=False)
    if order.status == PENDING:
        stock.release_hold(order, note="payment failed")
        order.payment_state = FAILED
        order.note = _("The payment failed. Try again: the items are held again if in stock.")


def payment_canceled(order: Order) -> None:
    """Cancel an unpaid order whose PaymentIntent was cancelled."""
    order = lock(order)
    if order.status == PENDING:
        stock.release_hold(order, note="payment cancelled")
        order.status = CANCELLED
        coupons.release(order)
        order.payment_state = None


def charge_refunded(order: Order, amount_refunded: int) -> None:
    """Record a refund made at Stripe; the refunded sum never goes down."""
    order = lock(order)
    amount = min(max(order.refunded_fen, amount_refunded), order.total_fen)
    order.refunded_fen = amount
    if amount == order.total_fen and order.is_paid:
        order.status = REFUNDED
