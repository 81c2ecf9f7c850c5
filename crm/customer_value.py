"""Customer value (RFM): each customer's recency, frequency and spend over the last 24 months,
computed nightly for every customer in a few set-based statements, and the band it falls in.

Paid activity is a completed service visit with a bill (total above zero) and a shop order that
was paid (net of refunds). Recency is whole days since the latest of them; a customer with none
in the window has no recency, a frequency of 0 and a spend of 0. The job replaces every row in
one transaction (DELETE, INSERT ... SELECT, UPDATE with a correlated subquery), so a rerun gives
the same table; nothing is looped over in Python but the handful of stores without bands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    and_,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)

from crm.value_models import WINDOW_DAYS, CustomerValue, ValueBand
from portal import access
from portal.errors import NotFound
from portal.extensions import db
from portal.models import ServiceRecord, Store, User, Vehicle
from portal.models.accounts import OWNER
from portal.models.base import UTCDateTime
from portal.sqltime import whole_days_between
from portal.timeutil import now
from shop.models import Order

PAID_ORDERS = ("paid", "ready", "shipped", "completed")  # as crm.segments counts spend

# (name_zh, name_en, recency_min, recency_max, frequency_min, spend_min_fen), in order: the
# first band that fits holds the customer.
DEFAULT_BANDS = (
    ("核心客户", "Core", None, 180, 4, 1_000_000),
    ("重要客户", "Important", None, 365, 2, 300_000),
    ("一般客户", "Regular", None, 365, 1, 0),
    ("流失风险", "At risk", 366, None, 1, 0),
)


def seed_default_bands() -> int:
    """Give every active store without bands the default four; return how many stores got them."""
    banded = select(ValueBand.id).where(ValueBand.store_id == Store.id).exists()
    store_ids = db.session.scalars(select(Store.id).where(Store.is_active.is_(True), ~banded))
    rows = [
        {
            "store_id": store_id,
            "name_zh": zh,
            "name_en": en,
            "position": i,
            "recency_min_days": r_min,
            "recency_max_days": r_max,
            "frequency_min": f_min,
            "spend_min_fen": m_min,
        }
        for store_id in store_ids
        for i, (zh, en, r_min, r_max, f_min, m_min) in enumerate(DEFAULT_BANDS, start=1)
    ]
    if rows:
        db.session.execute(insert(ValueBand), rows)
    return len(rows) // len(DEFAULT_BANDS)


def _paid_activity(since: datetime, until: datetime):
    """Return one row per paid visit or order in the window: (customer, when, fen)."""
    visits = (
        select(
            Vehicle.owner_id.label("customer_id"),
            ServiceRecord.completed_at.label("paid_at"),
            ServiceRecord.total_fen.label("fen"),
        )
        .join(Vehicle, Vehicle.id == ServiceRecord.vehicle_id)
        .where(
            ServiceRecord.completed_at >= since,
            ServiceRecord.completed_at <= until,
            ServiceRecord.total_fen > 0,
        )
    )
    orders = select(
        Order.user_id.label("customer_id"),
        Order.created_at.label("paid_at"),
        (Order.total_fen - Order.refunded_fen).label("fen"),
    ).where(
        Order.status.in_(PAID_ORDERS),
        Order.created_at >= since,
        Order.created_at <= until,
        Order.total_fen > Order.refunded_fen,
    )
    return union_all(visits, orders).subquery("paid")


def refresh_values(at: datetime | None = None) -> dict[str, int]:
    """Recompute every customer's recency, frequency, spend and band (the nightly job)."""
    at = at or now()
    seeded = seed_default_bands()
    paid = _paid_activity(at - timedelta(days=WINDOW_DAYS), at)
    per_customer = (
        select(
            paid.c.customer_id,
            func.max(paid.c.paid_at).label("last_paid_at"),
            func.count().label("frequency"),
            func.sum(paid.c.fen).label("monetary_fen"),
        )
        .group_by(paid.c.customer_id)
        .subquery("per_customer")
    )
    at_sql = literal(at, UTCDateTime())
    rows = (
        select(
            User.id,
            User.store_id,
            per_customer.c.last_paid_at,
            whole_days_between(per_customer.c.last_paid_at, at_sql),
            func.coalesce(per_customer.c.frequency, 0),
            func.coalesce(per_customer.c.monetary_fen, 0),
            at_sql,
        )
        .select_from(User)
        .outerjoin(per_customer, per_customer.c.customer_id == User.id)
        .where(User.role == OWNER, User.is_active.is_(True), User.store_id.is_not(None))
    )
    db.session.execute(delete(CustomerValue))
    db.session.execute(
        insert(CustomerValue).from_select(
            [
                "customer_id",
                "store_id",
                "last_paid_at",
                "recency_days",
                "frequency",
                "monetary_fen",
                "computed_at",
            ],
            rows,
        )
    )
    band_customers()
    # Counted: the INSERT ... SELECT's rowcount comes back as -1 on PostgreSQL here.
    written = db.session.scalar(select(func.count()).select_from(CustomerValue))
    return {"customers": written, "stores_seeded": seeded}


def band_customers(store_id: int | None = None) -> int:
    """Put each customer (of one store, or all) in the first of their store's bands that fits."""
    first_fit = (
        select(ValueBand.id)
        .where(
            ValueBand.store_id == CustomerValue.store_id,
            or_(
                ValueBand.recency_min_days.is_(None),
                CustomerValue.recency_days >= ValueBand.recency_min_days,
            ),
            or_(
                ValueBand.recency_max_days.is_(None),
                CustomerValue.recency_days <= ValueBand.recency_max_days,
            ),
            CustomerValue.frequency >= ValueBand.frequency_min,
            CustomerValue.monetary_fen >= ValueBand.spend_min_fen,
        )
        .order_by(ValueBand.position, ValueBand.id)
        .limit(1)
        .scalar_subquery()
    )
    stmt = update(CustomerValue).values(band_id=first_fit)
    if store_id is not None:
        stmt = stmt.where(CustomerValue.store_id == store_id)
    return db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount


# ---- the report ------------------------------------------------------------------------


@dataclass(frozen=True)
class BandShare:
    band: ValueBand | None  # None: no band fits (no paid activity in 24 months, mostly)
    customers: int
    revenue_fen: int
    customer_share: float  # per cent of the store's customers
    revenue_share: float  # per cent of the store's 24-month revenue


@dataclass(frozen=True)
class ValueReport:
    rows: list[BandShare]
    customers: int
    revenue_fen: int
    top_third_share: float | None  # per cent of revenue from the top third of customers
    computed_at: datetime | None


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def report_store(viewer: User, store_id: int | None) -> Store:
    """Return the store whose value the viewer may read (a manager's own; any for admins)."""
    store_id = store_id if store_id is not None else viewer.store_id
    if store_id is None and access.sees_all_stores(viewer):  # an admin: the first store
        first = select(Store.id).where(Store.is_active.is_(True)).order_by(Store.id).limit(1)
        store_id = db.session.scalar(first)
    store = db.session.get(Store, store_id) if store_id is not None else None
    if store is None or not access.in_store(viewer, store.id):
        raise NotFound("store")
    return store


def bands(store_id: int) -> list[ValueBand]:
    """Return the store's bands in the order they are tried."""
    stmt = select(ValueBand).where(ValueBand.store_id == store_id)
    return list(db.session.scalars(stmt.order_by(ValueBand.position, ValueBand.id)))


def value_report(store: Store) -> ValueReport:
    """Return each band's share of the store's customers and revenue, in band order."""
    mine = CustomerValue.store_id == store.id
    grouped = db.session.execute(
        select(CustomerValue.band_id, func.count(), func.sum(CustomerValue.monetary_fen))
        .where(mine)
        .group_by(CustomerValue.band_id)
    ).all()
    by_band = {band_id: (n, int(fen or 0)) for band_id, n, fen in grouped}
    customers = sum(n for n, _ in by_band.values())
    revenue = sum(fen for _, fen in by_band.values())
    ordered = [*bands(store.id), None]
    rows = []
    for band in ordered:
        n, fen = by_band.get(band.id if band else None, (0, 0))
        if band is None and n == 0:
            continue
        rows.append(BandShare(band, n, fen, _percent(n, customers), _percent(fen, revenue)))
    top = None
    if customers and revenue:
        top_n = -(-customers // 3)  # a third, rounded up
        biggest = (
            select(CustomerValue.monetary_fen)
            .where(mine)
            .order_by(CustomerValue.monetary_fen.desc())
            .limit(top_n)
            .subquery()
        )
        top_fen = db.session.scalar(select(func.sum(biggest.c.monetary_fen))) or 0
        top = _percent(int(top_fen), revenue)
    computed = db.session.scalar(select(func.max(CustomerValue.computed_at)).where(mine))
    return ValueReport(rows, customers, revenue, top, computed)


def in_bands(band_ids: list[int], customer=None):
    """Return the SQL condition "the customer is in one of these value bands"."""
    customer = User.id if customer is None else customer
    return (
        select(CustomerValue.customer_id)
        .where(and_(CustomerValue.customer_id == customer, CustomerValue.band_id.in_(band_ids)))
        .exists()
    )
