"""Parts for the workshop's job cards: a typed part number found among the shop's products."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from shop.models import Product


def product_for_part_no(part_no: str | None) -> Product | None:
    """Return the active product whose SKU is this part number (case and spaces ignored)."""
    key = (part_no or "").strip().upper()
    if not key:
        return None
    return db.session.scalar(
        select(Product).where(func.upper(Product.sku) == key, Product.is_active.is_(True))
    )
