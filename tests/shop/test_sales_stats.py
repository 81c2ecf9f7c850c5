"""The shop's sales statistics are summed in SQL and equal, to the fen, what adding up every
paid line does: per local day (Shanghai), product and category, net of each order's refund
shared pro rata among its lines (rounded down per line), without cancelled orders, and for one
store when asked."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from portal.extensions import db
from portal.timeutil import now
from shop import stats
from shop.models import Order, OrderLine

ZONE = ZoneInfo("Asia/Shanghai")


def _at(days_ago: int, hour: int, minute: int) -> datetime:
    day = now().astimezone(ZONE).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(ZoneInfo("UTC"))


def _expected(orders, days: int, store_id=None) -> dict:
    """Add up every line in Python, the way the page used to."""
    today = now().astimezone(ZONE).date()
    since = now() - timedelta(days=days)
    rev, units = defaultdict(int), defaultdict(int)
    per_product, per_category = defaultdict(lambda: [0, 0]), defaultdict(int)
    for order, lines in orders:
        if order.status == "cancelled" or order.paid_at < since:
            continue
        if store_id and order.store_id != store_id:
            continue
        for line, category in lines:
            total = line.unit_price_fen * line.quantity
            share = total - (order.refunded_fen * total // order.total_fen)
            day = order.paid_at.astimezone(ZONE).date()
            rev[day] += share
            units[day] += line.quantity
            per_product[line.name][0] += share
            per_product[line.name][1] += line.quantity
            per_category[category.name] += share
    days_list = [today - timedelta(days=i) for i in range(days - 1, -1, -1)]
    return {
        "revenue_per_day": [(d.strftime("%m-%d"), rev[d]) for d in days_list],
        "units_per_day": [(d.strftime("%m-%d"), units[d]) for d in days_list],
        "products": {k: tuple(v) for k, v in per_product.items()},
        "per_category": dict(per_category),
        "revenue_fen": sum(rev.values()),
        "units": sum(units.values()),
    }


def _shown(data: dict) -> dict:
    return {
        "revenue_per_day": data["revenue_per_day"],
        "units_per_day": data["units_per_day"],
        "products": {
            name: (rev, dict(data["top_units"])[name]) for name, rev in data["top_products"]
        },
        "per_category": dict(data["per_category"]),
        "revenue_fen": data["revenue_fen"],
        "units": data["units"],
    }


def test_the_sales_summed_in_sql_equal_the_lines_added_up(f, shop):
    rng = random.Random(7)
    a, b = f.store("A"), f.store("B")
    owner = f.owner(a)
    cats = [shop.category("贴膜"), shop.category("脚垫")]
    products = [shop.product(category=cats[i % 2], price_fen=1000 + 333 * i) for i in range(4)]
    orders = []
    for n in range(40):
        store = a if n % 3 else b
        picked = rng.sample(products, rng.randint(1, 3))
        lines = [
            (
                OrderLine(
                    product_id=p.id,
                    name=p.name,
                    unit_price_fen=p.price_fen + rng.randint(0, 99),
                    list_price_fen=p.price_fen,
                    quantity=rng.randint(1, 4),
                ),
                p.category,
            )
            for p in picked
        ]
        total = sum(line.unit_price_fen * line.quantity for line, _c in lines)
        paid_at = _at(rng.randint(0, 40), rng.choice([0, 10, 23]), rng.choice([5, 30, 55]))
        order = Order(
            number=f"S-{n}",
            user_id=owner.id,
            store_id=store.id,
            status="cancelled" if n % 11 == 0 else "paid",
            stock_state="sold",
            delivery="pickup",
            payment="store",
            total_fen=total,
            refunded_fen=rng.choice([0, 0, 1, total // 3, total]),
            hold_expires_at=paid_at,
            paid_at=paid_at,
        )
        order.lines = [line for line, _c in lines]
        db.session.add(order)
        orders.append((order, lines))
    db.session.commit()
    for days, store_id in ((30, None), (7, None), (30, a.id), (365, b.id)):
        got = _shown(stats.sales(days, store_id))
        want = _expected(orders, days, store_id)
        top = dict(sorted(want["products"].items(), key=lambda kv: -kv[1][0])[:10])
        assert got == want | {"products": top}, (days, store_id)
        assert got["revenue_fen"] > 0
