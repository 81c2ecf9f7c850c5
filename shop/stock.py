"""Stock per store: conditional updates that never oversell, and a ledger row for every change.

Each store has its own stock of a product (StoreStock); an order takes and gives back units at
its store, a job at its booking's store, staff adjust and count their store's shelf.

Stock received or returned to the shelf (an adjustment up, a count above the stock, a refund's
goods, an order's hold released, a workshop reservation given back) goes first to the workshop's
approved lines of the same store waiting on order for the part
(portal.services.inspections.arrivals)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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
    StoreStock,
)


def _row(
    store_id: int, product_id: int, delta: int, reason: str, *, order=None, actor=None, note=""
) -> dict:
    return {
        "store_id": store_id,
        "product_id": product_id,
        "delta": delta,
        "reason": reason,
        "order_id": order.id if order is not None else None,
        "actor_id": (actor.id or None) if actor is not None else None,  # 0: an API token
        "note": note[:255],
        "at": now(),
    }


def _move(store_id: int, product_id: int, delta: int, reason: str, **kw) -> None:
    db.session.add(StockMove(**_row(store_id, product_id, delta, reason, **kw)))


def record_move(store_id: int, product_id: int, delta: int, reason: str, note: str = "") -> None:
    """Write the ledger row of a stock change made elsewhere (the workshop's reservations)."""
    _move(store_id, product_id, delta, reason, note=note)


def at_store(store_id: int | None, product_id: int) -> int:
    """Return the store's stock for sale of the product (0 when it has never had any)."""
    if store_id is None:
        return 0
    return db.session.scalar(_AT_STORE, {"store_id": store_id, "product_id": product_id}) or 0


def at_store_many(store_id: int | None, product_ids) -> dict[int, int]:
    """Return the store's stock for sale of each product that it has any of (one query)."""
    ids = sorted(set(product_ids))
    if store_id is None or not ids:
        return {}
    rows = db.session.execute(
        select(StoreStock.product_id, StoreStock.stock).where(
            StoreStock.store_id == store_id, StoreStock.product_id.in_(ids), StoreStock.stock > 0
        )
    )
    return {pid: left for pid, left in rows}


def take_many(picks: list[tuple[Product, int]], *, order: Order) -> None:
    """Take each (product, quantity) for the order from its store's stock, or raise Conflict at
    the first short one; units at another store never count.

    Rows are locked in product id order, so two checkouts never wait on each other in a cycle;
    the ledger rows go in one INSERT. On Conflict the caller rolls back what was taken.
    """
    picks = sorted(picks, key=lambda pick: pick[0].id)
    store_id = order.store_id
    for product, quantity in picks:
        params = {"at_store": store_id, "of_product": product.id, "quantity": quantity}
        res = db.session.execute(_TAKE, params)
        if res.rowcount != 1:
            left = at_store(store_id, product.id)
            raise Conflict(
                _("Only %(n)d of %(name)s left.", n=left, name=product.shown())
                if left
                else _("%(name)s is sold out.", name=product.shown()),
                field=f"product-{product.id}",
            )
    moves = [_row(store_id, p.id, -q, "sale", order=order) for p, q in picks]
    db.session.execute(_INSERT_MOVES, moves)


# Plain table statements built once: the hot path of every checkout (see take_many).
_stocks = StoreStock.__table__
_products = Product.__table__
_TAKE = (
    update(_stocks)
    .where(
        _stocks.c.store_id == bindparam("at_store"),
        _stocks.c.product_id == bindparam("of_product"),
        _stocks.c.stock >= bindparam("quantity"),
        _stocks.c.product_id.in_(select(_products.c.id).where(_products.c.is_active.is_(True))),
    )
    .values(stock=_stocks.c.stock - bindparam("quantity"))
)
_AT_STORE = select(_stocks.c.stock).where(
    _stocks.c.store_id == bindparam("store_id"), _stocks.c.product_id == bindparam("product_id")
)
_INSERT_MOVES = insert(StockMove.__table__)


def _insert():
    return pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _new_row(store_id: int, product_id: int, stock: int):
    """An INSERT of the store's row of the product, its threshold the product's default."""
    low = select(Product.low_stock).where(Product.id == product_id).scalar_subquery()
    return _insert()(StoreStock).values(
        store_id=store_id, product_id=product_id, stock=stock, low_stock=low
    )


def ensure_row(store_id: int, product_id: int) -> None:
    """Create the store's (empty) row of the product unless it has one."""
    stmt = _new_row(store_id, product_id, 0).on_conflict_do_nothing(
        index_elements=["store_id", "product_id"]
    )
    db.session.execute(stmt)


def lock_row(store_id: int, product_id: int) -> int:
    """Lock the store's row of the product until commit (creating it) and return its stock."""
    ensure_row(store_id, product_id)
    return db.session.scalar(
        select(StoreStock.stock)
        .where(StoreStock.store_id == store_id, StoreStock.product_id == product_id)
        .with_for_update()
    )


def _add(store_id: int, product_id: int, quantity: int) -> None:
    """Add units to the store's row of the product (creating it): one INSERT ... ON CONFLICT."""
    stmt = _new_row(store_id, product_id, quantity)
    stmt = stmt.on_conflict_do_update(
        index_elements=["store_id", "product_id"],
        set_={"stock": StoreStock.__table__.c.stock + stmt.excluded.stock},
    )
    db.session.execute(stmt)


def give_back(
    store_id: int, product_id: int, quantity: int, reason: str, *, order=None, actor=None,
    note="",
):  # fmt: skip
    """Put quantity units back on the store's shelf, where the store's waiting workshop lines
    take them first.

    The write locks the store's row until commit, as a delivery's does, so an approval that
    found the part short meanwhile is either filled here or sees the units itself."""
    _add(store_id, product_id, quantity)
    _move(store_id, product_id, quantity, reason, order=order, actor=actor, note=note)
    fill_on_order(store_id, product_id)


def release_hold(order: Order, note: str = "") -> bool:
    """Put an order's held units back at its store; True if this call released them
    (idempotent)."""
    res = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.stock_state == HELD)
        .values(stock_state=RELEASED)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        return False
    for line in sorted(order.lines, key=lambda line: line.product_id):  # take_many's lock order
        give_back(order.store_id, line.product_id, line.quantity, "release", order=order,
                  note=note)  # fmt: skip
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


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give a reason for the stock change."), field="reason")
    return reason


def adjust(actor: User, store_id: int, product: Product, delta: int, reason: str) -> int:
    """Change the store's stock of a product by hand; the reason is required and goes to the
    ledger. Return the store's stock after the change."""
    reason = _reason(reason)
    if delta == 0:
        raise ValidationError(_("The change cannot be zero."), field="delta")
    if delta > 0:
        _add(store_id, product.id, delta)
    else:
        res = db.session.execute(
            update(StoreStock)
            .where(
                StoreStock.store_id == store_id,
                StoreStock.product_id == product.id,
                StoreStock.stock + delta >= 0,
            )
            .values(stock=StoreStock.stock + delta)
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            raise ValidationError(_("The stock cannot go below zero."), field="delta")
    _move(store_id, product.id, delta, "adjust", actor=actor, note=reason)
    if delta > 0:
        fill_on_order(store_id, product.id)
    audit.record(
        "shop_stock_adjust", actor=actor, target=product, delta=delta, reason=reason,
        store_id=store_id,
    )  # fmt: skip
    db.session.flush()
    db.session.expire(product, ["stock"])
    return at_store(store_id, product.id)


# -- stock takes: the stock for sale set from a count of the shelf ---------------------------
# Units of a pending order (held) and of a paid order not yet handed over (paid or ready) are
# still on the shelf but no longer for sale, so the stock for sale is the count less those.
# The write is a compare-and-set on the stock read, so a sale or an adjustment landing between
# the read and the write is never overwritten, and the ledger gets the exact difference.

COUNT_ATTEMPTS = 5  # compare-and-set tries before a busy product is reported as a conflict


def reserved(store_id: int, product_id: int) -> int:
    """Return the units of this product that the store's open orders hold (on its shelf, not
    for sale)."""
    holding = or_(
        and_(Order.stock_state == HELD, Order.status == PENDING),
        and_(Order.stock_state == SOLD, Order.status.in_((PAID, READY))),
    )
    return db.session.scalar(
        select(func.coalesce(func.sum(OrderLine.quantity), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.product_id == product_id, Order.store_id == store_id, holding)
    )


def count(actor: User, store_id: int, product: Product, counted: int, reason: str) -> int:
    """Set the store's stock for sale from a count of its shelf; return the change made (may
    be 0)."""
    reason = _reason(reason)
    if counted < 0:
        raise ValidationError(_("The stock cannot go below zero."), field="count")
    ensure_row(store_id, product.id)
    mine = (StoreStock.store_id == store_id, StoreStock.product_id == product.id)
    for _attempt in range(COUNT_ATTEMPTS):
        seen = db.session.scalar(select(StoreStock.stock).where(*mine))
        held = reserved(store_id, product.id)
        if counted < held:
            raise ValidationError(
                _("%(n)d units are held for open orders; the count cannot be lower.", n=held),
                field="count",
            )
        res = db.session.execute(
            update(StoreStock)
            .where(*mine, StoreStock.stock == seen)
            .values(stock=counted - held)
            .execution_options(synchronize_session=False)
        )
        if res.rowcount == 1:
            break
    else:
        raise Conflict(_("The stock is changing right now; count again."), field="count")
    delta = counted - held - seen
    if delta:
        _move(store_id, product.id, delta, "adjust", actor=actor,
              note=f"count {counted}: {reason}")  # fmt: skip
    if delta > 0:
        fill_on_order(store_id, product.id)
    audit.record(
        "shop_stock_count", actor=actor, target=product, counted=counted, held=held,
        delta=delta, reason=reason, store_id=store_id,
    )  # fmt: skip
    db.session.flush()
    db.session.expire(product, ["stock"])
    return delta


def set_initial(product: Product, store_id: int, quantity: int, actor: User | None = None) -> None:
    """Give a store its first stock of a product, recorded in the ledger."""
    if quantity < 0:
        raise ValidationError(_("The stock cannot go below zero."), field="stock")
    if quantity:
        give_back(store_id, product.id, quantity, "initial", actor=actor)
        db.session.flush()
        db.session.expire(product, ["stock"])
    else:
        ensure_row(store_id, product.id)


MAX_THRESHOLD = 100_000


def set_threshold(actor: User, store_id: int, product: Product, low: int) -> None:
    """Set the store's low-stock threshold of the product (its stock is not touched)."""
    if not 0 <= low <= MAX_THRESHOLD:
        raise ValidationError(
            _("Enter a threshold from 0 to %(n)d.", n=MAX_THRESHOLD), field="low_stock"
        )
    ensure_row(store_id, product.id)
    db.session.execute(
        update(StoreStock)
        .where(StoreStock.store_id == store_id, StoreStock.product_id == product.id)
        .values(low_stock=low)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        "shop_stock_threshold", actor=actor, target=product, low_stock=low, store_id=store_id
    )
    db.session.flush()


def ledger_total(product_id: int, store_id: int | None = None) -> int:
    """Return the stock the ledger explains: the sum of the moves at the store (every store's
    when none is given)."""
    stmt = select(func.coalesce(func.sum(StockMove.delta), 0)).where(
        StockMove.product_id == product_id
    )
    if store_id is not None:
        stmt = stmt.where(StockMove.store_id == store_id)
    return db.session.scalar(stmt)
