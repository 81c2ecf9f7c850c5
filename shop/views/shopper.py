"""Who is shopping: the owner's cart, or an anonymous one in a signed cookie merged at login."""

from __future__ import annotations

from flask import abort, after_this_request, current_app, request
from flask_login import current_user, user_logged_in
from itsdangerous import BadSignature, URLSafeSerializer

from portal.auth import current_account
from portal.extensions import db
from shop import cart as carts
from shop.views import bp

CART_COOKIE = "m4s_cart"


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="m4s-shop-cart")


def _cookie_key() -> str | None:
    raw = request.cookies.get(CART_COOKIE)
    if not raw:
        return None
    try:
        return _signer().loads(raw)
    except BadSignature:
        return None


def _remember_key(key: str) -> None:
    @after_this_request
    def _set(response):
        response.set_cookie(
            CART_COOKIE,
            _signer().dumps(key),
            max_age=30 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
        return response


def _merge_at_login(app, user, **_extra) -> None:
    """Move the anonymous cart into the owner's cart when they log in (a POST)."""
    key = _cookie_key()
    if not key or user.role != "owner":
        return
    carts.merge(carts.find(key=key), user)
    db.session.commit()

    @after_this_request
    def _forget(response):
        response.delete_cookie(CART_COOKIE)
        return response


@bp.record_once
def _connect(state) -> None:
    user_logged_in.connect(_merge_at_login, state.app)


def no_staff() -> None:
    """Refuse staff accounts (403)."""
    if current_user.is_authenticated and current_user.role != "owner":
        abort(403)  # staff sell in the back office; they do not shop with their account


def shopper_cart(create: bool = False, products: bool = True):
    """Return the current shopper's cart: the owner's, or the cookie's anonymous one."""
    if current_user.is_authenticated:
        if current_user.role != "owner":
            abort(403)
        user = current_account()
        return carts.open_cart(user, products=products) if create else carts.find(user)
    key = _cookie_key()
    if not create:
        return carts.find(key=key)
    cart = carts.open_cart(key=key, products=products)
    if cart.key != key:
        _remember_key(cart.key)
    return cart
