"""Carts: an owner's cart, or an anonymous one merged into the account at login."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from portal.errors import ValidationError
from portal.extensions import db
from portal.models import Store, User
from shop import stock
from shop.catalog import Price, price_of, shop_store_id
from shop.models import Cart, CartItem, Product, StoreStock

MAX_QUANTITY = 99


@dataclass
class Line:
    item: CartItem
    price: Price

    @property
    def total_fen(self) -> int:
        return self.price.sale_fen * self.item.quantity


def _query(products: bool = True):
    # One query for the cart, its items and (when asked) their products with the discounts and
    # fitments that prices and the fitment warning need; carts are small, so joins are cheap.
    items = joinedload(Cart.items)
    if products:
        product = items.joinedload(CartItem.product)
        items = product.joinedload(Product.discounts)
        return select(Cart).options(items, product.joinedload(Product.fitments))
    return select(Cart).options(items)


def find(user: User | None = None, key: str | None = None, products: bool = True) -> Cart | None:
    """Return the owner's cart, or the anonymous cart with this key.

    products=False leaves the items' products to load lazily (adding one product needs none).
    """
    if user is not None:
        query, params = _by_user(products), {"user_id": user.id}
    elif key:
        query, params = _by_key(products), {"key": key}
    else:
        return None
    return db.session.scalars(query, params).unique().one_or_none()


# The statements are built once: SQLAlchemy memoises a statement's cache key, so reusing
# them saves computing it again in every request (the joined loads make it costly).
@functools.cache
def _by_user(products: bool):
    return _query(products).where(Cart.user_id == bindparam("user_id"))


@functools.cache
def _by_key(products: bool):
    return _query(products).where(Cart.key == bindparam("key"), Cart.user_id.is_(None))


def open_cart(user: User | None = None, key: str | None = None, products: bool = True) -> Cart:
    """Return the holder's cart, creating it; an anonymous cart gets a fresh random key."""
    cart = find(user, key, products)
    if cart is None:
        cart = Cart(
            user_id=user.id if user else None,
            key=None if user else secrets.token_hex(16),
            items=[],
        )
        db.session.add(cart)
        db.session.flush()
    return cart


def store_id_of(cart: Cart) -> int | None:
    """Return the store whose shelf the cart is checked against (the owner's home store, or
    the group's first for an anonymous cart; shop.catalog.shop_store_id)."""
    home = None
    if cart.user_id is not None:
        home = db.session.scalar(select(User.store_id).where(User.id == cart.user_id))
    return shop_store_id(home)


def _left(cart: Cart, product: Product) -> int:
    """Return the units of the product on the shelf of the cart's store (store_id_of), in one
    statement: adding to the cart is a hot path."""
    params = {"holder": cart.user_id or 0, "product": product.id}
    return db.session.scalar(_LEFT, params) or 0


def _check(cart: Cart, product: Product, quantity: int) -> None:
    if quantity < 0:
        raise ValidationError(_("The quantity cannot be negative."), field="quantity")
    if quantity > MAX_QUANTITY:
        raise ValidationError(_("At most %(n)d per product.", n=MAX_QUANTITY), field="quantity")
    left = _left(cart, product)
    if quantity > left:
        raise ValidationError(
            _("Only %(n)d of %(name)s in stock.", n=left, name=product.shown())
            if left
            else _("%(name)s is sold out.", name=product.shown()),
            field="quantity",
        )


def set_quantity(cart: Cart, product: Product, quantity: int) -> CartItem | None:
    """Set the product's quantity in the cart (0 removes it); never more than in stock."""
    item = next((i for i in cart.items if i.product_id == product.id), None)
    if quantity == 0:
        if item is not None:
            cart.items.remove(item)
            db.session.flush()
        return None
    _check(cart, product, quantity)
    if item is None:
        return _insert_item(cart, product, quantity)
    item.quantity = quantity
    db.session.flush()
    return item


def _insert_item(cart: Cart, product: Product, quantity: int) -> CartItem:
    # A plain INSERT ... RETURNING instead of a unit-of-work flush (the hot path of adding to
    # the cart); the new item joins the cart's loaded items as if it had been read with them.
    row = {"cart_id": cart.id, "product_id": product.id, "quantity": quantity}
    row["id"] = db.session.execute(_INSERT_ITEM, row).scalar_one()
    item = CartItem(**row)
    make_transient_to_detached(item)
    db.session.add(item)
    set_committed_value(item, "product", product)
    set_committed_value(cart, "items", [*cart.items, item])
    return item


def add(cart: Cart, product: Product, quantity: int = 1) -> CartItem | None:
    """Add units of the product to the cart; never more than in stock."""
    if quantity <= 0:
        raise ValidationError(_("The quantity must be at least 1."), field="quantity")
    have = next((i.quantity for i in cart.items if i.product_id == product.id), 0)
    return set_quantity(cart, product, have + quantity)


def merge(anonymous: Cart | None, user: User) -> Cart | None:
    """Move an anonymous cart's items into the owner's cart (capped at the stock of the
    owner's shop store)."""
    if anonymous is None or anonymous.user_id is not None:
        return None
    mine = open_cart(user)
    left = stock.at_store_many(store_id_of(mine), [i.product_id for i in anonymous.items])
    for item in list(anonymous.items):
        have = next((i for i in mine.items if i.product_id == item.product_id), None)
        wanted = min(item.quantity + (have.quantity if have else 0), left.get(item.product_id, 0))
        if wanted <= 0:
            continue
        if have is None:
            mine.items.append(CartItem(product_id=item.product_id, quantity=wanted))
        else:
            have.quantity = wanted
    db.session.delete(anonymous)
    db.session.flush()
    return mine


def lines(cart: Cart | None) -> list[Line]:
    """Return the cart's lines with today's prices."""
    if cart is None:
        return []
    return [Line(i, price_of(i.product)) for i in cart.items]


def total_fen(cart_lines: list[Line]) -> int:
    """Return the sum of the lines in fen."""
    return sum(line.total_fen for line in cart_lines)


def clear(cart: Cart) -> None:
    """Empty the cart."""
    # One plain DELETE instead of a flush of the collection; the items leave the session.
    db.session.execute(_CLEAR, {"cart_id": cart.id})
    for item in cart.items:
        db.session.expunge(item)
    set_committed_value(cart, "items", [])


_home = select(User.store_id).where(User.id == bindparam("holder")).scalar_subquery()
_shop_store = (
    select(Store.id)
    .where(Store.is_active.is_(True))
    .order_by((Store.id == func.coalesce(_home, 0)).desc(), Store.id)
    .limit(1)
    .scalar_subquery()
)
_LEFT = select(StoreStock.stock).where(
    StoreStock.store_id == _shop_store, StoreStock.product_id == bindparam("product")
)
_items = CartItem.__table__
_INSERT_ITEM = insert(_items).returning(_items.c.id)
_CLEAR = delete(_items).where(_items.c.cart_id == bindparam("cart_id"))
