"""Parts for the workshop's job cards: a typed part number found among the shop's products,
and units of the job's store's stock reserved for it."""

from __future__ import annotations

from sqlalchemy import func, select, update

from portal.extensions import db
from shop import stock
from shop.models import Product, StoreStock


def product_for_part_no(part_no: str | None) -> Product | None:
    """Return the active product whose SKU is this part number (case and spaces ignored)."""
    key = (part_no or "").strip().upper()
    if not key:
        return None
    return db.session.scalar(
        select(Product).where(func.upper(Product.sku) == key, Product.is_active.is_(True))
    )


# -- units reserved for the workshop's jobs (portal reaches these through app.extensions) ----
# portal never imports shop: the shop's blueprint puts this module in app.extensions under
# PARTS_STOCK, and the inspection decisions call reserve / release / in_stock through it.

PARTS_STOCK = "m4s_parts_stock"


def reserve(store_id: int, product_id: int, quantity: int, note: str) -> bool:
    """Take quantity units for a job from its store's stock if that many are there; False
    (nothing taken) if not. Units at another store never count.

    One conditional UPDATE: two jobs racing for the last unit cannot both get it. The store's
    row is locked first and stays locked until commit, so a line found short (on order) is
    committed before a delivery of the part to the store looks for waiting lines (see
    portal.services.inspections.arrivals)."""
    stock.lock_row(store_id, product_id)
    res = db.session.execute(
        update(StoreStock)
        .where(
            StoreStock.store_id == store_id,
            StoreStock.product_id == product_id,
            StoreStock.stock >= quantity,
            StoreStock.product_id.in_(select(Product.id).where(Product.is_active.is_(True))),
        )
        .values(stock=StoreStock.stock - quantity)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        return False
    stock.record_move(store_id, product_id, -quantity, "workshop", note=note)
    return True


def release(store_id: int, product_id: int, quantity: int, note: str) -> None:
    """Put units reserved for a job back on its store's shelf."""
    stock.give_back(store_id, product_id, quantity, "release", note=note)


def in_stock(store_id: int, product_ids: list[int]) -> dict[int, int]:
    """Return the store's stock for sale of each active product it has (an inactive product
    has none)."""
    if not product_ids:
        return {}
    rows = db.session.execute(
        select(StoreStock.product_id, StoreStock.stock)
        .join(Product, Product.id == StoreStock.product_id)
        .where(
            StoreStock.store_id == store_id,
            StoreStock.product_id.in_(product_ids),
            Product.is_active.is_(True),
        )
    )
    return {pid: left for pid, left in rows}


def describe(product_id: int) -> tuple[str, str, str, int]:
    """Return a product's (SKU, Chinese name, English name, price in fen) for a job line."""
    product = db.session.get(Product, product_id)
    return product.sku, product.name, product.name_en or product.name, product.price_fen


PICK_LIMIT = 20  # products offered to a technician's search at once


def in_stock_matching(
    store_id: int, query: str | None, limit: int = PICK_LIMIT
) -> list[tuple[Product, int]]:
    """Return active products in the store's stock, with the units there, whose part number or
    name contains the text (all in stock when it is empty), by part number; for a technician
    picking a part on a phone."""
    stmt = (
        select(Product, StoreStock.stock)
        .join(StoreStock, StoreStock.product_id == Product.id)
        .where(StoreStock.store_id == store_id, StoreStock.stock > 0, Product.is_active.is_(True))
    )
    text = (query or "").strip()[:40]
    if text:
        stmt = stmt.where(
            Product.sku.icontains(text, autoescape=True)
            | Product.name.icontains(text, autoescape=True)
            | Product.name_en.icontains(text, autoescape=True)
        )
    return [tuple(row) for row in db.session.execute(stmt.order_by(Product.sku).limit(limit))]
