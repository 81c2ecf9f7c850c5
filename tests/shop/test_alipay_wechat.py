"""Alipay and WeChat Pay through Stripe: the webhooks they send, signed as Stripe signs them,
and what the owner sees on the return page and the order page.

localstripe has no Alipay or WeChat Pay payment methods (it cannot confirm, redirect or
process one), so these tests post Stripe's documented events to the endpoint themselves:
PaymentIntents and Charges whose payment_method_details name the method.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent
from shop import cart as carts
from shop import orders, stock
from shop.models import Order, Product
from tests.shop.test_webhooks import event, post
from tests.threads import at_once

_n = itertools.count(1)


@pytest.fixture
def online_order(stripe_keys, owner, store, shop):
    """A pending online order of 2 units whose PaymentIntent Stripe already made."""
    product = shop.product(stock_qty=2, price_fen=6000)
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, product, 2)
    order = orders.place_order(owner, cart, delivery="pickup", store=store, payment="stripe")
    order.payment_intent_id = f"pi_m4s_{next(_n)}"  # what start_stripe_payment stored
    db.session.commit()
    return order


def _reload(order) -> Order:
    db.session.rollback()
    return db.session.get(Order, order.id)


def _charge(order, method: str, status: str = "succeeded") -> dict:
    """A Charge as Stripe sends it for an Alipay or WeChat Pay payment."""
    details = {
        "alipay": {"buyer_id": "2088000000000000", "fingerprint": "fp_a", "transaction_id": "t1"},
        "wechat_pay": {"fingerprint": "fp_w", "transaction_id": "4200000000000000"},
        "card": {"brand": "unionpay", "last4": "0005", "country": "CN"},
    }[method]
    return {
        "id": f"ch_{next(_n)}",
        "object": "charge",
        "amount": order.total_fen,
        "currency": "cny",
        "paid": status == "succeeded",
        "status": status,
        "payment_intent": order.payment_intent_id,
        "payment_method": f"pm_{next(_n)}",
        "payment_method_details": {"type": method, method: details},
    }


def _intent(order, status: str, method: str | None = None, *, old_api=False) -> dict:
    """A PaymentIntent as Stripe sends it: current API (latest_charge is an id) or, for
    endpoints on an API version before 2022-11-15, with its charges listed."""
    intent = {
        "id": order.payment_intent_id,
        "object": "payment_intent",
        "amount": order.total_fen,
        "amount_received": order.total_fen if status == "succeeded" else 0,
        "currency": "cny",
        "status": status,
        "payment_method_types": ["card", "alipay", "wechat_pay"],
        "payment_method_options": {"wechat_pay": {"client": "web"}},
        "latest_charge": f"ch_{next(_n)}",
        "payment_method": f"pm_{next(_n)}",
    }
    if old_api and method:
        intent["charges"] = {"object": "list", "data": [_charge(order, method, status)]}
    return intent


def _succeeded(order, method: str, event_id: str | None = None) -> str:
    """payment_intent.succeeded for an endpoint on an older API version: charges listed."""
    intent = _intent(order, "succeeded", method, old_api=True)
    return event("payment_intent.succeeded", intent, event_id)


def _failed(order, method: str) -> dict:
    intent = _intent(order, "requires_payment_method")
    intent["payment_method"] = None
    intent["last_payment_error"] = {
        "code": "payment_intent_payment_attempt_failed",
        "type": "invalid_request_error",
        "payment_method": {"id": f"pm_{next(_n)}", "object": "payment_method", "type": method},
    }
    return intent


def _paid_audits(order) -> int:
    query = select(func.count()).select_from(AuditEvent)
    return db.session.scalar(
        query.where(AuditEvent.action == "shop_order_paid", AuditEvent.target_id == order.id)
    )


def test_alipay_success_pays_once_and_a_replay_changes_nothing(client, online_order):
    payload = _succeeded(online_order, "alipay", "evt_alipay_ok")
    answers = [post(client, payload).json["result"] for _ in range(3)]
    assert answers == ["applied", "duplicate", "duplicate"]
    # The same success sent again as a new event (another endpoint's copy) changes nothing.
    again = _succeeded(online_order, "alipay")
    assert post(client, again).json["result"] == "applied"
    order = _reload(online_order)
    assert (order.status, order.payment_method, order.payment_state) == ("paid", "alipay", None)
    assert order.stock_state == "sold" and _paid_audits(order) == 1
    assert stock.ledger_total(order.lines[0].product_id) == 0


@pytest.mark.parametrize("charge_first", [True, False], ids=["charge-first", "intent-first"])
def test_wechat_pay_on_the_current_api_takes_the_method_from_the_charge(
    client, online_order, charge_first
):
    events = [
        event("payment_intent.succeeded", _intent(online_order, "succeeded")),
        event("charge.succeeded", _charge(online_order, "wechat_pay")),
    ]
    for payload in reversed(events) if charge_first else events:
        assert post(client, payload).json["result"] == "applied"
    order = _reload(online_order)
    assert (order.status, order.payment_method) == ("paid", "wechat_pay")
    assert _paid_audits(order) == 1


def test_processing_waits_for_alipay_then_success_ends_the_polling(client, auth, online_order):
    pending = event("charge.pending", _charge(online_order, "alipay", "pending"))
    processing = event("payment_intent.processing", _intent(online_order, "processing"))
    assert post(client, pending).json["result"] == post(client, processing).json["result"]
    order = _reload(online_order)
    assert (order.status, order.payment_state, order.payment_method) == (
        "pending",
        "processing",
        "alipay",
    )
    assert order.stock_state == "held"
    auth.login(order.user)
    page = client.get(f"/shop/orders/{order.id}/return?payment_intent={order.payment_intent_id}"
                      "&redirect_status=succeeded")  # fmt: skip
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-outcome="processing"' in html
    assert "Waiting for Alipay to confirm the payment." in html and "/return?poll=1" in html
    # Paying again is refused while Alipay has not answered: no second payment.
    assert client.get(f"/shop/orders/{order.id}/pay").headers["Location"].endswith("/return")
    r = client.post(f"/shop/orders/{order.id}/pay")
    assert r.status_code == 303 and _reload(order).payment_state == "processing"
    assert "Waiting for Alipay" in client.get(f"/shop/orders/{order.id}").get_data(as_text=True)

    post(client, event("payment_intent.succeeded", _intent(order, "succeeded")))
    fragment = client.get(f"/shop/orders/{order.id}/return?poll=3", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and 'data-outcome="paid"' in html and "hx-get" not in html
    assert "Payment received (Alipay)." in html


def test_failure_lets_the_owner_try_again_on_the_same_order_and_intent(
    client, auth, online_order, shop
):
    intent_id = online_order.payment_intent_id
    post(client, event("payment_intent.payment_failed", _failed(online_order, "wechat_pay")))
    order = _reload(online_order)
    assert (order.status, order.payment_state, order.payment_method) == (
        "pending",
        "failed",
        "wechat_pay",
    )
    product = db.session.get(Product, order.lines[0].product_id)
    assert order.stock_state == "released" and product.stock == 2
    auth.login(order.user)
    html = client.get(f"/shop/orders/{order.id}/return").get_data(as_text=True)
    assert 'data-outcome="failed"' in html and "/return?poll=" not in html
    assert "The payment with WeChat Pay did not go through." in html and 'id="pay-again"' in html
    # A processing event of that failed attempt, delivered late, is no news.
    post(client, event("payment_intent.processing", _intent(order, "processing")))
    assert _reload(order).payment_state == "failed"

    r = client.post(f"/shop/orders/{order.id}/pay")  # "Try again"
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/orders/{order.id}/pay")
    order = _reload(order)
    assert (order.payment_intent_id, order.payment_state, order.stock_state) == (
        intent_id,
        None,
        "held",
    )
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    post(client, _succeeded(order, "alipay"))
    order = _reload(order)
    assert (order.status, order.payment_method, order.stock_state) == ("paid", "alipay", "sold")


def test_late_events_never_unpay_or_rename_a_paid_order(client, online_order):
    post(client, _succeeded(online_order, "alipay"))
    post(client, event("charge.failed", _charge(online_order, "card", "failed")))
    post(client, event("payment_intent.processing", _intent(online_order, "processing")))
    post(client, event("payment_intent.payment_failed", _failed(online_order, "wechat_pay")))
    order = _reload(online_order)
    assert (order.status, order.payment_method, order.payment_state) == ("paid", "alipay", None)
    assert order.stock_state == "sold"


def test_an_alipay_success_for_the_wrong_amount_is_recorded_not_paid(client, online_order):
    wrong = _intent(online_order, "succeeded", "alipay", old_api=True)
    wrong["amount_received"] = 1
    assert post(client, event("payment_intent.succeeded", wrong)).json["result"] == "mismatch"
    order = _reload(online_order)
    assert order.status == "pending" and order.paid_at is None


def test_the_same_success_delivered_at_once_pays_once(app, online_order):
    payloads = [_succeeded(online_order, "alipay") for _ in range(3)] + [
        event("charge.succeeded", _charge(online_order, "alipay"))
    ]
    queue = list(payloads)

    def deliver():
        return post(app.test_client(), queue.pop()).status_code

    assert at_once(app, deliver, len(payloads)) == [200] * len(payloads)
    order = _reload(online_order)
    assert (order.status, order.payment_method) == ("paid", "alipay")
    assert _paid_audits(order) == 1
    product = db.session.get(Product, order.lines[0].product_id)
    assert product.stock == 0 == stock.ledger_total(product.id)


def test_the_return_page_checks_until_it_gives_up(client, auth, online_order):
    auth.login(online_order.user)
    html = client.get(f"/shop/orders/{online_order.id}/return").get_data(as_text=True)
    assert 'data-outcome="checking"' in html and "poll=1" in html
    assert 'id="result-refresh"' in html  # a real link without JavaScript
    last = client.get(f"/shop/orders/{online_order.id}/return?poll=60",
                      headers={"HX-Request": "true"}).get_data(as_text=True)  # fmt: skip
    assert 'data-outcome="checking"' in last and "hx-get" not in last
    assert 'id="result-stopped"' in last


def test_the_return_page_is_the_owners_only(client, auth, online_order, f, store, shop):
    auth.login(f.owner(store))
    assert client.get(f"/shop/orders/{online_order.id}/return").status_code == 404
    auth.logout()
    owner = online_order.user
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, shop.product(stock_qty=1), 1)
    at_store = orders.place_order(owner, cart, delivery="pickup", store=store)
    db.session.commit()
    auth.login(owner)
    r = client.get(f"/shop/orders/{at_store.id}/return")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/shop/orders/{at_store.id}")


@pytest.mark.parametrize(
    "method,zh", [("alipay", "支付宝"), ("wechat_pay", "微信支付"), ("card", "银行卡")]
)
def test_the_order_page_says_how_it_was_paid(client, auth, online_order, method, zh):
    post(client, event("payment_intent.succeeded", _intent(online_order, "succeeded", method,
                                                           old_api=True)))  # fmt: skip
    order = _reload(online_order)
    auth.login(order.user)
    assert client.post("/lang", data={"lang": "zh_CN"}).status_code == 303
    for url in (f"/shop/orders/{order.id}", f"/shop/orders/{order.id}/receipt"):
        html = client.get(url).get_data(as_text=True)
        assert f'data-method="{method}">{zh}</span>' in html, url
    paid = client.get(f"/shop/orders/{order.id}/return").get_data(as_text=True)
    assert f"已收到付款（{zh}），谢谢！" in paid


def test_staff_see_the_method_on_the_back_office_order(client, auth, online_order, f, store):
    post(client, _succeeded(online_order, "wechat_pay"))
    auth.login(f.advisor(store))
    html = client.get(f"/admin/shop_orders/{online_order.id}").get_data(as_text=True)
    assert 'data-method="wechat_pay">WeChat Pay</span>' in html


def test_a_refund_stripe_cannot_make_changes_nothing(app, client, online_order, f, store,
                                                     monkeypatch):  # fmt: skip
    from portal.errors import Conflict

    post(client, _succeeded(online_order, "alipay"))
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")  # nothing listens
    order = _reload(online_order)
    with app.test_request_context(method="POST"), pytest.raises(Conflict, match="Stripe"):
        orders.refund(f.manager(store), order, 1000, "scratch")
    order = _reload(online_order)
    assert (order.status, order.refunded_fen, order.refunds) == ("paid", 0, [])


@pytest.mark.parametrize("method", ["alipay", "wechat_pay"])
@pytest.mark.parametrize(
    "currency,received",
    [("usd", None), ("hkd", None), ("CNY", -1), (None, None)],
    ids=["usd-same-number", "hkd-same-number", "cny-one-fen-short", "no-currency"],
)
def test_a_success_not_in_cny_fen_of_the_total_is_recorded_not_paid(
    client, online_order, method, currency, received
):
    """Alipay and WeChat Pay settle in CNY: the same number in another currency, or one fen
    short, is a mismatch; the order stays pending and its stock stays held."""
    wrong = _intent(online_order, "succeeded", method, old_api=True)
    wrong["currency"] = currency
    wrong["charges"]["data"][0]["currency"] = currency
    if received is not None:
        wrong["amount_received"] = online_order.total_fen + received
    assert post(client, event("payment_intent.succeeded", wrong)).json["result"] == "mismatch"
    order = _reload(online_order)
    assert (order.status, order.paid_at, order.stock_state) == ("pending", None, "held")


@pytest.mark.parametrize("method", ["alipay", "wechat_pay"])
def test_cny_succeeds_in_upper_case_and_a_refund_from_the_dashboard_is_kept_in_fen(
    client, online_order, method
):
    """Stripe writes currencies in lower case, but CNY in any case is the shop's; a refund made
    in Stripe's dashboard (charge.refunded, amount_refunded in fen) is recorded once, and never
    more than was paid."""
    ok = _intent(online_order, "succeeded", method, old_api=True)
    ok["currency"] = "CNY"
    assert post(client, event("payment_intent.succeeded", ok)).json["result"] == "applied"
    refunded = _charge(online_order, method)
    refunded["amount_refunded"] = 1234
    refunded["refunded"] = False
    payload = event("charge.refunded", refunded)
    assert [post(client, payload).json["result"] for _ in range(2)] == ["applied", "duplicate"]
    order = _reload(online_order)
    assert (order.status, order.payment_method, order.refunded_fen) == ("paid", method, 1234)
    refunded["amount_refunded"] = online_order.total_fen + 100  # never more than was paid
    post(client, event("charge.refunded", refunded))
    order = _reload(online_order)
    assert (order.status, order.refunded_fen) == ("refunded", 12000)
