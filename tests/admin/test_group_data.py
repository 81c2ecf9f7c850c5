"""Group-wide data (catalog, discounts, placements, maintenance plans): admins edit it, every
store's managers read it and keep their store-level settings (stock)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import MaintenancePlan
from shop.models import Category, Discount, Placement, Product
from tests.portal.test_maintenance import make_plan
from tests.shop.conftest import ShopFactory


@pytest.fixture
def group_data(f):
    product = ShopFactory().product(stock_qty=2, price_fen=5000)
    discount = Discount(product_id=product.id, kind="percent", value=10)
    placement = Placement(product_id=product.id, kind="hot")
    db.session.add_all([discount, placement])
    db.session.commit()
    plan = make_plan(db)
    return {
        "shop_products": (product, {"sku": "NEW-SKU", "name": "Changed", "price_fen": "1",
                                    "category_id": str(product.category_id), "low_stock": "1"}),
        "shop_categories": (db.session.get(Category, product.category_id), {"name": "Changed"}),
        "shop_discounts": (discount, {"product_id": str(product.id), "kind": "fixed",
                                      "value": "4999", "is_active": "y"}),
        "shop_placements": (placement, {"product_id": str(product.id), "kind": "recommended",
                                        "position": "9"}),
        "plans": (plan, {"name": "Changed", "brand": "", "series": "", "is_default": "y"}),
    }  # fmt: skip


def _state(row):
    db.session.rollback()
    fresh = db.session.get(type(row), row.id)
    return {c.key: getattr(fresh, c.key) for c in type(row).__table__.columns}


@pytest.mark.parametrize(
    "endpoint", ["shop_products", "shop_categories", "shop_discounts", "shop_placements", "plans"]
)
def test_a_store_manager_reads_group_data_but_cannot_change_it(client, auth, f, group_data,
                                                               endpoint):  # fmt: skip
    row, data = group_data[endpoint]
    before = _state(row)
    auth.login(f.manager(f.store()))
    listing = client.get(f"/admin/{endpoint}/")
    assert listing.status_code == 200
    assert f"/admin/{endpoint}/new/" not in listing.get_data(as_text=True)
    assert f"/admin/{endpoint}/edit/" not in listing.get_data(as_text=True)
    assert client.get(f"/admin/{endpoint}/new/").status_code == 302
    assert client.get(f"/admin/{endpoint}/edit/?id={row.id}").status_code == 302
    r = client.post(f"/admin/{endpoint}/edit/?id={row.id}", data=data)
    assert r.status_code == 302
    r = client.post(f"/admin/{endpoint}/new/", data=data)
    assert r.status_code == 302
    assert _state(row) == before
    assert db.session.scalar(select(type(row)).where(type(row).id != row.id)) is None


@pytest.mark.parametrize(
    "endpoint", ["shop_products", "shop_categories", "shop_discounts", "shop_placements", "plans"]
)
def test_an_admin_edits_group_data(client, auth, f, group_data, endpoint):
    row, data = group_data[endpoint]
    before = _state(row)
    auth.login(f.admin())
    assert f"/admin/{endpoint}/new/" in client.get(f"/admin/{endpoint}/").get_data(as_text=True)
    r = client.post(f"/admin/{endpoint}/edit/?id={row.id}", data=data)
    assert r.status_code == 302
    assert _state(row) != before


def test_managers_read_a_plans_items_and_keep_adjusting_stock(client, auth, f, group_data):
    plan, _data = group_data["plans"]
    product, _data = group_data["shop_products"]
    auth.login(f.manager(f.store()))
    page = client.get(f"/admin/plans/details/?id={plan.id}").get_data(as_text=True)
    assert "变速箱油" in page
    r = client.post(
        f"/admin/shop_stock/{product.id}/adjust", data={"delta": "3", "reason": "delivery"}
    )
    assert r.status_code == 303
    db.session.rollback()
    assert db.session.get(Product, product.id).stock == 5
    assert db.session.get(MaintenancePlan, plan.id).name == "plan"


def test_a_product_photo_bomb_is_a_form_error_and_saves_nothing(client, auth, f, group_data):
    from tests.portal.test_uploads import bomb

    product, data = group_data["shop_products"]
    before = _state(product)
    auth.login(f.admin())
    data = {**data, "photo": (__import__("io").BytesIO(bomb()), "bomb.png")}
    r = client.post(
        f"/admin/shop_products/edit/?id={product.id}", data=data, content_type="multipart/form-data"
    )
    assert r.status_code == 200 and "The image is too large" in r.get_data(as_text=True)
    assert _state(product) == before
