"""The catalog: prices after discounts, search and filters, placements and vehicle fitment."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.errors import NotFound
from portal.extensions import db
from portal.models import Store, User, Vehicle
from portal.timeutil import now
from shop.models import Category, Discount, Fitment, Placement, Product, StoreStock

PAGE_SIZE = 24


@dataclass
class Price:
    list_fen: int
    sale_fen: int

    @property
    def discounted(self) -> bool:
        return self.sale_fen < self.list_fen


def _in_window(obj, at) -> bool:
    return (obj.starts_at is None or obj.starts_at <= at) and (
        obj.ends_at is None or at < obj.ends_at
    )


def price_of(product: Product, at=None) -> Price:
    """Return the list price and the best active discounted price, in fen."""
    at = at or now()
    best = product.price_fen
    for d in product.discounts:
        if not d.is_active or not _in_window(d, at):
            continue
        if d.kind == "percent":
            cut = product.price_fen * d.value // 100
        else:
            cut = d.value
        best = min(best, max(product.price_fen - cut, 0))
    return Price(product.price_fen, best)


def shop_store_id(home_store_id: int | None) -> int | None:
    """Return the store whose shelf the owner's shop shows: the owner's home store when it is
    active, else the group's first active store (anonymous shoppers see that one too)."""
    return db.session.scalar(_SHOP_STORE, {"home": home_store_id or 0})


# Built once, so that its cache key is computed once (see shop.cart.find).
_SHOP_STORE = (
    select(Store.id)
    .where(Store.is_active.is_(True))
    .order_by((Store.id == bindparam("home")).desc(), Store.id)
    .limit(1)
)


def shopper_store_id(user) -> int | None:
    """Return the shop's store (shop_store_id) for the current user, logged in or not."""
    home = user.store_id if getattr(user, "is_authenticated", False) else None
    return shop_store_id(home)


def shelf(store_id: int | None, products) -> dict[int, tuple[int, int]]:
    """Return each product's (units for sale, low-stock threshold) on the store's shelf; a
    product the store has none of is absent (one query)."""
    ids = sorted({p.id for p in products})
    if store_id is None or not ids:
        return {}
    rows = db.session.execute(
        select(StoreStock.product_id, StoreStock.stock, StoreStock.low_stock).where(
            StoreStock.store_id == store_id, StoreStock.product_id.in_(ids), StoreStock.stock > 0
        )
    )
    return {pid: (left, low) for pid, left, low in rows}


def _loaded():
    return select(Product).options(selectinload(Product.discounts), selectinload(Product.fitments))


def get_product(product_id: int, related: bool = True) -> Product:
    """Return an active product or raise NotFound (related=False: without its discounts and
    fitments, when the caller only needs the row itself)."""
    query = _product_query(related)
    product = db.session.scalars(query, {"product_id": product_id}).unique().one_or_none()
    if product is None or not product.is_active:
        raise NotFound(_("Product not found."))
    return product


@functools.cache
def _product_query(related: bool):
    # Built once, so that its cache key is computed once (see shop.cart.find).
    query = select(Product).where(Product.id == bindparam("product_id"))
    if related:  # one query: a product has few discounts and fitments
        query = query.options(joinedload(Product.discounts), joinedload(Product.fitments))
    return query


def categories() -> list[Category]:
    """Return the categories in display order."""
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.name)))


def search(
    q: str = "",
    category_id: int | None = None,
    on_sale: bool = False,
    in_stock: bool = False,
    fits: list[Vehicle] | None = None,
    sort: str = "name",
    page: int = 1,
    store_id: int | None = None,
) -> tuple[list[Product], int]:
    """Return one page of active products matching the filters, and the total count; in_stock
    means in stock at the store given."""
    query = _loaded().where(Product.is_active.is_(True))
    if q:
        like = f"%{q.strip()[:60]}%"
        query = query.where(
            or_(
                Product.name.ilike(like),
                Product.name_en.ilike(like),
                Product.sku.ilike(like),
                Product.description.ilike(like),
                Product.description_en.ilike(like),
            )
        )
    if category_id:
        query = query.where(Product.category_id == category_id)
    if in_stock:
        on_shelf = select(StoreStock.product_id).where(
            StoreStock.store_id == (store_id or 0), StoreStock.stock > 0
        )
        query = query.where(Product.id.in_(on_shelf))
    if on_sale:
        at = now()
        query = query.where(
            Product.discounts.any(
                (Discount.is_active.is_(True))
                & (Discount.starts_at.is_(None) | (Discount.starts_at <= at))
                & (Discount.ends_at.is_(None) | (Discount.ends_at > at))
            )
        )
    if fits:
        no_fitment = ~Product.fitments.any()
        matches = [
            Product.fitments.any(
                (Fitment.brand == v.brand) & ((Fitment.series == "") | (Fitment.series == v.series))
            )
            for v in fits
        ]
        query = query.where(or_(no_fitment, *matches))
    order = {"price": Product.price_fen, "-price": Product.price_fen.desc()}.get(sort, Product.name)
    products = list(db.session.scalars(query.order_by(order, Product.id)))
    page = max(page, 1)
    return products[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], len(products)


def placed(kind: str, limit: int = 8) -> list[Product]:
    """Return the hot or recommended products live right now, in their display order."""
    at = now()
    rows = db.session.scalars(
        select(Placement)
        .join(Product)
        .options(selectinload(Placement.product).selectinload(Product.discounts))
        .where(
            Placement.kind == kind,
            Product.is_active.is_(True),
            Placement.starts_at.is_(None) | (Placement.starts_at <= at),
            Placement.ends_at.is_(None) | (Placement.ends_at > at),
        )
        .order_by(Placement.position, Placement.id)
        .limit(limit)
    )
    return [p.product for p in rows]


def owner_vehicles(user) -> list[Vehicle]:
    """Return the logged-in owner's vehicles (none for anyone else)."""
    if not getattr(user, "is_authenticated", False) or user.role != "owner":
        return []
    return list(db.session.scalars(select(Vehicle).where(Vehicle.owner_id == user.id)))


def fitting(product: Product, vehicles: list[Vehicle]) -> list[Vehicle]:
    """Return the vehicles the product fits (every vehicle when it has no fitment rule)."""
    if not product.fitments:
        return list(vehicles)
    return [
        v
        for v in vehicles
        if any(f.brand == v.brand and f.series in ("", v.series) for f in product.fitments)
    ]


def fits_none(product: Product, user: User) -> bool:
    """Return whether the product is limited to models and fits none of the owner's cars."""
    if not product.fitments or getattr(user, "role", None) != "owner":
        return False
    return not fitting(product, owner_vehicles(user))
