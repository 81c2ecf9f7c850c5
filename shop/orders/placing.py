"""Place an order at checkout or by buy-now, hold its stock, and release holds that ran out."""

from __future__ import annotations

import functools
import secrets
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Integer, Select, bindparam, insert, select
from sqlalchemy.orm import make_transient_to_detached, selectinload

from portal import access
from portal.errors import Conflict, NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.models import Store, User
from portal.timeutil import now
from shop import cart as carts
from shop import payments, stock
from shop.catalog import Price, price_of
from shop.models import (
    FAILED,
    HELD,
    PENDING,
    PROCESSING,
    RELEASED,
    Cart,
    Order,
    OrderLine,
    Product,
)
from shop.orders import pickup

# At most this many expired holds are released by one checkout (the lazy sweep stays cheap
# when many expired at once; `flask m4s shop-expire-holds` releases every one of them).
SWEEP_LIMIT = 50


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
    pickup_on: date | None = None,
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
    held_until = at + timedelta(minutes=hold_minutes())
    if delivery == "pickup" and payment == "store" and pickup_on is not None:
        held_until = pickup.deadline(store, pickup.check_day(store, pickup_on))
    else:
        pickup_on = None
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
        "discount_fen": 0,
        "coupon_code": None,
        "payment_intent_id": None,
        "note": "",
        "created_at": at,
        "hold_expires_at": held_until,
        "paid_at": None,
        "pickup_on": pickup_on,
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
            "name_en": product.name_en,
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
    pickup_on: date | None = None,
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
        pickup_on=pickup_on,
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
    pickup_on: date | None = None,
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
        pickup_on=pickup_on,
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
    if order.payment_state == PROCESSING:
        raise Conflict(
            _("Your payment is being confirmed. Wait for its result before paying again.")
        )
    if order.payment_state == FAILED:  # a new attempt: the failure and its note are history
        order.payment_state, order.note = None, ""
    if hold_expired(order):
        stock.release_hold(order, note="hold expired")
    if order.stock_state == RELEASED:
        stock.reserve_again(order)
        order.hold_expires_at = now() + timedelta(minutes=hold_minutes())
    db.session.flush()


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
