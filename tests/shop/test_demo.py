"""The shop demo: a catalog with photos, placements, and sales the charts can show."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.demo import load_demo as load_portal_demo
from portal.extensions import db
from shop import stats, stock
from shop.demo import load_demo
from shop.models import Order, Placement, Product


def test_demo_catalog_orders_and_explainable_stock(app):
    load_portal_demo(owners=6)
    result = load_demo()
    db.session.commit()
    assert result["products"] == 30 and result["orders"] > 60
    products = db.session.scalars(select(Product)).all()
    assert all(p.image_id for p in products)
    assert all(p.stock == stock.ledger_total(p.id) for p in products)
    assert db.session.scalar(select(func.count(Placement.id))) == 12
    sales = stats.sales(30)
    assert sales["revenue_fen"] > 0 and len(sales["top_products"]) >= 5
    methods = db.session.execute(
        select(Order.payment_method, func.count()).group_by(Order.payment_method)
    ).all()
    counts = dict(methods)
    assert counts["alipay"] > counts["card"] > 0 and counts["wechat_pay"] > 0
    assert counts[None] > 0  # paid at the counter
    assert load_demo() == {"products": 0, "orders": 0}  # idempotent
    assert db.session.scalar(select(func.count(Order.id))) == result["orders"]
