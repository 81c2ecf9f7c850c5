"""The owner's shop: catalog, cart, checkout, orders and receipts."""

from __future__ import annotations

from flask import Blueprint

from shop import cli  # noqa: F401  (cli registers its commands)

bp = Blueprint("shop", __name__, url_prefix="/shop")


@bp.record_once
def _offer_parts_stock(state) -> None:
    """Let the workshop (in portal, which never imports shop) reserve parts from stock."""
    from shop import parts

    state.app.extensions[parts.PARTS_STOCK] = parts


# The route modules register on bp when imported.
from shop.views import cart, catalog, checkout, coupons, orders, shopper  # noqa: E402, F401
