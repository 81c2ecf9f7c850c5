"""Checkout: the order form's choices and checks, placing the order from the cart."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.auth import current_account, owner_required
from portal.errors import DomainError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Store
from shop import cart as carts
from shop import catalog, coupons, orders, payment_methods, payments
from shop.forms import CheckoutForm
from shop.orders import pickup
from shop.views import bp

# Built once, so that its cache key is computed once (see shop.cart.find).
_ACTIVE_STORES = select(Store).where(Store.is_active.is_(True)).order_by(Store.id)


def order_choices(form):
    """Offer the active stores and the payment methods on a checkout or buy-now form."""
    stores = db.session.scalars(_ACTIVE_STORES)
    # Keep the rows referenced, so that the chosen store comes from the identity map later.
    form.active_stores = list(stores)
    form.store.choices = [SelectChoice(s.id, s.name) for s in form.active_stores]
    windows = [pickup.window(s) for s in form.active_stores]
    form.pickup_min = min((w[0] for w in windows), default=None)
    form.pickup_max = max((w[1] for w in windows), default=None)
    choices = [SelectChoice("store", _("Pay at the store"))]
    if payments.configured():
        choices.append(SelectChoice("stripe", payment_methods.offered_label()))
    form.payment.choices = choices
    return form


def _checkout_form(cart_lines) -> CheckoutForm:
    form = order_choices(CheckoutForm())
    if not form.is_submitted():
        form.store.data = current_user.store_id
        store = db.session.get(Store, current_user.store_id) if current_user.store_id else None
        if store is not None:
            form.pickup_on.data = pickup.window(store)[0]
        form.expected_total_fen.data = str(carts.total_fen(cart_lines))
    return form


def show_error(form, exc: DomainError, name: str | None = None) -> None:
    """Put a domain error next to its field (or the named one), else flash it."""
    field = getattr(form, name or exc.field or "", None)
    if field is None:
        flash(exc.message, "error")
    else:
        field.errors = [*field.errors, exc.message]


def placed(order):
    """Commit the new order and send the owner to it (or to the card payment)."""
    # Read what the answer needs before the commit expires the order.
    order_id, stripe = order.id, order.payment == "stripe"
    done = _("Order %(n)s is placed. Pay when you pick it up.", n=order.number)
    db.session.commit()
    if stripe:
        return redirect(url_for(".order_pay", order_id=order_id), code=303)
    flash(done, "success")
    return redirect(url_for(".order_show", order_id=order_id), code=303)


def chosen(form) -> dict:
    """The delivery, store, address and payment an order form chose."""
    return {
        "delivery": form.delivery.data,
        "store": db.session.get(Store, form.store.data),
        "address": form.address.data or "",
        "payment": form.payment.data,
        "pickup_on": form.pickup_on.data,
    }


def confirmed_expectation(form, expected_field, misfit: bool) -> int | None:
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


def pickup_day_given(form) -> bool:
    """A pay-at-store pickup needs its day; put the error on the field when it is missing."""
    wants_day = form.delivery.data == "pickup" and form.payment.data == "store"
    if wants_day and form.pickup_on.data is None:
        if not form.pickup_on.errors:
            form.pickup_on.errors = [_("Choose the day you will pick up the order.")]
        return False
    return True


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
        expected = confirmed_expectation(form, form.expected_total_fen, bool(misfits))
        if expected is not None and not pickup_day_given(form):
            expected = None
        if expected is not None:
            try:
                order = orders.place_order(
                    user,
                    cart,
                    **chosen(form),
                    expected_total_fen=expected,
                )
                if form.coupon_wanted():
                    coupons.redeem(user, order, form.coupon_wanted())
                if order.payment == "stripe":
                    orders.start_stripe_payment(order)
            except DomainError as exc:
                db.session.rollback()
                show_error(form, exc)
                cart = carts.find(user)
                lines = carts.lines(cart)
                form.expected_total_fen.data = str(carts.total_fen(lines))
            else:
                return placed(order)
    status = 422 if form.is_submitted() else 200
    # Only a page shown needs the owner's coupons: a placed order reads the one it uses.
    form.coupon.choices = [SelectChoice("", _("No coupon"))] + [
        SelectChoice(c.code, f"{c.offer.shown()} ({c.code})") for c in coupons.usable(user)
    ]
    return render_template(
        "shop/checkout.html",
        form=form,
        lines=lines,
        total=carts.total_fen(lines),
        misfits=misfits,
        hold_minutes=orders.hold_minutes(),
    ), status
