"""Stock: conditional updates that never oversell, and a ledger row for every change.

Stock received or returned to the shelf (an adjustment up, a count above the stock, a refund's
goods, an order's hold released, a workshop reservation given back) goes first to the workshop's
approved lines waiting on order for the part (portal.services.inspections.arrivals)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, func, insert, or_, select, update

from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.models import User
from portal.services import audit
from portal.services.inspections.arrivals import fill_on_order
from portal.timeutil import now
from shop.models import (
    HELD,
    PAID,
    PENDING,
    READY,
    RELEASED,
    SOLD,
    Order,
    OrderLine,
    Product,
    StockMove,
)


def _row(product_id: int, delta: int, reason: str, *, order=None, actor=None, note="") -> dict:
    return {
        "product_id": product_id,
        "delta": delta,
        "reason": reason,
        "order_id": order.id if order is not None else None,
        "actor_id": (actor.id or None) if actor is not None else None,  # 0: an API token
        "note": note[:255],
        "at": now(),
    }


def _move(product_id: int, delta: int, reason: str, *, order=None, actor=None, note="") -> None:
    row = _row(product_id, delta, reason, order=order, actor=actor, note=note)
    db.session.add(StockMove(**row))


def record_move(product_id: int, delta: int, reason: str, note: str = "") -> None:
    """Write the ledger row of a stock change made elsewhere (the workshop's reservations)."""
    _move(product_id, delta, reason, note=note)


def take_many(picks: list[tuple[Product, int]], *, order: Order) -> None:
    """Take each (product, quantity) for the order, or raise Conflict at the first short one.

    Products are locked in id order, so two checkouts never wait on each other in a cycle;
    the ledger rows go in one INSERT. On Conflict the caller rolls back what was taken.
    """
    picks = sorted(picks, key=lambda pick: pick[0].id)
    for product, quantity in picks:
        res = db.session.execute(_TAKE, {"product_id": product.id, "quantity": quantity})
        if res.rowcount != 1:
            left = db.session.scalar(select(Product.stock).where(Product.id == product.id)) or 0
            raise Conflict(
                _("Only %(n)d of %(name)s left.", n=left, name=product.shown())
                if left
                else _("%(name)s is sold out.", name=product.shown()),
                field=f"product-{product.id}",
            )
    db.session.execute(_INSERT_MOVES, [_row(p.id, -q, "sale", order=order) for p, q in picks])


# Plain table statements built once: the hot path of every checkout (see take_many).
_products = Product.__table__
_TAKE = (
    update(_products)
    .where(
        _products.c.id == bindparam("product_id"),
        _products.c.stock >= bindparam("quantity"),
        _products.c.is_active.is_(True),
    )
    .values(stock=_products.c.stock - bindparam("quantity"))
)
_INSERT_MOVES = insert(StockMove.__table__)


def give_back(product_id: int, quantity: int, reason: str, *, order=None, actor=None, note=""):
    """Put quantity units back on the shelf, where the workshop's waiting lines take them first.

    The UPDATE locks the product row until commit, as a delivery's does, so an approval that
    found the part short meanwhile is either filled here or sees the units itself."""
    db.session.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(stock=Product.stock + quantity)
        .execution_options(synchronize_session=False)
    )
    _move(product_id, quantity, reason, order=order, actor=actor, note=note)
    fill_on_order(product_id)


def release_hold(order: Order, note: str = "") -> bool:
    """Put an order's held units back; True if this call released them (idempotent)."""
    res = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.stock_state == HELD)
        .values(stock_state=RELEASED)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        return False
    for line in sorted(order.lines, key=lambda line: line.product_id):  # take_many's lock order
        give_back(line.product_id, line.quantity, "release", order=order, note=note)
    db.session.flush()
    db.session.refresh(order)
    return True


def reserve_again(order: Order) -> None:
    """Hold the order's units again after its hold ended, or raise Conflict (nothing taken)."""
    if order.stock_state != RELEASED:
        return
    with db.session.begin_nested():
        take_many([(line.product, line.quantity) for line in order.lines], order=order)
    order.stock_state = HELD
    db.session.flush()


def adjust(actor: User, product: Product, delta: int, reason: str) -> StockMove | None:
    """Change a product's stock by hand; the reason is required and goes to the ledger."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give a reason for the stock change."), field="reason")
    if delta == 0:
        raise ValidationError(_("The change cannot be zero."), field="delta")
    res = db.session.execute(
        update(Product)
        .where(Product.id == product.id, Product.stock + delta >= 0)
        .values(stock=Product.stock + delta)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        raise ValidationError(_("The stock cannot go below zero."), field="delta")
    _move(product.id, delta, "adjust", actor=actor, note=reason)
    if delta > 0:
        fill_on_order(product.id)
    audit.record(
        "shop_stock_adjust", actor=actor, target=product, delta=delta, reason=reason,
        store_id=actor.store_id,
    )  # fmt: skip
    db.session.flush()
    db.session.refresh(product)
    return None


# -- stock takes: the stock for sale set from a count of the shelf ---------------------------
# Units of a pending order (held) and of a paid order not yet handed over (paid or ready) are
# still on the shelf but no longer for sale, so the stock for sale is the count less those.
# The write is a compare-and-set on the stock read, so a sale or an adjustment landing between
# the read and the write is never overwritten, and the ledger gets the exact difference.

COUNT_ATTEMPTS = 5  # compare-and-set tries before a busy product is reported as a conflict


def reserved(product_id: int) -> int:
    """Return the units of this product that open orders hold (on the shelf, not for sale)."""
    holding = or_(
        and_(Order.stock_state == HELD, Order.status == PENDING),
        and_(Order.stock_state == SOLD, Order.status.in_((PAID, READY))),
    )
    return db.session.scalar(
        select(func.coalesce(func.sum(OrderLine.quantity), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.product_id == product_id, holding)
    )


def count(
    actor: User, product: Product, counted: int, reason: str, *, store_id: int | None = None
) -> int:
    """Set the stock for sale from a shelf count; return the change made (may be 0). The
    audit names the counting store (store_id, else the actor's)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give a reason for the stock change."), field="reason")
    if counted < 0:
        raise ValidationError(_("The stock cannot go below zero."), field="count")
    for _attempt in range(COUNT_ATTEMPTS):
        seen = db.session.scalar(select(Product.stock).where(Product.id == product.id))
        held = reserved(product.id)
        if counted < held:
            raise ValidationError(
                _("%(n)d units are held for open orders; the count cannot be lower.", n=held),
                field="count",
            )
        res = db.session.execute(
            update(Product)
            .where(Product.id == product.id, Product.stock == seen)
            .values(stock=counted - held)
            .execution_options(synchronize_session=False)
        )
        if res.rowcount == 1:
            break
    else:
        raise Conflict(_("The stock is changing right now; count again."), field="count")
    delta = counted - held - seen
    if delta:
        _move(product.id, delta, "adjust", actor=actor, note=f"count {counted}: {reason}")
    if delta > 0:
        fill_on_order(product.id)
    audit.record(
        "shop_stock_count", actor=actor, target=product, counted=counted, held=held,
        delta=delta, reason=reason, store_id=store_id or actor.store_id,
    )  # fmt: skip
    db.session.flush()
    db.session.refresh(product)
    return delta


def set_initial(product: Product, quantity: int, actor: User | None = None) -> None:
    """Give a new product its first stock, recorded in the ledger."""
    if quantity < 0:
        raise ValidationError(_("The stock cannot go below zero."), field="stock")
    if quantity:
        give_back(product.id, quantity, "initial", actor=actor)
        db.session.flush()
        db.session.refresh(product)


def ledger_total(product_id: int) -> int:
    """Return the stock the ledger explains (the sum of every move)."""
    return db.session.scalar(
        select(func.coalesce(func.sum(StockMove.delta), 0)).where(
            StockMove.product_id == product_id
        )
    )
