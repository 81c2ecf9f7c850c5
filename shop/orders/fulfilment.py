"""Take payment at the store, advance, cancel and refund an order as staff."""

from __future__ import annotations

import stripe
from flask_babel import gettext as _

from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.models import User
from portal.services import audit, webhooks
from portal.timeutil import now
from shop import coupons, payments, stock
from shop.models import (
    CANCELLED,
    COMPLETED,
    PAID,
    PENDING,
    READY,
    REFUNDED,
    RELEASED,
    RETURNED,
    SHIPPED,
    SOLD,
    STATUS_RANK,
    Order,
    Refund,
)
from shop.orders.placing import hold_expired, lock

FULFILMENT = {READY: (PAID,), SHIPPED: (PAID, READY), COMPLETED: (PAID, READY, SHIPPED)}


def _settle(order: Order, actor: User | None, via: str) -> None:
    """Mark a pending order paid, making sure its units are (still or again) held."""
    if hold_expired(order):
        stock.release_hold(order, note="hold expired")
    if order.stock_state == RELEASED:
        stock.reserve_again(order)  # raises Conflict when the units were sold meanwhile
    order.stock_state = SOLD
    order.status = PAID
    order.paid_at = now()
    audit.record("shop_order_paid", actor=actor, target=order, via=via, store_id=order.store_id)
    db.session.flush()
    _emit_paid(order, via)


def _emit_paid(order: Order, via: str) -> None:
    lines = [
        {
            "product_id": line.product_id,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price_fen": line.unit_price_fen,
        }
        for line in order.lines
    ]
    data = {
        "id": order.id,
        "number": order.number,
        "customer_id": order.user_id,
        "total_fen": order.total_fen,
        "delivery": order.delivery,
        "paid_via": via,
        "payment_method": order.payment_method,
        "paid_at": webhooks.iso(order.paid_at),
        "lines": lines,
    }
    webhooks.emit("order.paid", order.store_id, {"order": data})


def mark_paid_at_store(actor: User, order: Order) -> Order:
    """Record that the owner paid at the store (staff, at pickup)."""
    order = lock(order)
    if STATUS_RANK[order.status] >= STATUS_RANK[PAID] and order.is_paid:
        raise Conflict(_("This order is already paid."))
    if order.status != PENDING:
        raise Conflict(_("This order is no longer waiting for payment."))
    _settle(order, actor, "store")
    return order


def advance(actor: User, order: Order, status: str) -> Order:
    """Move a paid order to ready for pickup, shipped or completed."""
    order = lock(order)
    allowed = FULFILMENT.get(status)
    if allowed is None:
        raise ValidationError(_("Unknown order status."), field="status")
    if order.status not in allowed:
        raise Conflict(_("This order cannot go to that state from where it is now."))
    if status == SHIPPED and order.delivery != "delivery":
        raise Conflict(_("A pickup order is not shipped."))
    if status == READY and order.delivery != "pickup":
        raise Conflict(_("A delivery order is shipped, not picked up."))
    order.status = status
    audit.record("shop_order_" + status, actor=actor, target=order, store_id=order.store_id)
    db.session.flush()
    return order


def cancel(actor: User, order: Order) -> Order:
    """Cancel an unpaid order and put its stock back (owner or staff)."""
    order = lock(order)
    if order.status != PENDING:
        raise Conflict(_("Only unpaid orders can be cancelled; paid ones are refunded."))
    stock.release_hold(order, note="cancelled")
    order.status = CANCELLED
    coupons.release(order)
    if order.payment_intent_id and payments.configured():
        payments.cancel_intent(order)
    audit.record("shop_order_cancel", actor=actor, target=order, store_id=order.store_id)
    db.session.flush()
    return order


def _refund_at_stripe(order: Order, amount_fen: int, key: str) -> str:
    """Refund through Stripe; Conflict (nothing changed) when Stripe is off or refuses."""
    failed = _("Stripe did not make the refund, so nothing was refunded. Try again later.")
    if not payments.configured():
        raise Conflict(failed)
    try:
        return payments.refund(order, amount_fen, key)
    except stripe.StripeError as exc:
        raise Conflict(failed) from exc


def refund(actor: User | None, order: Order, amount_fen: int, reason: str = "") -> Refund:
    """Refund part or all of a paid order (through Stripe for card payments); audited."""
    order = lock(order)
    if not order.is_paid or order.status == CANCELLED:
        raise Conflict(_("Only paid orders can be refunded."))
    left = order.total_fen - order.refunded_fen
    if amount_fen <= 0 or amount_fen > left:
        raise ValidationError(
            _("Refund between ¥0.01 and %(left)s.", left=f"¥{left / 100:,.2f}"), field="amount"
        )
    key = f"m4s-{order.number}-refund-{len(order.refunds) + 1}-{amount_fen}"
    row = Refund(
        order_id=order.id,
        amount_fen=amount_fen,
        reason=(reason or "")[:255],
        idempotency_key=key,
        actor_id=actor.id if actor else None,
        created_at=now(),
    )
    if order.payment == "stripe" and order.payment_intent_id:
        row.stripe_refund_id = _refund_at_stripe(order, amount_fen, key)
    db.session.add(row)
    order.refunded_fen += amount_fen
    if order.refunded_fen == order.total_fen:
        # Goods not yet handed over go back on the order's store's shelf; completed ones stay
        # with the owner.
        if order.stock_state == SOLD and order.status != COMPLETED:
            # Products in id order, as a checkout locks them; each fills waiting job lines.
            for line in sorted(order.lines, key=lambda line: line.product_id):
                stock.give_back(
                    order.store_id, line.product_id, line.quantity, "return", order=order
                )
            order.stock_state = RETURNED
        order.status = REFUNDED
    audit.record(
        "shop_order_refund", actor=actor, target=order, amount_fen=amount_fen, reason=reason,
        store_id=order.store_id,
    )  # fmt: skip
    db.session.flush()
    return row
