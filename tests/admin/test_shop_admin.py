"""The shop's back office through the client: stock, orders, refunds, charts, products."""

from __future__ import annotations

import io

import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent
from shop import cart as carts
from shop import orders, stock
from shop.models import Order, Product, StockMove
from tests.shop.conftest import ShopFactory


def _order(owner, store, product, qty=1):
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, product, qty)
    order = orders.place_order(owner, cart, delivery="pickup", store=store)
    db.session.commit()
    return order


def test_stock_adjustment_needs_a_reason_and_is_ledgered_and_audited(client, auth, f):
    store = f.store()
    manager = f.manager(store)
    p = ShopFactory().product(stock_qty=2)
    auth.login(manager)
    r = client.post(f"/admin/shop_stock/{p.id}/adjust", data={"delta": "5", "reason": ""})
    assert r.status_code == 303 and db.session.get(Product, p.id).stock == 2
    client.post(f"/admin/shop_stock/{p.id}/adjust", data={"delta": "5", "reason": "delivery 42"})
    db.session.rollback()
    assert db.session.get(Product, p.id).stock == 7 == stock.ledger_total(p.id)
    move = db.session.scalars(select(StockMove).order_by(StockMove.id.desc())).first()
    assert (move.reason, move.note, move.actor_id) == ("adjust", "delivery 42", manager.id)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "shop_stock_adjust"))
    body = client.get(f"/admin/shop_stock/{p.id}").get_data(as_text=True)
    assert 'id="ledger-sum">7<' in body


def test_a_stock_count_keeps_the_units_held_for_open_orders(client, auth, f):
    store = f.store()
    manager = f.manager(store)
    p = ShopFactory().product(stock_qty=10)
    _order(f.owner(store), store, p, 3)  # 3 held: 7 for sale
    auth.login(manager)
    page = client.get("/admin/shop_stock/").get_data(as_text=True)
    assert 'name="count"' in page
    url = f"/admin/shop_stock/{p.id}/adjust"
    for data in ({"count": "2", "reason": "盘点"}, {"count": "x", "reason": "盘点"},
                 {"count": "9", "reason": ""}):  # fmt: skip
        assert client.post(url, data=data).status_code == 303
        db.session.rollback()
        assert db.session.get(Product, p.id).stock == 7, data
    client.post(url, data={"count": "9", "reason": "月底盘点"})
    db.session.rollback()
    assert db.session.get(Product, p.id).stock == 6 == stock.ledger_total(p.id)
    move = db.session.scalars(select(StockMove).order_by(StockMove.id.desc())).first()
    assert (move.delta, move.actor_id, move.note) == (-1, manager.id, "count 9: 月底盘点")


def test_staff_mark_paid_fulfil_and_refund(client, auth, f):
    store = f.store()
    owner, advisor, manager = f.owner(store), f.advisor(store), f.manager(store)
    p = ShopFactory().product(stock_qty=3, price_fen=2000)
    order = _order(owner, store, p, 2)
    auth.login(advisor)
    assert order.number in client.get("/admin/shop_orders/").get_data(as_text=True)
    client.post(f"/admin/shop_orders/{order.id}/paid")
    client.post(f"/admin/shop_orders/{order.id}/ready")
    r = client.post(f"/admin/shop_orders/{order.id}/refund", data={"amount": "10"})
    assert r.status_code == 403  # refunds are for managers
    auth.logout()
    auth.login(manager)
    client.post(f"/admin/shop_orders/{order.id}/refund", data={"amount": "10.50", "reason": "x"})
    db.session.rollback()
    order = db.session.get(Order, order.id)
    assert (order.status, order.refunded_fen) == ("ready", 1050)
    client.post(f"/admin/shop_orders/{order.id}/completed")
    db.session.rollback()
    assert db.session.get(Order, order.id).status == "completed"


def test_other_stores_orders_do_not_exist(client, auth, f):
    a, b = f.store(), f.store()
    order = _order(f.owner(a), a, ShopFactory().product())
    auth.login(f.advisor(b))
    assert client.get(f"/admin/shop_orders/{order.id}").status_code == 404
    assert client.post(f"/admin/shop_orders/{order.id}/paid").status_code == 404
    assert order.number not in client.get("/admin/shop_orders/").get_data(as_text=True)


def test_sales_charts_show_paid_orders(client, auth, f):
    store = f.store()
    owner, manager = f.owner(store), f.manager(store)
    shop = ShopFactory()
    p = shop.product(stock_qty=10, price_fen=3000, name="Charted mat")
    slow = shop.product(stock_qty=4, name="Dusty cover")
    orders.mark_paid_at_store(manager, _order(owner, store, p, 9))
    db.session.commit()
    auth.login(manager)
    body = client.get("/admin/shop_sales/?days=30").get_data(as_text=True)
    assert body.count("<svg") == 4 and "Charted mat" in body
    assert 'id="sales-revenue">¥270.00<' in body
    assert "Dusty cover" in body.split('id="slow-movers"')[1]
    assert "Charted mat" in body.split('id="fast-movers"')[1]  # 1 left at 9 a month
    home = client.get("/admin/").get_data(as_text=True)
    assert 'id="low-stock"' in home and "Charted mat" in home
    assert slow.name not in home.split('id="low-stock"')[1].split("</ul>")[0]


def test_product_created_with_an_image(client, auth, f):
    cat = ShopFactory().category("Mats")
    png = io.BytesIO()
    PILImage.new("RGB", (40, 40), (200, 10, 10)).save(png, format="PNG")
    auth.login(f.admin())  # the catalog is the group's: admins edit it
    r = client.post(
        "/admin/shop_products/new/",
        data={
            "sku": "NEW-1",
            "name": "New mat",
            "category_id": str(cat.id),
            "description": "",
            "price_fen": "1999",
            "low_stock": "2",
            "is_active": "y",
            "photo": (io.BytesIO(png.getvalue()), "mat.png"),
        },  # fmt: skip
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:400]
    product = db.session.scalar(select(Product).where(Product.sku == "NEW-1"))
    assert product.image_id is not None and product.stock == 0


@pytest.mark.parametrize("amount", ["1e309", "12.345", "-5", "nan", "99999999999"])
def test_a_refund_that_is_not_an_amount_is_refused_and_changes_nothing(client, auth, f, amount):
    store = f.store()
    owner, manager = f.owner(store), f.manager(store)
    order = _order(owner, store, ShopFactory().product(stock_qty=3, price_fen=2000), 2)
    auth.login(manager)
    client.post(f"/admin/shop_orders/{order.id}/paid")
    r = client.post(
        f"/admin/shop_orders/{order.id}/refund", data={"amount": amount}, follow_redirects=True
    )
    assert r.status_code == 200
    db.session.rollback()
    assert db.session.get(Order, order.id).refunded_fen == 0
