"""Shop demo data: categories, ~30 accessories with drawn photos, discounts, placements and
two months of past orders, so the catalog and the sales charts have something to show."""

from __future__ import annotations

import io
import random
from datetime import timedelta

from PIL import Image as PILImage
from PIL import ImageDraw
from sqlalchemy import select

from portal.demo import DEMO_LOGINS
from portal.extensions import db
from portal.models import Store, User
from portal.models.accounts import ADMIN
from portal.services.media import store_image
from portal.timeutil import now
from shop import prices, stock
from shop.models import (
    COMPLETED,
    HELD,
    PENDING,
    READY,
    SOLD,
    Category,
    Discount,
    Fitment,
    Order,
    OrderLine,
    Placement,
    Product,
    ScheduledPrice,
    StockMove,
)

CATALOG = {
    "脚垫与座套": [
        ("全包围皮革脚垫", 59900),
        ("TPE 立体脚垫", 39900),
        ("冰丝座套四季通用", 68800),
        ("后备箱垫", 25900),
        ("方向盘套", 12900),
        ("头枕腰靠套装", 19900),
    ],
    "电子设备": [
        ("4K 行车记录仪", 89900),
        ("无线车载充电支架", 29900),
        ("胎压监测器", 35900),
        ("车载蓝牙 FM 发射器", 9900),
        ("倒车影像摄像头", 49900),
        ("车载空气净化器", 45900),
    ],
    "养护用品": [
        ("全合成机油 5W-30 4L", 42800),
        ("玻璃水 2L", 2990),
        ("镀晶套装", 15900),
        ("洗车液", 4990),
        ("内饰清洁剂", 3990),
        ("防冻液 4L", 11900),
    ],
    "安全应急": [
        ("应急启动电源", 39900),
        ("车载灭火器", 8990),
        ("三角警示牌", 4990),
        ("拖车绳 5 吨", 6990),
        ("车载急救包", 12900),
        ("反光背心", 1990),
    ],
    "外观改装": [
        ("原厂风格晴雨挡", 26900),
        ("车顶行李架", 129900),
        ("迎宾踏板", 59900),
        ("LED 日行灯", 32900),
        ("挡泥板四只装", 15900),
        ("车身防刮条", 4990),
    ],
}
# The catalogue in English, beside the Chinese originals.
CATEGORIES_EN = {
    "脚垫与座套": "Mats and seat covers",
    "电子设备": "Electronics",
    "养护用品": "Car care",
    "安全应急": "Safety and emergency",
    "外观改装": "Exterior styling",
}
PRODUCTS_EN = {
    "全包围皮革脚垫": "Full-coverage leather floor mats",
    "TPE 立体脚垫": "TPE 3D floor mats",
    "冰丝座套四季通用": "All-season ice-silk seat covers",
    "后备箱垫": "Boot mat",
    "方向盘套": "Steering wheel cover",
    "头枕腰靠套装": "Headrest and lumbar cushion set",
    "4K 行车记录仪": "4K dash cam",
    "无线车载充电支架": "Wireless charging phone mount",
    "胎压监测器": "Tyre pressure monitor",
    "车载蓝牙 FM 发射器": "Bluetooth FM transmitter",
    "倒车影像摄像头": "Reversing camera",
    "车载空气净化器": "In-car air purifier",
    "全合成机油 5W-30 4L": "Fully synthetic engine oil 5W-30, 4 L",
    "玻璃水 2L": "Screen wash, 2 L",
    "镀晶套装": "Ceramic coating kit",
    "洗车液": "Car shampoo",
    "内饰清洁剂": "Interior cleaner",
    "防冻液 4L": "Antifreeze, 4 L",
    "应急启动电源": "Jump starter power bank",
    "车载灭火器": "Car fire extinguisher",
    "三角警示牌": "Warning triangle",
    "拖车绳 5 吨": "Tow rope, 5 t",
    "车载急救包": "First-aid kit",
    "反光背心": "Reflective vest",
    "原厂风格晴雨挡": "OEM-style window visors",
    "车顶行李架": "Roof rack",
    "迎宾踏板": "Illuminated side steps",
    "LED 日行灯": "LED daytime running lights",
    "挡泥板四只装": "Mud flaps, set of 4",
    "车身防刮条": "Door edge guards",
}
COLORS = [(200, 16, 46), (11, 61, 145), (30, 125, 69), (169, 99, 0), (90, 60, 140)]
FITS = [("丰田", "凯美瑞"), ("本田", "雅阁"), ("大众", "帕萨特"), ("比亚迪", "汉EV"), ("日产", "")]


def product_png(rng: random.Random, color: tuple[int, int, int], sku: str) -> bytes:
    """Draw a simple product photo placeholder: a shape on a tinted background."""
    img = PILImage.new("RGB", (480, 480), tuple(235 - c // 8 for c in color))
    d = ImageDraw.Draw(img)
    shape = rng.choice(["box", "disc", "bar"])
    if shape == "box":
        d.rounded_rectangle((110, 130, 370, 350), radius=28, fill=color)
    elif shape == "disc":
        d.ellipse((120, 120, 360, 360), fill=color)
    else:
        d.rounded_rectangle((80, 200, 400, 280), radius=30, fill=color)
    d.text((24, 440), sku, fill=(40, 48, 60))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def load_demo(seed: int = 7) -> dict[str, int]:
    """Create the shop demo (idempotent: nothing happens if the catalog exists)."""
    if db.session.scalar(select(Category.id).limit(1)) is not None:
        return {"products": 0, "orders": 0}
    rng = random.Random(seed)
    products: list[Product] = []
    for ci, (cat_name, items) in enumerate(CATALOG.items()):
        category = Category(name=cat_name, name_en=CATEGORIES_EN[cat_name], position=ci)
        db.session.add(category)
        for ii, (name, price) in enumerate(items):
            sku = f"M4S-{ci + 1}{ii + 1:02d}"
            english = PRODUCTS_EN[name]
            p = Product(sku=sku, name=name, name_en=english, category=category, price_fen=price,
                        description=f"{name}，原厂品质，门店可安装。", low_stock=3,
                        description_en=f"{english}: OEM quality, fitted at the store.",
                        image=store_image(product_png(rng, COLORS[ci], sku)))  # fmt: skip
            if ci in (0, 4) and ii < 4:
                brand, series = FITS[(ci + ii) % len(FITS)]
                p.fitments.append(Fitment(brand=brand, series=series))
            db.session.add(p)
            products.append(p)
    db.session.flush()
    orders = _past_orders(rng, products)
    stores = db.session.scalars(select(Store.id).order_by(Store.id)).all()
    for p in products:  # each store's own shelf
        for store_id in stores:
            stock.set_initial(p, store_id, rng.choice([0, 2, 5, 12, 25, 40]))
    orders += _ready_for_the_demo_owner(products)
    orders += _pickup_tomorrow_for_the_demo_owner(products)
    for p in rng.sample(products, 8):
        kind, value = rng.choice(
            [("percent", 10), ("percent", 15), ("percent", 20), ("fixed", 1000)]
        )
        db.session.add(Discount(product_id=p.id, kind=kind, value=value))
    for pos, p in enumerate(rng.sample(products, 6)):
        db.session.add(Placement(product_id=p.id, kind="hot", position=pos))
    for pos, p in enumerate(rng.sample(products, 6)):
        db.session.add(Placement(product_id=p.id, kind="recommended", position=pos))
    db.session.flush()
    return {"products": len(products), "orders": orders}


def _ready_for_the_demo_owner(products: list[Product]) -> int:
    """The demo owner's order, paid at the counter and ready to pick up: the home shows it."""
    owner = db.session.scalar(select(User).where(User.phone == "13800000001"))
    if owner is None or owner.store_id is None:
        return 0
    product = next((p for p in products if stock.at_store(owner.store_id, p.id) > 0), None)
    if product is None:
        return 0
    at = now() - timedelta(hours=3)
    order = Order(
        number="D00READY01",
        user_id=owner.id,
        store_id=owner.store_id,
        status=READY,
        stock_state=SOLD,
        delivery="pickup",
        payment="store",
        total_fen=product.price_fen,
        created_at=at,
        hold_expires_at=at + timedelta(minutes=30),
        paid_at=at,
    )
    order.lines.append(
        OrderLine(product_id=product.id, name=product.name, name_en=product.name_en, quantity=1,
                  unit_price_fen=product.price_fen, list_price_fen=product.price_fen)
    )  # fmt: skip
    db.session.add(order)
    db.session.flush()
    stock.take_many([(product, 1)], order=order)
    return 1


def _pickup_tomorrow_for_the_demo_owner(products: list[Product]) -> int:
    """The demo owner's pay-at-store order, held until tomorrow's pickup in the store's zone."""
    from shop.orders import pickup

    owner = db.session.scalar(select(User).where(User.phone == "13800000001"))
    if owner is None or owner.store_id is None:
        return 0
    left = stock.at_store_many(owner.store_id, [p.id for p in products])
    product = next((p for p in reversed(products) if left.get(p.id, 0) > 1), None)
    if product is None:
        return 0
    store = db.session.get(Store, owner.store_id)
    day = pickup.window(store)[0] + timedelta(days=1)
    order = Order(
        number="D00PICKUP1",
        user_id=owner.id,
        store_id=store.id,
        status=PENDING,
        stock_state=HELD,
        delivery="pickup",
        payment="store",
        total_fen=product.price_fen,
        created_at=now() - timedelta(hours=1),
        hold_expires_at=pickup.deadline(store, day),
        pickup_on=day,
    )
    order.lines.append(
        OrderLine(product_id=product.id, name=product.name, name_en=product.name_en, quantity=1,
                  unit_price_fen=product.price_fen, list_price_fen=product.price_fen)
    )  # fmt: skip
    db.session.add(order)
    db.session.flush()
    stock.take_many([(product, 1)], order=order)
    return 1


ONLINE_MIX = ("alipay", "wechat_pay", None, "alipay", "wechat_pay", "card", "alipay", None)


def _past_orders(rng: random.Random, products: list[Product]) -> int:
    """Add ~60 days of completed orders; their stock came in and went out through the ledger."""
    owners = db.session.scalars(select(User).where(User.role == "owner").limit(40)).all()
    stores = db.session.scalars(select(Store).order_by(Store.id)).all()
    if not owners or not stores:
        return 0
    popular = products[::3]
    count = 0
    for day in range(60, 0, -1):
        for _ in range(rng.randint(1, 5)):
            owner = rng.choice(owners)
            at = now() - timedelta(days=day, hours=rng.randint(0, 8))
            picks = rng.sample(popular if rng.random() < 0.7 else products, rng.randint(1, 3))
            number = f"D{day:02d}{count:05d}"
            # Most owners pay online, mostly by Alipay or WeChat Pay; some pay at the counter.
            method = ONLINE_MIX[count % len(ONLINE_MIX)]
            order = Order(
                number=number,
                user_id=owner.id,
                store_id=owner.store_id or stores[0].id,
                status=COMPLETED,
                stock_state=SOLD,
                delivery="pickup",
                payment="stripe" if method else "store",
                payment_method=method,
                payment_intent_id=f"pi_demo_{number}" if method else None,
                total_fen=0,
                created_at=at,
                hold_expires_at=at + timedelta(minutes=30),
                paid_at=at,
            )
            total = 0
            for p in picks:
                qty = rng.randint(1, 2)
                order.lines.append(
                    OrderLine(product_id=p.id, name=p.name, name_en=p.name_en, quantity=qty,
                              unit_price_fen=p.price_fen, list_price_fen=p.price_fen)
                )  # fmt: skip
                total += qty * p.price_fen
            order.total_fen = total
            db.session.add(order)
            db.session.flush()
            for line in order.lines:
                # the units sold were received first: both moves are in the ledger
                db.session.add_all([
                    StockMove(store_id=order.store_id, product_id=line.product_id,
                              delta=line.quantity, reason="initial", note="demo delivery",
                              at=at - timedelta(days=1)),
                    StockMove(store_id=order.store_id, product_id=line.product_id,
                              delta=-line.quantity, reason="sale", order_id=order.id, at=at),
                ])  # fmt: skip
            count += 1
    return count


def load_price_list_demo() -> dict[str, int]:
    """Schedule a price list for next week, as the catalog import does (idempotent)."""
    if db.session.scalar(select(ScheduledPrice.id).limit(1)) is not None:
        return {"scheduled_prices": 0}
    store = db.session.scalar(select(Store).order_by(Store.id).limit(1))
    admin = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[ADMIN]))
    products = db.session.scalars(select(Product).order_by(Product.id).limit(3)).all()
    if store is None or admin is None or not products:
        return {"scheduled_prices": 0}
    day = prices.store_today(store) + timedelta(days=7)
    for p in products:  # next week's price list: 5% up, rounded to the yuan
        prices.schedule(p, int(round(p.price_fen * 1.05, -2)), day, store, admin)
    return {"scheduled_prices": len(products)}


# -- workshop parts: the waiting inspections' brake pads and cabin filter come from the shop ---
# Brake pads are in stock at every store (the first store's owner has approved them: reserved
# there); the cabin filter is sold out everywhere, so its line shows "parts not available" (the
# second store's owner approved it anyway: on order).
WORKSHOP_CATEGORY = ("维修配件", "Workshop parts")
WORKSHOP_PARTS = [  # sku, zh, en, price fen, stock, the inspection item it fits
    ("WS-BP-01", "前刹车片套装", "Front brake pad set", 32000, 6, "刹车片"),
    ("WS-CF-01", "空调滤芯", "Cabin air filter", 9800, 0, "空调滤清器"),
]


def load_workshop_parts_demo() -> dict[str, int]:
    """Link the waiting inspections' items to shop parts, one reserved and one short."""
    from portal.models import Inspection
    from portal.models.inspections import PENDING
    from portal.services import inspections

    zh, en = WORKSHOP_CATEGORY
    if db.session.scalar(select(Category.id).where(Category.name == zh)) is not None:
        return {"parts": 0, "approved": 0}
    category = Category(name=zh, name_en=en, position=len(CATALOG))
    by_item = {}
    stores = db.session.scalars(select(Store.id).order_by(Store.id)).all()
    for sku, name, english, price, left, item_name in WORKSHOP_PARTS:
        p = Product(sku=sku, name=name, name_en=english, category=category, price_fen=price,
                    description=f"{name}，门店工位安装。", low_stock=2,
                    description_en=f"{english}, fitted in the workshop.")  # fmt: skip
        db.session.add(p)
        db.session.flush()
        for store_id in stores:  # every store's workshop keeps the same parts
            stock.set_initial(p, store_id, left)
        by_item[item_name] = p
    waiting = db.session.scalars(
        select(Inspection)
        .where(Inspection.opened_at.is_(None), Inspection.status == "sent")
        .where(Inspection.booking.has(status="in_progress"))
        .order_by(Inspection.store_id, Inspection.id)
    ).all()
    for inspection in waiting:
        for item in inspection.recommendations:
            if item.name_zh in by_item and item.decision == PENDING:
                item.product_id = by_item[item.name_zh].id
    db.session.flush()
    approved = 0
    for inspection, name in zip(waiting[:2], ("刹车片", "空调滤清器"), strict=False):
        item = next((i for i in inspection.recommendations if i.name_zh == name), None)
        if item is not None:
            inspection.opened_at = now()
            inspections.decide(inspection, item.id, True)
            approved += 1
    return {"parts": len(WORKSHOP_PARTS), "approved": approved}
