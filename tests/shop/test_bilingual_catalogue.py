"""The catalogue in both languages: products, categories, order lines and maintenance items
carry an English name beside the Chinese original, and each reader sees their own language,
falling back to Chinese where no English is set."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import MaintenancePlan, Notification, PlanItem
from portal.services import maintenance
from shop import cart as carts
from shop import orders
from shop.models import Category, OrderLine


def _english(client) -> None:
    client.post("/lang", data={"lang": "en", "next": "/"})


def _chinese(client) -> None:
    client.post("/lang", data={"lang": "zh_CN", "next": "/"})


def _bilingual_product(shop, **kw):
    category = Category(name="电子设备", name_en="Electronics")
    db.session.add(category)
    db.session.commit()
    product = shop.product(category=category, name="4K 行车记录仪", **kw)
    product.name_en = "4K dash cam"
    product.description = "原厂品质，门店可安装。"
    product.description_en = "OEM quality, fitted at the store."
    db.session.commit()
    return product


def test_each_reader_sees_the_product_in_their_language(client, shop):
    product = _bilingual_product(shop)
    shop.product(name="洗车液")  # no English name set
    _chinese(client)
    chinese = client.get(f"/shop/products/{product.id}").get_data(as_text=True)
    assert "4K 行车记录仪" in chinese and "电子设备" in chinese and "原厂品质" in chinese
    assert "4K dash cam" not in chinese
    _english(client)
    english = client.get(f"/shop/products/{product.id}").get_data(as_text=True)
    assert "<h1>4K dash cam</h1>" in english and "Electronics" in english
    assert "OEM quality, fitted at the store." in english and "4K 行车记录仪" not in english
    listing = client.get("/shop/").get_data(as_text=True)
    assert "4K dash cam" in listing and "洗车液" in listing  # falls back to the Chinese name


def test_the_shop_search_finds_either_language(client, shop):
    product = _bilingual_product(shop)
    shop.product(name="洗车液")
    for words in ("dash cam", "行车记录仪", "fitted at the store"):
        page = client.get("/shop/", query_string={"q": words}).get_data(as_text=True)
        assert f"/shop/products/{product.id}" in page and "洗车液" not in page, words


def test_an_order_line_keeps_both_names_as_bought(f, client, auth, shop, store, owner):
    product = _bilingual_product(shop, stock_qty=3)
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, product, 1)
    order = orders.place_order(owner, cart, delivery="pickup", store=store)
    db.session.commit()
    product.name_en = "Renamed later"
    db.session.commit()
    line = db.session.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
    assert (line.name, line.name_en) == ("4K 行车记录仪", "4K dash cam")
    auth.login(owner)
    _english(client)
    page = client.get(f"/shop/orders/{order.id}").get_data(as_text=True)
    assert "4K dash cam" in page and "Renamed later" not in page


def test_the_maintenance_schedule_and_reminders_speak_the_owners_language(f, client, auth):
    plan = MaintenancePlan(
        name="通用保养计划", name_en="Standard maintenance plan", is_default=True
    )
    plan.items.append(
        PlanItem(
            code="brake_fluid",
            name="刹车油",
            name_en="Brake fluid",
            description="刹车油吸水后沸点降低。",
            description_en="Brake fluid absorbs water and its boiling point drops.",
            interval_km=10_000,
            severity="must",
            typical_price_fen=30000,
        )
    )
    db.session.add(plan)
    english_owner = f.owner(locale="en")
    chinese_owner = f.owner(locale="zh_CN")
    car = f.vehicle(english_owner, current_km=10_200)  # due now
    f.vehicle(chinese_owner, current_km=10_200)
    db.session.commit()
    assert maintenance.send_due_reminders() == 2
    texts = {n.user_id: n.text for n in db.session.scalars(select(Notification))}
    assert "Brake fluid is due now" in texts[english_owner.id]
    assert "刹车油" in texts[chinese_owner.id] and "Brake fluid" not in texts[chinese_owner.id]
    auth.login(english_owner)
    _english(client)
    page = client.get(f"/vehicles/{car.id}/maintenance").get_data(as_text=True)
    assert "Brake fluid" in page and "Standard maintenance plan" in page
    assert "boiling point drops" in page and "刹车油" not in page


def test_the_demo_catalogue_and_plans_carry_both_languages(db):
    from portal.demo.maintenance import load_plans
    from shop.demo import load_demo as load_shop
    from shop.models import Product

    load_plans()
    load_shop()
    db.session.commit()
    for model in (Category, Product, MaintenancePlan, PlanItem):
        rows = db.session.scalars(select(model)).all()
        assert rows, model
        missing = [r.name for r in rows if not r.name.strip() or not r.name_en.strip()]
        assert not missing, (model.__name__, missing)
    for model in (Product, PlanItem):
        rows = db.session.scalars(select(model)).all()
        assert all(r.description_en.strip() for r in rows if r.description.strip()), model
