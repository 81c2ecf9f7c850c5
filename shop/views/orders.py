"""The owner's orders: list, show, receipt, paying online and its result, and cancelling."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth import current_account, is_htmx, owner_required
from portal.errors import DomainError
from portal.extensions import db
from portal.inputs import int_arg
from portal.outcome import flash_outcome
from portal.paging import keyset_page
from portal.timeutil import now
from shop import orders, payment_methods, payments
from shop.models import HELD, PENDING, PROCESSING, READY, Order
from shop.views import bp


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
    expired_pickup = order.pickup_on is not None and order.hold_expires_at <= now()
    return render_template(
        "shop/order.html",
        o=order,
        expired=orders.hold_expired(order),
        expired_pickup=expired_pickup,
    )


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
    """Pay an order online with Stripe's Payment Element (card, Alipay, WeChat Pay); POST
    starts another attempt, holding the stock again."""
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
    if order.payment_state == PROCESSING:  # the provider has yet to answer: no second payment
        return redirect(url_for(".order_return", order_id=order.id), code=303)
    ready = order.stock_state == HELD and not orders.hold_expired(order) and order.payment_intent_id
    secret = payments.client_secret(order) if ready else ""
    response = current_app.make_response(
        render_template("shop/pay.html", o=order, client_secret=secret, ready=ready)
    )
    response.headers["Content-Security-Policy"] = STRIPE_CSP
    return response


# The result page asks again every few seconds while the payment is open, at most this often.
RESULT_POLLS = 60


@bp.route("/orders/<int:order_id>/return")
@owner_required
def order_return(order_id: int):
    """Show the order's payment result when Stripe sends the owner back (htmx polls it)."""
    order = orders.owned_order(current_user, order_id)
    if order.payment != "stripe":
        return redirect(url_for(".order_show", order_id=order.id), code=303)
    polls = int_arg(request.args.get("poll")) or 0
    template = "shop/_payment_result.html" if is_htmx() else "shop/payment_return.html"
    return render_template(
        template,
        o=order,
        outcome=payment_methods.outcome(order),
        next_poll=polls + 1 if polls < RESULT_POLLS else None,
    )


@bp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@owner_required
def order_cancel(order_id: int):
    """Cancel an unpaid order; its stock goes back on the shelf."""
    order = orders.owned_order(current_user, order_id)
    with flash_outcome(_("Order %(n)s is cancelled.", n=order.number)):
        orders.cancel(current_account(), order)
    return redirect(url_for(".order_show", order_id=order_id), code=303)


@bp.route("/orders/waiting")
@owner_required
def orders_waiting():
    """Return the owner home's strip of orders that wait on the owner: to pay or to pick up."""
    waiting = [
        o
        for o in db.session.scalars(
            orders.history_query(current_user)
            .where(Order.status.in_((PENDING, READY)))
            .order_by(Order.created_at.desc())
            .limit(5)
        )
        if o.status == READY or not orders.hold_expired(o)
    ]
    return render_template("shop/_waiting.html", waiting=waiting)
