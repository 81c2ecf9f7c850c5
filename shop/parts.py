"""Parts for the workshop's job cards: a typed part number found among the shop's products,
and units of stock reserved for a job."""

from __future__ import annotations

from sqlalchemy import func, select, update

from portal.extensions import db
from shop import stock
from shop.models import Product


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


def reserve(product_id: int, quantity: int, note: str) -> bool:
    """Take quantity units for a job if that many are in stock; False (nothing taken) if not.

    One conditional UPDATE: two jobs racing for the last unit cannot both get it. The product
    row is locked first and stays locked until commit, so a line found short (on order) is
    committed before a delivery of the part looks for waiting lines (see
    portal.services.inspections.arrivals)."""
    db.session.execute(select(Product.id).where(Product.id == product_id).with_for_update())
    res = db.session.execute(
        update(Product)
        .where(Product.id == product_id, Product.stock >= quantity, Product.is_active.is_(True))
        .values(stock=Product.stock - quantity)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        return False
    stock.record_move(product_id, -quantity, "workshop", note=note)
    return True


def release(product_id: int, quantity: int, note: str) -> None:
    """Put units reserved for a job back on the shelf."""
    stock.give_back(product_id, quantity, "release", note=note)


def in_stock(product_ids: list[int]) -> dict[int, int]:
    """Return the stock for sale of each active product (an inactive one has none)."""
    if not product_ids:
        return {}
    rows = db.session.execute(
        select(Product.id, Product.stock).where(
            Product.id.in_(product_ids), Product.is_active.is_(True)
        )
    )
    return {pid: left for pid, left in rows}


def describe(product_id: int) -> tuple[str, str, str, int]:
    """Return a product's (SKU, Chinese name, English name, price in fen) for a job line."""
    product = db.session.get(Product, product_id)
    return product.sku, product.name, product.name_en or product.name, product.price_fen


PICK_LIMIT = 20  # products offered to a technician's search at once


def in_stock_matching(query: str | None, limit: int = PICK_LIMIT) -> list[Product]:
    """Return active products in stock whose part number or name contains the text (all in
    stock when it is empty), by part number; for a technician picking a part on a phone."""
    stmt = select(Product).where(Product.is_active.is_(True), Product.stock > 0)
    text = (query or "").strip()[:40]
    if text:
        stmt = stmt.where(
            Product.sku.icontains(text, autoescape=True)
            | Product.name.icontains(text, autoescape=True)
            | Product.name_en.icontains(text, autoescape=True)
        )
    return list(db.session.scalars(stmt.order_by(Product.sku).limit(limit)))
