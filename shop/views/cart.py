"""The cart: show it, add a product, change a quantity (htmx swaps the cart in place)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth import is_htmx
from portal.errors import ValidationError
from portal.extensions import db
from shop import cart as carts
from shop import catalog
from shop.forms import AddForm, QuantityForm
from shop.views import bp
from shop.views.shopper import no_staff, shopper_cart


def _cart_page(cart, status: int = 200, errors: dict | None = None):
    lines = carts.lines(cart)
    template = "shop/_cart.html" if is_htmx() else "shop/cart.html"
    store_id = carts.store_id_of(cart) if cart is not None else None
    return render_template(
        template,
        lines=lines,
        shelf=catalog.shelf(store_id, [li.item.product for li in lines]),
        total=carts.total_fen(lines),
        errors=errors or {},
        warn={
            li.item.product_id for li in lines if catalog.fits_none(li.item.product, current_user)
        },
    ), status


@bp.route("/cart")
def cart_show():
    """Show the cart."""
    return _cart_page(shopper_cart())


@bp.route("/cart/add/<int:product_id>", methods=["POST"])
def cart_add(product_id: int):
    """Add a product to the cart; never more than in stock."""
    no_staff()
    product = catalog.get_product(product_id, related=False)
    form = AddForm()
    if not form.validate():
        db.session.rollback()
        flash(" ".join(map(str, form.quantity.errors)), "error")
        return redirect(url_for(".product_show", product_id=product.id), code=303)
    cart = shopper_cart(create=True, products=False)
    try:
        carts.add(cart, product, form.quantity.data)
    except ValidationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".product_show", product_id=product.id), code=303)
    done = _("%(name)s is in your cart.", name=product.name)  # before the commit expires it
    db.session.commit()
    flash(done, "success")
    return redirect(request.form.get("next") == "shop" and url_for(".index")
                    or url_for(".cart_show"), code=303)  # fmt: skip


@bp.route("/cart/<int:product_id>", methods=["POST"])
def cart_update(product_id: int):
    """Change a quantity in the cart (0 removes the line); htmx swaps the cart in place."""
    no_staff()
    product = catalog.get_product(product_id)
    form = QuantityForm()
    cart = shopper_cart(create=True)
    error = None
    if not form.validate():
        error = " ".join(map(str, form.quantity.errors))
    else:
        try:
            carts.set_quantity(cart, product, form.quantity.data)
        except ValidationError as exc:
            error = exc.message
    if error:
        db.session.rollback()
        cart = shopper_cart()
        if not is_htmx():
            flash(error, "error")
            return redirect(url_for(".cart_show"), code=303)
        return _cart_page(cart, 422, {product.id: error})
    db.session.commit()
    if is_htmx():
        return _cart_page(cart)
    return redirect(url_for(".cart_show"), code=303)
