"""Stripe's payment methods the shop offers (bank card, Alipay, WeChat Pay) and how an order
was paid: which method, read from Stripe's events, and what the owner sees after paying.

`SHOP_PAYMENT_METHODS` lists the methods each new PaymentIntent offers, in CNY. WeChat Pay on
the web shows a QR code (payment_method_options[wechat_pay][client]=web); Alipay sends the
owner to Alipay and back to our return page, where the order's state is read from our
database as the webhooks leave it.
"""

from __future__ import annotations

from typing import Any

from babel.lists import format_list
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from shop.models import (
    ALIPAY,
    CANCELLED,
    CARD,
    FAILED,
    PAYMENT_METHODS,
    PENDING,
    PROCESSING,
    REFUNDED,
    WECHAT_PAY,
    Order,
)

METHODS = PAYMENT_METHODS
LABELS = {CARD: _l("Bank card"), ALIPAY: _l("Alipay"), WECHAT_PAY: _l("WeChat Pay")}


def offered() -> tuple[str, ...]:
    """Return the payment methods a new PaymentIntent offers, in the configured order."""
    return tuple(current_app.config["SHOP_PAYMENT_METHODS"])  # checked by portal.config


def intent_options(methods: tuple[str, ...]) -> dict:
    """Return the PaymentIntent parameters that choose the methods (and WeChat Pay's client)."""
    params: dict = {"payment_method_types": list(methods)}
    if WECHAT_PAY in methods:
        params["payment_method_options"] = {WECHAT_PAY: {"client": "web"}}
    return params


def offered_label() -> str:
    """Return the checkout's label of paying online, naming the methods offered."""
    labels = [str(LABELS[m]) for m in offered()]
    methods = format_list(labels, style="or", locale=get_locale())
    return str(_l("Pay now online: %(methods)s", methods=methods))


def _known(name: Any) -> str | None:
    return name if name in METHODS else None


def _detail_type(charge: Any) -> str | None:
    if isinstance(charge, dict):
        details = charge.get("payment_method_details")
        if isinstance(details, dict):
            return _known(details.get("type"))
    return None


def method_of(obj: dict) -> str | None:
    """Return the payment method a Stripe PaymentIntent or Charge object says was used.

    A Charge carries payment_method_details.type. A PaymentIntent carries it on its charges
    (API versions before 2022-11-15), on an expanded latest_charge or payment_method, on the
    failed attempt's payment method, or it offered only one method; else None.
    """
    if obj.get("object") == "charge":
        return _detail_type(obj)
    charges = obj.get("charges")
    if isinstance(charges, dict) and isinstance(charges.get("data"), list) and charges["data"]:
        found = _detail_type(charges["data"][-1])
        if found:
            return found
    found = _detail_type(obj.get("latest_charge"))
    if found:
        return found
    for holder in (obj, obj.get("last_payment_error")):
        method = holder.get("payment_method") if isinstance(holder, dict) else None
        if isinstance(method, dict) and _known(method.get("type")):
            return method["type"]
    types = obj.get("payment_method_types")
    if isinstance(types, list) and len(types) == 1:
        return _known(types[0])
    return None


def outcome(order: Order) -> str:
    """Say where the order's online payment stands, from our database only.

    paid, refunded or cancelled (final), failed (final: the owner may try again), processing
    (the provider has not answered yet), or checking (no word from Stripe yet).
    """
    if order.status in (REFUNDED, CANCELLED):
        return order.status
    if order.status != PENDING:
        return "paid"
    if order.payment_state in (PROCESSING, FAILED):
        return order.payment_state
    return "checking"
