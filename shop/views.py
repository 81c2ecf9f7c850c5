"""The owner's shop: catalog, cart, checkout, orders and receipts."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    after_this_request,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, user_logged_in
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.auth import current_account, is_htmx, owner_required
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Store
from portal.paging import keyset_page
from shop import cart as carts
from shop import catalog, cli, orders, payments  # noqa: F401  (cli registers its commands)
from shop.forms import AddForm, BuyForm, CheckoutForm, QuantityForm
from shop.models import HELD, PENDING, Order

bp = Blueprint("shop", __name__, url_prefix="/shop")
CART_COOKIE = "m4s_cart"
# Built once, so that its cache key is computed once (see shop.cart.find).
_ACTIVE_STORES = select(Store).where(Store.is_active.is_(True)).order_by(Store.id)


# -- the anonymous cart's signed cookie, and the merge at login -----------------------------


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


def _no_staff() -> None:
    if current_user.is_authenticated and current_user.role != "owner":
        abort(403)  # staff sell in the back office; they do not shop with their account


def _shopper_cart(create: bool = False, products: bool = True):
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


# -- catalog -------------------------------------------------------------------------------


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
    products, total = catalog.search(fits=vehicles if fits else None, **filters)
    searching = any(request.args.get(k) for k in ("q", "category", "sale", "stock", "fits"))
    return render_template(
        "shop/index.html",
        products=products,
        total=total,
        filters=filters,
        fits=bool(fits),
        vehicles=vehicles,
        searching=searching,
        categories=catalog.categories(),
        hot=[] if searching else catalog.placed("hot"),
        recommended=[] if searching else catalog.placed("recommended"),
        price_of=catalog.price_of,
        add_form=AddForm(formdata=None),
    )


@bp.route("/hot")
def hot_fragment():
    """Return the hot products block for other pages (the portal home loads it lazily)."""
    return render_template(
        "shop/_hot.html", hot=catalog.placed("hot", limit=4), price_of=catalog.price_of
    )


def _product_page(product, buy_form=None, status: int = 200):
    vehicles = catalog.owner_vehicles(current_user)
    owner = current_user.is_authenticated and current_user.role == "owner"
    if buy_form is None and owner and product.stock:
        buy_form = _order_choices(BuyForm(formdata=None))
        buy_form.store.data = current_user.store_id
        buy_form.expected_price_fen.data = str(catalog.price_of(product).sale_fen)
    return render_template(
        "shop/product.html",
        p=product,
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
    return _product_page(catalog.get_product(product_id))


# -- cart ----------------------------------------------------------------------------------


def _cart_page(cart, status: int = 200, errors: dict | None = None):
    lines = carts.lines(cart)
    template = "shop/_cart.html" if is_htmx() else "shop/cart.html"
    return render_template(
        template,
        lines=lines,
        total=carts.total_fen(lines),
        errors=errors or {},
        warn={
            li.item.product_id for li in lines if catalog.fits_none(li.item.product, current_user)
        },
    ), status


@bp.route("/cart")
def cart_show():
    """Show the cart."""
    return _cart_page(_shopper_cart())


@bp.route("/cart/add/<int:product_id>", methods=["POST"])
def cart_add(product_id: int):
    """Add a product to the cart; never more than in stock."""
    _no_staff()
    product = catalog.get_product(product_id, related=False)
    form = AddForm()
    if not form.validate():
        db.session.rollback()
        flash(" ".join(map(str, form.quantity.errors)), "error")
        return redirect(url_for(".product_show", product_id=product.id), code=303)
    cart = _shopper_cart(create=True, products=False)
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
    _no_staff()
    product = catalog.get_product(product_id)
    form = QuantityForm()
    cart = _shopper_cart(create=True)
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
        cart = _shopper_cart()
        if not is_htmx():
            flash(error, "error")
            return redirect(url_for(".cart_show"), code=303)
        return _cart_page(cart, 422, {product.id: error})
    db.session.commit()
    if is_htmx():
        return _cart_page(cart)
    return redirect(url_for(".cart_show"), code=303)


# -- checkout ------------------------------------------------------------------------------


def _order_choices(form):
    """Offer the active stores and the payment methods on a checkout or buy-now form."""
    stores = db.session.scalars(_ACTIVE_STORES)
    # Keep the rows referenced, so that the chosen store comes from the identity map later.
    form.active_stores = list(stores)
    form.store.choices = [SelectChoice(s.id, s.name) for s in form.active_stores]
    choices = [SelectChoice("store", _("Pay at the store"))]
    if payments.configured():
        choices.append(SelectChoice("stripe", _("Pay now by card")))
    form.payment.choices = choices
    return form


def _checkout_form(cart_lines) -> CheckoutForm:
    form = _order_choices(CheckoutForm())
    if not form.is_submitted():
        form.store.data = current_user.store_id
        form.expected_total_fen.data = str(carts.total_fen(cart_lines))
    return form


def _show_error(form, exc: DomainError, name: str | None = None) -> None:
    """Put a domain error next to its field (or the named one), else flash it."""
    field = getattr(form, name or exc.field or "", None)
    if field is None:
        flash(exc.message, "error")
    else:
        field.errors = [*field.errors, exc.message]


def _placed(order):
    """Commit the new order and send the owner to it (or to the card payment)."""
    # Read what the answer needs before the commit expires the order.
    order_id, stripe = order.id, order.payment == "stripe"
    done = _("Order %(n)s is placed. Pay when you pick it up.", n=order.number)
    db.session.commit()
    if stripe:
        return redirect(url_for(".order_pay", order_id=order_id), code=303)
    flash(done, "success")
    return redirect(url_for(".order_show", order_id=order_id), code=303)


def _chosen(form) -> dict:
    """The delivery, store, address and payment an order form chose."""
    return {
        "delivery": form.delivery.data,
        "store": db.session.get(Store, form.store.data),
        "address": form.address.data or "",
        "payment": form.payment.data,
    }


def _confirmed_expectation(form, expected_field, misfit: bool) -> int | None:
    """The price the owner was shown (checkout and buy now), or None with the form's error
    set: parts that fit none of their cars need the confirmation ticked; a price that is not
    a number means a tampered or incomplete form."""
    expected = expected_field.data or ""
    if misfit and not form.fits_confirmed.data:
        form.fits_confirmed.errors = [_("Confirm that you want parts that fit none of your cars.")]
    elif int_arg(expected, maximum=2**53) is None:
        expected_field.errors = [_("The form is incomplete. Reload the page.")]
    else:
        return int(expected)
    return None


@bp.route("/checkout", methods=["GET", "POST"])
@owner_required
def checkout():
    """Choose delivery or pickup and payment, then place the order (holding the stock)."""
    user = current_account()
    cart = carts.find(user)
    lines = carts.lines(cart)
    if not lines:
        flash(_("Your cart is empty."), "info")
        return redirect(url_for(".cart_show"), code=303)
    form = _checkout_form(lines)
    misfits = [li for li in lines if catalog.fits_none(li.item.product, user)]
    if form.validate_on_submit():
        expected = _confirmed_expectation(form, form.expected_total_fen, bool(misfits))
        if expected is not None:
            try:
                order = orders.place_order(
                    user,
                    cart,
                    **_chosen(form),
                    expected_total_fen=expected,
                )
                if order.payment == "stripe":
                    orders.start_stripe_payment(order)
            except DomainError as exc:
                db.session.rollback()
                _show_error(form, exc)
                cart = carts.find(user)
                lines = carts.lines(cart)
                form.expected_total_fen.data = str(carts.total_fen(lines))
            else:
                return _placed(order)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "shop/checkout.html",
        form=form,
        lines=lines,
        total=carts.total_fen(lines),
        misfits=misfits,
        hold_minutes=orders.hold_minutes(),
    ), status


@bp.route("/products/<int:product_id>/buy", methods=["POST"])
@owner_required
def buy_now(product_id: int):
    """Order one product straight from its page (buy now), without touching the cart."""
    user = current_account()
    product = catalog.get_product(product_id)
    form = _order_choices(BuyForm())
    if form.validate():
        misfit = catalog.fits_none(product, user)
        expected = _confirmed_expectation(form, form.expected_price_fen, misfit)
        if expected is not None:
            try:
                order = orders.buy_now(
                    user,
                    product,
                    form.quantity.data,
                    **_chosen(form),
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
                short = (exc.field or "").startswith("product-") and product.stock
                _show_error(form, exc, "quantity" if short else None)
            else:
                return _placed(order)
    return _product_page(product, buy_form=form, status=422)


# -- orders --------------------------------------------------------------------------------


@bp.route("/orders")
@owner_required
def order_list():
    """List the owner's orders, newest first, a page at a time."""
    page = keyset_page(orders.history_query(current_user), Order.created_at, Order.id)
    return render_template("shop/orders.html", orders=page.items, page=page)


@bp.route("/orders/<int:order_id>")
@owner_required
def order_show(order_id: int):
    """Show one of the owner's orders."""
    order = orders.owned_order(current_user, order_id)
    return render_template("shop/order.html", o=order, expired=orders.hold_expired(order))


@bp.route("/orders/<int:order_id>/receipt")
@owner_required
def order_receipt(order_id: int):
    """Show a printable receipt of the order."""
    order = orders.owned_order(current_user, order_id)
    return render_template("shop/receipt.html", o=order)


STRIPE_CSP = (
    "default-src 'self'; script-src 'self' https://js.stripe.com; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: https://*.stripe.com; "
    "frame-src https://js.stripe.com https://hooks.stripe.com; "
    "connect-src 'self' https://api.stripe.com https://js.stripe.com; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'"
)


@bp.route("/orders/<int:order_id>/pay", methods=["GET", "POST"])
@owner_required
def order_pay(order_id: int):
    """Pay an order by card with Stripe's Payment Element; POST holds the stock again."""
    order = orders.owned_order(current_user, order_id)
    if order.payment != "stripe" or not payments.configured():
        abort(404)
    if request.method == "POST":  # CSRFProtect has checked the token already
        try:
            orders.renew_hold(order)
            orders.start_stripe_payment(order)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".order_show", order_id=order.id), code=303)
        db.session.commit()
        return redirect(url_for(".order_pay", order_id=order.id), code=303)
    if order.status != PENDING:
        return redirect(url_for(".order_show", order_id=order.id), code=303)
    ready = order.stock_state == HELD and not orders.hold_expired(order) and order.payment_intent_id
    secret = payments.client_secret(order) if ready else ""
    response = current_app.make_response(
        render_template("shop/pay.html", o=order, client_secret=secret, ready=ready)
    )
    response.headers["Content-Security-Policy"] = STRIPE_CSP
    return response


@bp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@owner_required
def order_cancel(order_id: int):
    """Cancel an unpaid order; its stock goes back on the shelf."""
    order = orders.owned_order(current_user, order_id)
    try:
        orders.cancel(current_account(), order)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("Order %(n)s is cancelled.", n=order.number), "success")
    return redirect(url_for(".order_show", order_id=order_id), code=303)
