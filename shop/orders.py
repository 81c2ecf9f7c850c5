"""Orders: checkout, payment, fulfilment, cancellation, refunds and hold expiry."""

from __future__ import annotations

import functools
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Integer, Select, bindparam, insert, select
from sqlalchemy.orm import make_transient_to_detached, selectinload

from portal import access
from portal.errors import Conflict, NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.mail import send_mail
from portal.models import Store, User
from portal.services import audit
from portal.timeutil import now
from shop import cart as carts
from shop import payments, stock
from shop.catalog import Price, price_of
from shop.models import (
    CANCELLED,
    COMPLETED,
    HELD,
    PAID,
    PENDING,
    READY,
    REFUNDED,
    RELEASED,
    RETURNED,
    SHIPPED,
    SOLD,
    STATUS_RANK,
    Cart,
    Order,
    OrderLine,
    Product,
    Refund,
)

# At most this many expired holds are released by one checkout (the lazy sweep stays cheap
# when many expired at once; `flask m4s shop-expire-holds` releases every one of them).
SWEEP_LIMIT = 50
FULFILMENT = {READY: (PAID,), SHIPPED: (PAID, READY), COMPLETED: (PAID, READY, SHIPPED)}


def hold_minutes() -> int:
    return int(current_app.config["SHOP_HOLD_MINUTES"])


def _number() -> str:
    return now().strftime("%y%m%d") + secrets.token_hex(4).upper()


def _check_choices(user: User, delivery: str, store: Store | None, address: str, payment: str):
    if user.role != "owner":
        raise NotAllowed(_("Only car owners can buy in the shop."))
    if delivery not in ("pickup", "delivery"):
        raise ValidationError(_("Choose delivery or pickup."), field="delivery")
    if delivery == "delivery" and not address:
        raise ValidationError(_("Enter the delivery address."), field="address")
    if store is None or not store.is_active:
        raise ValidationError(_("Choose a store."), field="store")
    if payment not in ("store", "stripe") or (payment == "stripe" and not payments.configured()):
        raise ValidationError(_("Choose a payment method."), field="payment")


def _place(
    user: User,
    picks: list[tuple[Product, int, Price]],
    *,
    delivery: str,
    store: Store,
    address: str,
    payment: str,
    expected_total_fen: int | None,
) -> Order:
    """Write the order, take its stock and copy its lines: a few statements, no ORM flush.

    The rows are written with plain table statements; the order comes back as a persistent
    object whose relationships (lines, store, user) load on first access."""
    total = sum(price.sale_fen * quantity for _product, quantity, price in picks)
    if expected_total_fen is not None and expected_total_fen != total:
        raise ValidationError(
            _("The prices changed while you were shopping. Check the new total and confirm."),
            field="cart",
        )
    expire_holds(product_ids=[product.id for product, _q, _p in picks], limit=SWEEP_LIMIT)
    at = now()
    row = {
        "number": _number(),
        "user_id": user.id,
        "store_id": store.id,
        "status": PENDING,
        "stock_state": HELD,
        "delivery": delivery,
        "address": address[:255] if delivery == "delivery" else "",
        "payment": payment,
        "total_fen": total,
        "refunded_fen": 0,
        "payment_intent_id": None,
        "note": "",
        "created_at": at,
        "hold_expires_at": at + timedelta(minutes=hold_minutes()),
        "paid_at": None,
    }
    row["id"] = db.session.execute(_INSERT_ORDER, row).scalar_one()
    order = Order(**row)
    # Every column is set: the session takes the object as loaded, with no SELECT and no flush.
    make_transient_to_detached(order)
    db.session.add(order)
    stock.take_many([(product, quantity) for product, quantity, _p in picks], order=order)
    lines = [
        {
            "order_id": order.id,
            "product_id": product.id,
            "name": product.name,
            "unit_price_fen": price.sale_fen,
            "list_price_fen": price.list_fen,
            "quantity": quantity,
        }
        for product, quantity, price in sorted(picks, key=lambda pick: pick[0].id)
    ]
    db.session.execute(_INSERT_LINES, lines)
    return order


_INSERT_ORDER = insert(Order.__table__).returning(Order.__table__.c.id)
_INSERT_LINES = insert(OrderLine.__table__)


def place_order(
    user: User,
    cart: Cart,
    *,
    delivery: str,
    store: Store | None,
    address: str = "",
    payment: str = "store",
    expected_total_fen: int | None = None,
) -> Order:
    """Turn the cart into an order, holding its stock; prices come from the database."""
    address = (address or "").strip()
    _check_choices(user, delivery, store, address, payment)
    lines = carts.lines(cart)
    if not lines:
        raise ValidationError(_("Your cart is empty."), field="cart")
    order = _place(
        user,
        [(line.item.product, line.item.quantity, line.price) for line in lines],
        delivery=delivery,
        store=store,
        address=address,
        payment=payment,
        expected_total_fen=expected_total_fen,
    )
    carts.clear(cart)
    return order


def buy_now(
    user: User,
    product: Product,
    quantity: int,
    *,
    delivery: str,
    store: Store | None,
    address: str = "",
    payment: str = "store",
    expected_price_fen: int | None = None,
) -> Order:
    """Order units of one product directly, holding its stock; the cart is left as it is."""
    address = (address or "").strip()
    if not 1 <= quantity <= carts.MAX_QUANTITY:  # 99, as in the message
        raise ValidationError(_("Enter a quantity from 1 to 99."), field="quantity")
    _check_choices(user, delivery, store, address, payment)
    return _place(
        user,
        [(product, quantity, price_of(product))],
        delivery=delivery,
        store=store,
        address=address,
        payment=payment,
        expected_total_fen=None if expected_price_fen is None else expected_price_fen * quantity,
    )


def start_stripe_payment(order: Order) -> None:
    """Create the order's PaymentIntent (idempotent) and remember its id."""
    if order.payment_intent_id:
        return
    intent = payments.create_intent(order)
    order.payment_intent_id = intent.id
    db.session.flush()


def owned_order(user: User, order_id: int) -> Order:
    """Return the owner's order, or NotFound (other owners' orders do not exist)."""
    order = db.session.scalar(
        access.owner_scope(select(Order), Order.user_id, user)
        .options(selectinload(Order.lines))
        .where(Order.id == order_id)
    )
    if order is None:
        raise NotFound(_("Order not found."))
    return order


def history_query(user: User) -> Select:
    """Return the statement that selects the owner's orders (the caller orders and pages it)."""
    return access.owner_scope(select(Order), Order.user_id, user)


def history(user: User) -> list[Order]:
    """Return the owner's orders, newest first."""
    return list(db.session.scalars(history_query(user).order_by(Order.created_at.desc())))


def lock(order: Order) -> Order:
    """Re-read the order with a row lock (SQLite: the request already holds the write lock)."""
    db.session.flush()
    locked = db.session.scalar(
        select(Order)
        .where(Order.id == order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return locked


def hold_expired(order: Order) -> bool:
    return order.stock_state == HELD and order.hold_expires_at <= now()


def renew_hold(order: Order) -> None:
    """Hold an unpaid order's stock again after its hold ended; Conflict if it is gone."""
    order = lock(order)
    if order.status != PENDING:
        raise Conflict(_("This order is no longer waiting for payment."))
    if hold_expired(order):
        stock.release_hold(order, note="hold expired")
    if order.stock_state == RELEASED:
        stock.reserve_again(order)
        order.hold_expires_at = now() + timedelta(minutes=hold_minutes())
    db.session.flush()


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
    if order.payment_intent_id and payments.configured():
        payments.cancel_intent(order)
    audit.record("shop_order_cancel", actor=actor, target=order, store_id=order.store_id)
    db.session.flush()
    return order


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
        row.stripe_refund_id = payments.refund(order, amount_fen, key)
    db.session.add(row)
    order.refunded_fen += amount_fen
    if order.refunded_fen == order.total_fen:
        # Goods not yet handed over go back on the shelf; completed ones stay with the owner.
        if order.stock_state == SOLD and order.status != COMPLETED:
            for line in order.lines:
                stock.give_back(line.product_id, line.quantity, "return", order=order)
            order.stock_state = RETURNED
        order.status = REFUNDED
    audit.record(
        "shop_order_refund", actor=actor, target=order, amount_fen=amount_fen, reason=reason,
        store_id=order.store_id,
    )  # fmt: skip
    db.session.flush()
    return row


def expire_holds(product_ids: list[int] | None = None, limit: int | None = None) -> int:
    """Release the stock of unpaid orders whose hold ended; return how many (idempotent).

    The query walks ix_shop_orders_status_hold (status, stock_state, hold_expires_at), so it
    only ever reads expired holds; limit bounds how many one call releases (oldest first).
    """
    query = _expired_holds(bool(product_ids), limit is not None)
    params = {"at": now(), "product_ids": product_ids or [], "limit": limit}
    released = 0
    for order in db.session.scalars(query, params).all():
        released += stock.release_hold(order, note="hold expired")
    return released


@functools.cache
def _expired_holds(by_product: bool, limited: bool):
    # Built once, so that its cache key is computed once: this runs in every checkout.
    query = select(Order).where(
        Order.status == PENDING, Order.stock_state == HELD, Order.hold_expires_at <= bindparam("at")
    )
    if by_product:
        in_products = OrderLine.product_id.in_(bindparam("product_ids", expanding=True))
        query = query.where(Order.lines.any(in_products))
    query = query.order_by(Order.hold_expires_at, Order.id)
    return query.limit(bindparam("limit", type_=Integer)) if limited else query


# -- payment events (from the Stripe webhook) ----------------------------------------------


def by_intent(intent_id: str | None) -> Order | None:
    if not intent_id:
        return None
    return db.session.scalar(select(Order).where(Order.payment_intent_id == intent_id))


def payment_succeeded(order: Order) -> None:
    """Fulfil a card payment; after a lost hold re-reserve, or refund and tell the owner."""
    order = lock(order)
    if order.status != PENDING and order.status != CANCELLED:
        return  # already paid or further: a duplicate or late event changes nothing
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
    audit.record("shop_order_autorefund", target=order, store_id=order.store_id)
    if order.user.email:
        send_mail(
            order.user.email,
            _("Your order %(n)s was refunded", n=order.number),
            _(
                "Your payment for order %(n)s arrived after its reservation ended, and the "
                "items had been sold meanwhile. We refunded the full amount.",
                n=order.number,
            ),
            kind="order",
            store_id=order.store_id,
            user_id=order.user_id,
        )
    db.session.flush()


def payment_failed(order: Order) -> None:
    """Release the stock of an unpaid order whose payment failed; it stays unpaid."""
    order = lock(order)
    if order.status == PENDING:
        stock.release_hold(order, note="payment failed")
        order.note = _("The payment failed. Try again: the items are held again if in stock.")


def payment_canceled(order: Order) -> None:
    """Cancel an unpaid order whose PaymentIntent was cancelled."""
    order = lock(order)
    if order.status == PENDING:
        stock.release_hold(order, note="payment cancelled")
        order.status = CANCELLED


def charge_refunded(order: Order, amount_refunded: int) -> None:
    """Record a refund made at Stripe; the refunded sum never goes down."""
    order = lock(order)
    amount = min(max(order.refunded_fen, amount_refunded), order.total_fen)
    order.refunded_fen = amount
    if amount == order.total_fen and order.is_paid:
        order.status = REFUNDED
