"""The owner's shop: catalog, cart, checkout, orders and receipts."""

from __future__ import annotations

from flask import Blueprint

from shop import cli  # noqa: F401  (cli registers its commands)

bp = Blueprint("shop", __name__, url_prefix="/shop")

# The route modules register on bp when imported.
from shop.views import cart, catalog, checkout, coupons, orders, shopper  # noqa: E402, F401
