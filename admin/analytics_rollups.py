"""The repair analytics' figures that add up over days, from the daily rollups.

The worker counts each store's local day by fault, model, part and booking status into
store_daily_counts (roll_up_counts, run by admin/daily_stats.py with the day's other figures,
under the same span). The page then reads the closed days the span covers from there and the
rest (today, and any day the job has not covered yet) from the raw rows, and adds them up: the
funnel, the bookings per month, and the fault, model and part lists.

What cannot be summed over days stays raw, over the period: the medians (lead time, time to
decision per advisor), the customers with the most bookings (one row per owner would be no
rollup), and the repeat repairs and their attribution (pairs of visits across days). A store
in another time zone than the page's has no whole local days in the period: read raw.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import String, and_, case, delete, func, literal, or_, select, true, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from admin.daily_stats_models import (
    FAULT,
    MODEL,
    PART,
    REASON,
    STATUS,
    StoreDailyCount,
    StoreDailyStats,
    StoreStatsSpan,
)
from portal.extensions import db
from portal.models import Booking, ServiceItem, ServiceRecord, Store, Vehicle
from portal.models.base import UTCDateTime
from portal.models.bookings import CANCELLED, REJECTED
from portal.services import booking_stats as stats
from portal.sqltime import local_date

COLUMNS = ("store_id", "day", "kind", "key", "key2", "n", "quantity", "amount_fen")


def _text(value: str):
    return literal(value, String(), literal_execute=True)


def _zero():
    return literal(0, literal_execute=True)


def _count_rows(zone: str, first: date, last: date):
    """Select every count of the zone's stores' local days first..last (COLUMNS)."""
    start, end = stats.period_bounds(first, last, zone)
    stores = select(Store.id).where(Store.timezone == zone)
    sr, bk = ServiceRecord, Booking

    def of_records(stmt):
        return stmt.where(sr.store_id.in_(stores), sr.completed_at >= start, sr.completed_at < end)

    def of_bookings(stmt):
        return stmt.where(bk.store_id.in_(stores), bk.created_at >= start, bk.created_at < end)

    rec_day = local_date(sr.completed_at, zone, start)
    book_day = local_date(bk.created_at, zone, start)
    faults = of_records(
        select(sr.store_id, rec_day, _text(FAULT), sr.fault_category, _text(""))
        .add_columns(func.count(sr.id), _zero(), func.coalesce(func.sum(sr.total_fen), 0))
        .group_by(sr.store_id, rec_day, sr.fault_category)
    )
    models = of_records(
        select(sr.store_id, rec_day, _text(MODEL), Vehicle.brand, Vehicle.series)
        .add_columns(func.count(sr.id), _zero(), _zero())
        .join(Vehicle, Vehicle.id == sr.vehicle_id)
        .group_by(sr.store_id, rec_day, Vehicle.brand, Vehicle.series)
    )
    item = ServiceItem
    parts = of_records(
        select(sr.store_id, rec_day, _text(PART), item.description, item.part_no)
        .add_columns(
            func.count(func.distinct(item.record_id)),
            func.sum(item.quantity),
            func.sum(item.quantity * item.unit_price_fen),
        )
        .join(item, item.record_id == sr.id)
        .where(stats.is_part())
        .group_by(sr.store_id, rec_day, item.description, item.part_no)
    )
    kept = and_(bk.status == CANCELLED, bk.decided_at.is_not(None), bk.proposed_start.is_(None))
    status = case((kept, _text(stats.ACCEPTED_CANCELLED)), else_=bk.status)
    statuses = of_bookings(
        select(bk.store_id, book_day, _text(STATUS), status, _text(""))
        .add_columns(func.count(bk.id), _zero(), _zero())
        .group_by(bk.store_id, book_day, status)
    )
    reason = func.coalesce(func.nullif(bk.decision_reason, ""), _text("other"))
    reasons = of_bookings(
        select(bk.store_id, book_day, _text(REASON), reason, _text(""))
        .add_columns(func.count(bk.id), _zero(), _zero())
        .where(bk.status == REJECTED)
        .group_by(bk.store_id, book_day, reason)
    )
    return union_all(faults, models, parts, statuses, reasons).subquery("counts")


def roll_up_counts(zone: str, first: date, last: date, stamp: datetime) -> None:
    """Recompute the counts of the local days first..last of every store in the time zone;
    keys a day no longer has lose their row."""
    rows = _count_rows(zone, first, last)
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    # WHERE true: SQLite would read the upsert's ON CONFLICT as a join's ON without it.
    picked = select(*rows.c, literal(stamp, UTCDateTime()).label("computed_at")).where(true())
    stmt = insert(StoreDailyCount).from_select([*COLUMNS, "computed_at"], picked)
    stmt = stmt.on_conflict_do_update(
        index_elements=["store_id", "day", "kind", "key", "key2"],
        set_={c: stmt.excluded[c] for c in ("n", "quantity", "amount_fen", "computed_at")},
    )
    db.session.execute(stmt)
    db.session.execute(
        delete(StoreDailyCount).where(
            StoreDailyCount.store_id.in_(select(Store.id).where(Store.timezone == zone)),
            StoreDailyCount.day.between(first, last),
            StoreDailyCount.computed_at < stamp,
        )
    )


# ---- reading: counted days from the rollup, the rest raw --------------------------------


def _split(store_id: int | None, tz: str, first: date, last: date):
    """Return ({(a, b): store ids counted on days a..b}, {(a, b): store ids to read raw})."""
    from admin.daily_stats import uncounted  # it imports this module

    span = StoreStatsSpan
    stmt = select(Store.id, Store.timezone, span.first_day, span.last_day).outerjoin(
        span, span.store_id == Store.id
    )
    if store_id is not None:
        stmt = stmt.where(Store.id == store_id)
    counted: dict[tuple[date, date], list[int]] = {}
    raw: dict[tuple[date, date], list[int]] = {}
    for sid, zone, low, high in db.session.execute(stmt.order_by(Store.id)):
        cover = (low, high) if zone == tz and low is not None else None
        if cover and cover[0] <= last and cover[1] >= first:
            counted.setdefault((max(first, cover[0]), min(last, cover[1])), []).append(sid)
        for stretch in uncounted(first, last, cover):
            raw.setdefault(stretch, []).append(sid)
    return counted, raw


def _in(model, counted: dict):
    days = (
        and_(model.store_id.in_(ids), model.day.between(a, b)) for (a, b), ids in counted.items()
    )
    return or_(*days)


class Sums:
    """The figures of the page added up from rollup rows and raw periods."""

    def __init__(self) -> None:
        self.statuses: dict[str, int] = {}
        self.reasons: dict[str, int] = {}
        self.months: dict[str, int] = {}
        self.faults: dict = {}
        self.models: dict = {}
        self.parts: dict = {}

    def add(self, kind: str, key: str, key2: str, n: int, qty: int, amount: int) -> None:
        """Add one count of a kind and key (the columns of store_daily_counts)."""
        if kind in (STATUS, REASON):
            found = self.statuses if kind == STATUS else self.reasons
            found[key] = found.get(key, 0) + n
        elif kind == FAULT:
            row = self.faults.setdefault(key, {"category": key, "repairs": 0, "revenue_fen": 0})
            row["repairs"] += n
            row["revenue_fen"] += amount
        elif kind == MODEL:
            blank = {"brand": key, "series": key2, "repairs": 0}
            self.models.setdefault((key, key2), blank)["repairs"] += n
        else:
            blank = {"description": key, "part_no": key2, "quantity": 0, "repairs": 0}
            row = self.parts.setdefault((key, key2), blank | {"revenue_fen": 0})
            row["quantity"] += qty
            row["repairs"] += n
            row["revenue_fen"] += amount

    def add_month(self, month: str, n: int) -> None:
        self.months[month] = self.months.get(month, 0) + n

    def add_counted(self, counted: dict) -> None:
        """Add the rollup's days: {(a, b): store ids counted on days a..b}."""
        c = StoreDailyCount
        sums = select(c.kind, c.key, c.key2, func.sum(c.n), func.sum(c.quantity))
        sums = sums.add_columns(func.sum(c.amount_fen)).where(_in(c, counted))
        for row in db.session.execute(sums.group_by(c.kind, c.key, c.key2)):
            self.add(*row[:3], *(int(v or 0) for v in row[3:]))
        d = StoreDailyStats
        per_day = select(d.day, func.sum(d.bookings)).where(_in(d, counted)).group_by(d.day)
        for day, n in db.session.execute(per_day):
            self.add_month(day.strftime("%Y-%m"), int(n or 0))

    def add_raw(self, ids: list[int], start: datetime, end: datetime, tz: str) -> None:
        """Add the raw rows of the stores ids in [start, end)."""
        statuses, reasons = stats.funnel_counts(ids, start, end)
        for key, n in statuses.items():
            self.add(STATUS, key, "", n, 0, 0)
        for key, n in reasons.items():
            self.add(REASON, key, "", n, 0, 0)
        for month, n in stats.bookings_by_month(ids, start, end, tz):
            self.add_month(month, n)
        for x in stats.top_faults(ids, start, end, limit=None):
            self.add(FAULT, x["category"], "", x["repairs"], 0, x["revenue_fen"])
        for x in stats.top_models(ids, start, end, limit=None):
            self.add(MODEL, x["brand"], x["series"], x["repairs"], 0, 0)
        for x in stats.top_parts(ids, start, end, limit=None):
            self.add(PART, x["description"], x["part_no"], x["repairs"], x["quantity"], 0)
            self.parts[(x["description"], x["part_no"])]["revenue_fen"] += x["revenue_fen"]

    def result(self, start: datetime, end: datetime, tz: str, limit: int) -> dict:
        def top(rows: dict, key) -> list:
            return sorted(rows.values(), key=key)[:limit]

        return {
            "funnel": stats.funnel_of(self.statuses, self.reasons),
            "months": stats.every_month(self.months, start, end, tz),
            "faults": top(self.faults, lambda x: (-x["repairs"], x["category"])),
            "models": top(self.models, lambda x: (-x["repairs"], x["brand"], x["series"])),
            "parts": top(self.parts, lambda x: (-x["quantity"], x["description"])),
        }


def figures(store_id: int | None, tz: str, first: date, last: date, limit: int = 10) -> dict:
    """Return the summable figures of the page for the local days first..last in zone tz:
    funnel, months, faults, models, parts (the shapes portal/services/booking_stats.py gives)."""
    counted, raw = _split(store_id, tz, first, last)
    sums = Sums()
    if counted:
        sums.add_counted(counted)
    for (a, b), ids in raw.items():
        sums.add_raw(ids, *stats.period_bounds(a, b, tz), tz)
    return sums.result(*stats.period_bounds(first, last, tz), tz, limit)
