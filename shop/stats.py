"""Sales statistics for the back office: revenue and units per day, product and category."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from portal.extensions import db
from portal.sqltime import local_date
from portal.timeutil import now
from shop.models import CANCELLED, Category, Order, OrderLine, Product

SOLD_STATUSES = ("paid", "ready", "shipped", "completed", "refunded")


def _paid_sums(days: int, store_id: int | None, tz: str):
    """Select the paid lines of the last `days` days summed in SQL per local day, product name
    and category: (day, name, category id, revenue net of the order's refund share, units).

    A line's share of its order's refund is refunded * line / total, rounded down, as the
    order is refunded pro rata; a few hundred rows come back, never one per line."""
    at = now()
    line_fen = OrderLine.unit_price_fen * OrderLine.quantity
    refund_share = case((Order.total_fen > 0, Order.refunded_fen * line_fen // Order.total_fen))
    day = local_date(Order.paid_at, tz, at).label("day")
    q = (
        select(
            day,
            OrderLine.name,
            Product.category_id,
            func.sum(line_fen - func.coalesce(refund_share, 0)),
            func.sum(OrderLine.quantity),
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.paid_at.is_not(None),
            Order.paid_at >= at - timedelta(days=days),
            Order.status != CANCELLED,
        )
        .group_by(day, OrderLine.name, Product.category_id)
    )
    if store_id:
        q = q.where(Order.store_id == store_id)
    return db.session.execute(q).all()


def sales(days: int = 30, store_id: int | None = None, tz: str = "Asia/Shanghai") -> dict:
    """Return revenue (net of refunds) and units per day, per product and per category."""
    zone = ZoneInfo(tz)
    today = now().astimezone(zone).date()
    per_day_rev: dict[date, int] = defaultdict(int)
    per_day_units: dict[date, int] = defaultdict(int)
    per_product: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_category: dict[int, int] = defaultdict(int)
    for day, name, category_id, revenue, units in _paid_sums(days, store_id, tz):
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        revenue, units = int(revenue or 0), int(units or 0)
        per_day_rev[day] += revenue
        per_day_units[day] += units
        per_product[name][0] += revenue
        per_product[name][1] += units
        per_category[category_id] += revenue
    names = dict(db.session.execute(select(Category.id, Category.name)).all())
    days_list = [today - timedelta(days=i) for i in range(days - 1, -1, -1)]
    top = sorted(per_product.items(), key=lambda kv: -kv[1][0])[:10]
    return {
        "revenue_per_day": [(d.strftime("%m-%d"), per_day_rev[d]) for d in days_list],
        "units_per_day": [(d.strftime("%m-%d"), per_day_units[d]) for d in days_list],
        "top_products": [(name, rev) for name, (rev, _units) in top],
        "top_units": [(name, units) for name, (_rev, units) in top],
        "per_category": sorted(
            ((names.get(cid, "?"), rev) for cid, rev in per_category.items()), key=lambda x: -x[1]
        ),
        "revenue_fen": sum(per_day_rev.values()),
        "units": sum(per_day_units.values()),
    }


def movers(days: int = 30, store_id: int | None = None) -> dict:
    """Return slow movers (stock, no sale in the period) and fast movers about to run out."""
    since = now() - timedelta(days=days)
    sold = (
        select(OrderLine.product_id, func.sum(OrderLine.quantity).label("units"))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.paid_at.is_not(None), Order.paid_at >= since)
    )
    if store_id:
        sold = sold.where(Order.store_id == store_id)
    sold = sold.group_by(OrderLine.product_id).subquery()
    rows = db.session.execute(
        select(Product, func.coalesce(sold.c.units, 0))
        .outerjoin(sold, sold.c.product_id == Product.id)
        .where(Product.is_active.is_(True))
    ).all()
    slow = [p for p, units in rows if units == 0 and p.stock > 0]
    fast = []
    for p, units in rows:
        per_day = units / days
        if units and p.stock < per_day * 7:  # less than a week of sales left
            fast.append((p, units, round(p.stock / per_day, 1) if per_day else None))
    fast.sort(key=lambda x: x[2] if x[2] is not None else 0)
    return {"slow": sorted(slow, key=lambda p: -p.stock), "fast": fast}


def low_stock() -> list[Product]:
    """Return active products at or below their low-stock threshold."""
    return list(
        db.session.scalars(
            select(Product)
            .where(Product.is_active.is_(True), Product.stock <= Product.low_stock)
            .order_by(Product.stock, Product.name)
        )
    )
