"""Which Stripe payment methods an order's PaymentIntent offers, and reading the method back.

The request sent to localstripe is checked in tests/shop/test_localstripe.py; the webhooks
of Alipay and WeChat Pay in tests/shop/test_alipay_wechat.py.
"""

from __future__ import annotations

import pytest

from portal.config import PAYMENT_METHOD_NAMES
from shop import payment_methods, payments
from shop.models import PAYMENT_METHODS, Order


def test_intent_parameters_follow_the_configuration(app, monkeypatch):
    monkeypatch.setitem(app.config, "SHOP_PAYMENT_METHODS", ("alipay", "card"))
    order = Order(number="N1", total_fen=12_300)
    with app.app_context():
        params = payments.intent_params(order)
    assert params == {
        "amount": 12_300,
        "currency": "cny",
        "payment_method_types": ["alipay", "card"],
        "metadata": {"order": "N1"},
    }


def test_the_configuration_is_checked_at_start(make_app, monkeypatch):
    assert PAYMENT_METHOD_NAMES == PAYMENT_METHODS
    assert make_app().config["SHOP_PAYMENT_METHODS"] == ("card", "alipay", "wechat_pay")
    monkeypatch.setenv("M4S_SHOP_PAYMENT_METHODS", '["wechat_pay", "card"]')
    assert make_app().config["SHOP_PAYMENT_METHODS"] == ("wechat_pay", "card")
    for bad in ('["card", "paypal"]', "[]"):
        monkeypatch.setenv("M4S_SHOP_PAYMENT_METHODS", bad)
        with pytest.raises(RuntimeError, match="M4S_SHOP_PAYMENT_METHODS"):
            make_app()


def test_the_checkout_names_the_methods_in_both_languages(client, auth, owner, shop,
                                                         stripe_keys):  # fmt: skip
    product = shop.product(stock_qty=1)
    auth.login(owner)
    client.post(f"/shop/cart/add/{product.id}", data={"quantity": "1"})
    html = client.get("/shop/checkout").get_data(as_text=True)
    assert "Pay now online: Bank card, Alipay, or WeChat Pay" in html
    assert client.post("/lang", data={"lang": "zh_CN"}).status_code == 303
    html = client.get("/shop/checkout").get_data(as_text=True)
    assert "立即在线支付：银行卡、支付宝或微信支付" in html


CARD = {"id": "pm_1", "object": "payment_method", "type": "card"}
CHARGE = {"object": "charge", "payment_method_details": {"type": "wechat_pay", "wechat_pay": {}}}


@pytest.mark.parametrize(
    "obj,method",
    [
        (CHARGE, "wechat_pay"),
        ({"object": "payment_intent", "charges": {"data": [CHARGE]}}, "wechat_pay"),
        ({"object": "payment_intent", "latest_charge": CHARGE}, "wechat_pay"),
        ({"object": "payment_intent", "latest_charge": "ch_1"}, None),
        ({"object": "payment_intent", "payment_method": {"type": "alipay"}}, "alipay"),
        ({"object": "payment_intent", "last_payment_error": {"payment_method": CARD}}, "card"),
        ({"object": "payment_intent", "payment_method_types": ["alipay"]}, "alipay"),
        ({"object": "payment_intent", "payment_method_types": ["card", "alipay"]}, None),
        ({"object": "charge", "payment_method_details": {"type": "paypal"}}, None),
        ({"object": "payment_intent", "payment_method": {"type": ["card"]}}, None),
    ],
)
def test_the_method_is_read_from_stripes_objects(obj, method):
    assert payment_methods.method_of(obj) == method
