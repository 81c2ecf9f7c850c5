"""Update endpoints: a customer's contact details, a lead's stage and a product's stock, through
the back office's services: rules, scopes, store limits, bad input, replays and a stock race."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from crm import leads as crm_leads
from crm.models import LeadEvent
from portal.models import AuditEvent, User
from shop import stock
from shop.models import Category, Product, StockMove
from tests import factories
from tests.api.conftest import ApiClient
from tests.threads import at_once


def _audits(db, action: str) -> list[AuditEvent]:
    db.session.commit()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _product(db, qty=10, sku="MAT-1", store=None) -> Product:
    """A product with qty units at the store (the group's first, made if there is none)."""
    product = Product(sku=sku, name="脚垫", category=Category(name=f"脚垫{sku}"), price_fen=9900)
    db.session.add(product)
    db.session.commit()
    factories.stock(product, qty, store)
    return product


def _moves(db, product) -> int:
    db.session.commit()
    return db.session.scalar(
        select(func.count(StockMove.id)).where(StockMove.product_id == product.id)
    )


# -- PATCH /customers/{id} -----------------------------------------------------------------


def test_a_customer_update_normalises_the_phone_and_is_audited_once(api, f, db, make_token):
    customer = f.owner(f.store("A"), name="王五", phone="13800000001", email="w@example.com")
    url = f"/api/v1/customers/{customer.id}"
    body = {"name": " 王  五一 ", "phone": "+86 139-0000-0002", "email": "WANG@Example.com"}
    r = api.client.patch(url, json=body, headers=api._headers())
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["name"] == "王 五一" and r.get_json()["phone"] == "139****0002"
    db.session.refresh(customer)
    assert (customer.phone, customer.email) == ("13900000002", "wang@example.com")
    [event] = _audits(db, "customer_contact_changed")
    assert event.actor_id is None and event.detail["fields"] == ["email", "name", "phone"]
    assert event.detail["api_token_id"] is not None and event.store_id == customer.store_id
    again = api.client.patch(url, json=body, headers=api._headers())
    assert again.status_code == 200 and again.get_json() == r.get_json()
    assert len(_audits(db, "customer_contact_changed")) == 1  # the repeat changed nothing


def test_a_phone_of_another_customer_is_a_409_and_nothing_changes(api, f, db):
    store = f.store("A")
    customer = f.owner(store, name="甲", phone="13800000001")
    f.owner(store, phone="13800000009")
    r = api.client.patch(
        f"/api/v1/customers/{customer.id}",
        json={"name": "乙", "phone": "138 0000 0009"},
        headers=api._headers(),
    )
    assert r.status_code == 409 and r.content_type == "application/problem+json"
    assert r.get_json()["errors"][0]["field"] == "phone"
    db.session.refresh(customer)
    assert (customer.name, customer.phone) == ("甲", "13800000001")
    assert _audits(db, "customer_contact_changed") == []


def test_bad_customer_updates_are_422_and_change_nothing(api, f, db):
    customer = f.owner(f.store("A"), name="甲", phone="13800000001", email="a@example.com")
    url = f"/api/v1/customers/{customer.id}"
    for body in (
        {"phone": "12345"},
        {"email": "not-an-email"},
        {"name": ""},
        {"name": "x" * 81},
        {"nick": "x"},
        {"phone": 13800000002},
    ):
        r = api.client.patch(url, json=body, headers=api._headers())
        assert r.status_code == 422, (body, r.get_data(as_text=True))
    db.session.refresh(customer)
    assert (customer.name, customer.phone, customer.email) == ("甲", "13800000001", "a@example.com")


def test_customer_updates_hold_scopes_and_store_limits(api_as, f, db):
    store_a, store_b = f.store("A"), f.store("B")
    customer = f.owner(store_a, phone="13800000001")
    staff = f.advisor(store_a)
    db.session.commit()

    def patch(client: ApiClient, who: User):
        url = f"/api/v1/customers/{who.id}"
        return client.client.patch(url, json={"name": "新名"}, headers=client._headers())

    assert patch(api_as(scopes=["customers:read"]), customer).status_code == 403
    assert patch(api_as(store=store_b), customer).status_code == 404
    assert patch(api_as(), staff).status_code == 404  # a staff account is no customer
    assert patch(api_as(store=store_a), customer).status_code == 200
    everything = api_as()
    for huge in (2**31, 2_068_069_908_372):  # no id of the database: 404, never a 405
        r = everything.client.patch(
            f"/api/v1/customers/{huge}", json={"name": "x"}, headers=everything._headers()
        )
        assert r.status_code == 404 and r.content_type == "application/problem+json"


# -- POST /leads/{id}/stage ----------------------------------------------------------------


def _lead(store, phone="13912340001"):
    return crm_leads.capture(
        crm_leads.Inquiry(name="潜客", phone=phone, store=store, source="phone")
    ).lead


def test_a_lead_moves_on_once_per_key_and_lost_waits_for_a_manager(api, f, db):
    store = f.store("A")
    f.advisor(store)
    lead = _lead(store)
    db.session.commit()
    url = f"/api/v1/leads/{lead.id}/stage"
    r = api.post(url, json={"stage": "visited", "note": "到店"}, key="s-1")
    assert r.status_code == 200 and r.get_json()["stage"] == "visited"
    again = api.post(url, json={"stage": "visited", "note": "到店"}, key="s-1")
    assert again.get_json() == r.get_json() and again.headers["Idempotent-Replayed"] == "true"
    db.session.commit()
    steps = db.session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id)).all()
    assert [e.kind for e in steps].count("stage") == 1
    back = api.post(url, json={"stage": "contacted"})
    assert back.status_code == 422 and back.content_type == "application/problem+json"
    no_reason = api.post(url, json={"stage": "lost"})
    assert no_reason.status_code == 422
    lost = api.post(url, json={"stage": "lost", "lost_reason": "budget"})
    assert lost.status_code == 200 and lost.get_json()["state"] == "lost_pending"
    db.session.refresh(lead)
    assert lead.state == "lost_pending" and lead.lost_reason == "budget"


def test_lead_stage_refuses_bad_input_scopes_and_other_stores(api_as, f, db):
    store_a, store_b = f.store("A"), f.store("B")
    lead = _lead(store_a)
    db.session.commit()
    url = f"/api/v1/leads/{lead.id}/stage"
    everything = api_as()
    for body in ({"stage": "won"}, {}, {"stage": "quote", "extra": 1}, {"stage": "new"}):
        assert everything.post(url, json=body).status_code == 422, body
    assert api_as(scopes=["leads:read"]).post(url, json={"stage": "quote"}).status_code == 403
    assert api_as(store=store_b).post(url, json={"stage": "quote"}).status_code == 404
    db.session.refresh(lead)
    assert lead.stage == "new"
    assert api_as(store=store_a).post(url, json={"stage": "quote"}).status_code == 200


# -- POST /products/{id}/stock ---------------------------------------------------------------


def test_a_stock_delta_is_recorded_once_and_never_goes_below_zero(api, db):
    product = _product(db, qty=5)
    store = factories.main_store()
    url = f"/api/v1/products/{product.id}/stock"
    body = {"delta": -2, "reason": "破损", "store_id": store.id}
    r = api.post(url, json=body, key="k-1")
    assert r.status_code == 200 and r.get_json()["stock"] == 3
    assert r.get_json()["store_id"] == store.id and r.get_json()["product_id"] == product.id
    assert api.post(url, json=body, key="k-1").get_json() == r.get_json()
    assert _moves(db, product) == 2  # the initial stock and one adjustment
    under = api.post(url, json={"delta": -4, "reason": "盘亏", "store_id": store.id})
    assert under.status_code == 422 and under.content_type == "application/problem+json"
    db.session.refresh(product)
    assert product.stock == 3 and stock.ledger_total(product.id, store.id) == 3
    [event] = _audits(db, "shop_stock_adjust")
    assert event.actor_id is None and event.detail["api_token_id"] is not None
    assert event.store_id == store.id


def test_a_count_keeps_the_units_open_orders_hold(api, f, db):
    from shop import cart as carts
    from shop import orders

    store = f.store("A")
    owner = f.owner(store)
    product = _product(db, qty=10, store=store)
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, product, 3)
    orders.place_order(owner, cart, delivery="pickup", store=store)  # holds 3: 7 for sale
    db.session.commit()
    url = f"/api/v1/products/{product.id}/stock"
    low = api.post(url, json={"count": 2, "reason": "盘点", "store_id": store.id})
    assert low.status_code == 422 and "held" in low.get_json()["detail"]
    r = api.post(url, json={"count": 9, "reason": "盘点", "store_id": store.id})  # 3 held
    assert r.status_code == 200 and r.get_json()["stock"] == 6
    db.session.refresh(product)
    assert stock.ledger_total(product.id, store.id) == 6
    assert stock.reserved(store.id, product.id) == 3


def test_a_store_token_changes_its_own_shelf_and_a_group_token_names_one(api_as, f, db):
    store_a, store_b = f.store("A"), f.store("B")
    product = _product(db, qty=5, store=store_a)
    url = f"/api/v1/products/{product.id}/stock"
    mine = api_as(store=store_b)
    r = mine.post(url, json={"delta": 2, "reason": "到货"})  # its own store: B
    assert r.status_code == 200 and r.get_json() == {
        "product_id": product.id, "store_id": store_b.id, "stock": 2, "low_stock": 3,
    }  # fmt: skip
    theirs = {"delta": 1, "reason": "x", "store_id": store_a.id}
    assert mine.post(url, json=theirs).status_code == 404
    group = api_as()
    unnamed = group.post(url, json={"delta": 1, "reason": "x"})
    assert unnamed.status_code == 422 and "store" in unnamed.get_json()["detail"]
    gone = group.post(url, json={"delta": 1, "reason": "x", "store_id": 999_999})
    assert gone.status_code == 404
    db.session.expire_all()
    assert (f.stock_at(product, store_a), f.stock_at(product, store_b)) == (5, 2)


def test_stock_changes_refuse_bad_input_and_scopes(api_as, db):
    product = _product(db, qty=5)
    store_id = factories.main_store().id
    url = f"/api/v1/products/{product.id}/stock"
    everything = api_as()
    for body in (
        {"delta": 1},
        {"reason": "x"},
        {"delta": 1, "count": 3, "reason": "x"},
        {"delta": 0, "reason": "x"},
        {"count": -1, "reason": "x"},
        {"delta": "a", "reason": "x"},
        {"delta": 1, "reason": "x", "store_id": "a"},
    ):
        assert everything.post(url, json={"store_id": store_id, **body}).status_code == 422, body
    assert (
        api_as(scopes=["shop:read"])
        .post(url, json={"delta": 1, "reason": "x", "store_id": store_id})
        .status_code
        == 403
    )
    assert (
        everything.post(
            "/api/v1/products/999999/stock", json={"delta": 1, "reason": "x", "store_id": store_id}
        ).status_code
        == 404
    )
    db.session.refresh(product)
    assert product.stock == 5 and _moves(db, product) == 1


def test_concurrent_takes_never_sell_below_zero(app, api, db):
    """Eight integrations take one unit each of three at the same moment: three succeed."""
    product = _product(db, qty=3)
    store_id = factories.main_store().id
    url = f"/api/v1/products/{product.id}/stock"
    secret = api.secret

    def take():
        client = ApiClient(app.test_client(), secret)
        return client.post(
            url, json={"delta": -1, "reason": "出库", "store_id": store_id}, key=uuid.uuid4().hex
        ).status_code

    results = at_once(app, take, 8)
    assert sorted(results) == [200] * 3 + [422] * 5, results
    db.session.refresh(product)
    assert product.stock == 0 and stock.ledger_total(product.id) == 0


def test_a_count_racing_adjustments_keeps_the_ledger_exact(app, api, db):
    """Counts and adjustments at once: whatever wins, the ledger explains the stock."""
    product = _product(db, qty=20)
    store_id = factories.main_store().id
    url = f"/api/v1/products/{product.id}/stock"
    secret = api.secret
    picks = iter(
        [{"count": 12, "reason": "盘点", "store_id": store_id}] * 2
        + [{"delta": -1, "reason": "出库", "store_id": store_id}] * 4
    )

    def act():
        client = ApiClient(app.test_client(), secret)
        return client.post(url, json=next(picks), key=uuid.uuid4().hex).status_code

    results = at_once(app, act, 6)
    assert all(code in (200, 409) for code in results), results
    db.session.refresh(product)
    assert product.stock == stock.ledger_total(product.id) and product.stock >= 0
