"""The catalog: home with search and filters, the hot block, a product's page and buy now."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from portal.auth import current_account, owner_required
from portal.errors import DomainError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Store
from shop import catalog, orders, stock
from shop.forms import AddForm, BuyForm
from shop.orders import pickup
from shop.views import bp
from shop.views.checkout import (
    chosen,
    confirmed_expectation,
    order_choices,
    pickup_day_given,
    placed,
    show_error,
)


def _int_arg(name: str) -> int | None:
    return int_arg(request.args.get(name), minimum=1)


@bp.route("/")
def index():
    """Show hot and recommended products, and the catalog with search and filters."""
    vehicles = catalog.owner_vehicles(current_user)
    fits = request.args.get("fits") == "1" and vehicles
    filters = {
        "q": request.args.get("q", "").strip()[:60],
        "category_id": _int_arg("category"),
        "on_sale": request.args.get("sale") == "1",
        "in_stock": request.args.get("stock") == "1",
        "sort": request.args.get("sort", "name"),
        "page": _int_arg("page") or 1,
    }
    store_id = catalog.shopper_store_id(current_user)
    products, total = catalog.search(fits=vehicles if fits else None, store_id=store_id, **filters)
    searching = any(request.args.get(k) for k in ("q", "category", "sale", "stock", "fits"))
    hot = [] if searching else catalog.placed("hot")
    recommended = [] if searching else catalog.placed("recommended")
    return render_template(
        "shop/index.html",
        products=products,
        shelf=catalog.shelf(store_id, [*products, *hot, *recommended]),
        total=total,
        filters=filters,
        fits=bool(fits),
        vehicles=vehicles,
        searching=searching,
        categories=catalog.categories(),
        hot=hot,
        recommended=recommended,
        price_of=catalog.price_of,
        add_form=AddForm(formdata=None),
    )


@bp.route("/hot")
def hot_fragment():
    """Return the hot products block for other pages (the portal home loads it lazily)."""
    hot = catalog.placed("hot", limit=4)
    shelf = catalog.shelf(catalog.shopper_store_id(current_user), hot)
    return render_template("shop/_hot.html", hot=hot, shelf=shelf, price_of=catalog.price_of)


def product_page(product, buy_form=None, status: int = 200):
    vehicles = catalog.owner_vehicles(current_user)
    owner = current_user.is_authenticated and current_user.role == "owner"
    shop_store = db.session.get(Store, catalog.shopper_store_id(current_user) or 0)
    left = stock.at_store(shop_store.id if shop_store else None, product.id)
    if buy_form is None and owner and left:
        buy_form = order_choices(BuyForm(formdata=None))
        buy_form.store.data = shop_store.id  # the store whose shelf the page shows
        # the first day the store holds a pay-at-store pickup
        buy_form.pickup_on.data = pickup.window(shop_store)[0]
        buy_form.expected_price_fen.data = str(catalog.price_of(product).sale_fen)
    return render_template(
        "shop/product.html",
        p=product,
        left=left,
        shop_store=shop_store,
        price=catalog.price_of(product),
        fitting=catalog.fitting(product, vehicles) if product.fitments else [],
        fits_none=catalog.fits_none(product, current_user),
        add_form=AddForm(formdata=None),
        buy_form=buy_form,
        hold_minutes=orders.hold_minutes(),
    ), status


@bp.route("/products/<int:product_id>")
def product_show(product_id: int):
    """Show a product with its prices, stock and whether it fits the owner's cars."""
    return product_page(catalog.get_product(product_id))


@bp.route("/products/<int:product_id>/buy", methods=["POST"])
@owner_required
def buy_now(product_id: int):
    """Order one product straight from its page (buy now), without touching the cart."""
    user = current_account()
    product = catalog.get_product(product_id)
    form = order_choices(BuyForm())
    if form.validate():
        misfit = catalog.fits_none(product, user)
        expected = confirmed_expectation(form, form.expected_price_fen, misfit)
        if expected is not None and pickup_day_given(form):
            try:
                order = orders.buy_now(
                    user,
                    product,
                    form.quantity.data,
                    **chosen(form),
                    expected_price_fen=expected,
                )
                if order.payment == "stripe":
                    orders.start_stripe_payment(order)
            except DomainError as exc:
                db.session.rollback()
                product = catalog.get_product(product_id)
                form.expected_price_fen.data = str(catalog.price_of(product).sale_fen)
                # Fewer left than asked (the field names the product): say so at the quantity;
                # sold out meanwhile: the page shows no form any more, the message is flashed.
                left = stock.at_store(form.store.data, product.id)
                short = (exc.field or "").startswith("product-") and left
                show_error(form, exc, "quantity" if short else None)
            else:
                return placed(order)
    return product_page(product, buy_form=form, status=422)
