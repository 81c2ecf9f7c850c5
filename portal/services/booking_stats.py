"""Repair analytics for managers: aggregated in the database, returned as plain lists and dicts.

Every function takes store_id (None: every store) and a half-open period [start, end) of aware
UTC datetimes. Callers decide who may see which store; these functions only count.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.orm import aliased, joinedload

from portal.extensions import db
from portal.models import Booking, ServiceItem, ServiceRecord, User, Vehicle
from portal.models.bookings import (
    APP,
    CANCELLED,
    CHECKED_IN,
    COMPLETED,
    IN_PROGRESS,
    NO_SHOW,
    READY,
    REJECTED,
)
from portal.sqltime import days_between, local_month

# An accepted booking is in one of these states, or was cancelled after the store decided.
AFTER_ACCEPT = ("accepted", CHECKED_IN, IN_PROGRESS, READY, COMPLETED, NO_SHOW)
CAME_IN = (CHECKED_IN, IN_PROGRESS, READY, COMPLETED)
# The funnel's own status of a booking cancelled after the store accepted it (the daily
# rollups count it apart from the other cancellations).
ACCEPTED_CANCELLED = "cancelled_accepted"

Stores = int | list[int] | None  # one store, some stores, or every store


def period_bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """Return the UTC [start, end) of the local days first..last (inclusive) in zone tz."""
    zone, utc = ZoneInfo(tz), ZoneInfo("UTC")
    start = datetime.combine(first, time(0), tzinfo=zone).astimezone(utc)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(utc)
    return start, end


def is_part():
    """Return the condition "this service item is a part", with 'part' written into the SQL.

    A parameter would do as well for one execution, but a prepared statement's generic plan
    cannot prove the partial index's predicate (kind = 'part') from a parameter."""
    return ServiceItem.kind == literal("part", literal_execute=True)


def _where(stmt, at, store_col, store_id: Stores, start: datetime, end: datetime):
    stmt = stmt.where(at >= start, at < end)
    if isinstance(store_id, list):
        return stmt.where(store_col.in_(store_id))
    return stmt if store_id is None else stmt.where(store_col == store_id)


def _records(stmt, store_id, start, end):
    return _where(stmt, ServiceRecord.completed_at, ServiceRecord.store_id, store_id, start, end)


def _bookings(stmt, store_id, start, end):
    return _where(stmt, Booking.created_at, Booking.store_id, store_id, start, end)


# --- what breaks, on which cars, with which parts -----------------------------------------


def top_faults(store_id: Stores, start: datetime, end: datetime, limit: int | None = 10) -> list:
    """Return fault categories by number of repairs: category, repairs, revenue_fen."""
    n = func.count(ServiceRecord.id).label("n")
    stmt = _records(
        select(ServiceRecord.fault_category, n, func.sum(ServiceRecord.total_fen)),
        store_id,
        start,
        end,
    ).group_by(ServiceRecord.fault_category)
    rows = db.session.execute(stmt.order_by(n.desc(), ServiceRecord.fault_category).limit(limit))
    return [{"category": c, "repairs": k, "revenue_fen": int(s or 0)} for c, k, s in rows]


def top_models(store_id: Stores, start: datetime, end: datetime, limit: int | None = 10) -> list:
    """Return vehicle models (brand + series) by number of repairs."""
    n = func.count(ServiceRecord.id).label("n")
    stmt = _records(
        select(Vehicle.brand, Vehicle.series, n).join(
            Vehicle, Vehicle.id == ServiceRecord.vehicle_id
        ),
        store_id,
        start,
        end,
    ).group_by(Vehicle.brand, Vehicle.series)
    rows = db.session.execute(stmt.order_by(n.desc(), Vehicle.brand, Vehicle.series).limit(limit))
    return [{"brand": b, "series": s, "repairs": k} for b, s, k in rows]


def top_parts(store_id: Stores, start: datetime, end: datetime, limit: int | None = 10) -> list:
    """Return the parts fitted most (by quantity): description, part_no, quantity, repairs."""
    qty = func.sum(ServiceItem.quantity).label("qty")
    stmt = _records(
        select(
            ServiceItem.description,
            ServiceItem.part_no,
            qty,
            func.count(func.distinct(ServiceItem.record_id)),
            func.sum(ServiceItem.quantity * ServiceItem.unit_price_fen),
        )
        .join(ServiceRecord, ServiceRecord.id == ServiceItem.record_id)
        .where(is_part()),
        store_id,
        start,
        end,
    ).group_by(ServiceItem.description, ServiceItem.part_no)
    rows = db.session.execute(stmt.order_by(qty.desc(), ServiceItem.description).limit(limit))
    return [
        {"description": d, "part_no": p, "quantity": int(q), "repairs": r, "revenue_fen": int(s)}
        for d, p, q, r, s in rows
    ]


# --- who books ------------------------------------------------------------------------------


def top_customers(store_id: int | None, start: datetime, end: datetime, limit: int = 10) -> list:
    """Return the owners with the most online bookings: name, phone, bookings, completed."""
    n = func.count(Booking.id).label("n")
    done = func.sum(case((Booking.status == COMPLETED, 1), else_=0))
    stmt = _bookings(
        select(User.id, User.name, User.phone, n, done).join(User, User.id == Booking.owner_id),
        store_id,
        start,
        end,
    ).group_by(User.id, User.name, User.phone)
    rows = db.session.execute(stmt.order_by(n.desc(), User.id).limit(limit))
    return [
        {"owner_id": i, "name": nm, "phone": ph or "", "bookings": k, "completed": int(c or 0)}
        for i, nm, ph, k, c in rows
    ]


def bookings_by_month(store_id: Stores, start: datetime, end: datetime, tz: str) -> list:
    """Return (YYYY-MM, bookings created) for every local month of the period, gaps as 0."""
    month = local_month(Booking.created_at, tz, start).label("month")
    stmt = _bookings(select(month, func.count(Booking.id)), store_id, start, end)
    return every_month(dict(db.session.execute(stmt.group_by(month)).all()), start, end, tz)


def every_month(counts: dict[str, int], start: datetime, end: datetime, tz: str) -> list:
    """Return (YYYY-MM, count) for every local month of [start, end), gaps as 0."""
    zone = ZoneInfo(tz)
    cursor = start.astimezone(zone).date().replace(day=1)
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    months = []
    while cursor <= last:
        key = cursor.strftime("%Y-%m")
        months.append((key, counts.get(key, 0)))
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    return months


# --- repairs that came back ---------------------------------------------------------------


def _repeat_pairs(store_id: int | None, start: datetime, end: datetime, days: int):
    """Select (first id, again id, fault, gap) of record pairs: same car, same fault, within
    `days`, consecutive, the second visit in the period.

    The first visit lies within `days` before the second, so it is bounded too: both sides
    read only [start - days, end) through the (store, completed_at) index, whatever the
    length of the history."""
    first, again, between = (aliased(ServiceRecord) for _ in range(3))
    gap = days_between(first.completed_at, again.completed_at)
    stmt = (
        select(first.id, again.id, again.fault_category, gap.label("gap"))
        .join(
            again,
            and_(
                again.vehicle_id == first.vehicle_id,
                again.fault_category == first.fault_category,
                again.completed_at > first.completed_at,
            ),
        )
        .where(
            again.completed_at >= start,
            again.completed_at < end,
            first.completed_at >= start - timedelta(days=days),
            first.completed_at < end,
            gap <= days,
            ~exists().where(
                between.vehicle_id == first.vehicle_id,
                between.fault_category == first.fault_category,
                between.completed_at > first.completed_at,
                between.completed_at < again.completed_at,
            ),
        )
    )
    if store_id is not None:  # both visits: a manager sees only their own store's records
        stmt = stmt.where(first.store_id == store_id, again.store_id == store_id)
    return stmt.order_by(again.completed_at.desc(), again.id.desc())


def repeat_repairs(
    store_id: int | None, start: datetime, end: datetime, days: int, limit: int = 100
) -> dict:
    """Return repairs that came back: the same car and fault again within `days` days.

    {"count": all pairs, "by_category": [(category, n)], "rows": the newest `limit` pairs},
    each row with both records, the days between, and the parts fitted at each visit."""
    summary = repeat_summary(store_id, start, end, days, limit)
    return {
        "count": summary["count"],
        "by_category": summary["by_category"],
        "rows": repeat_rows(summary["pairs"]),
    }


def repeat_summary(
    store_id: int | None, start: datetime, end: datetime, days: int, limit: int = 100
) -> dict:
    """Return the repeat repairs as plain values: {"count", "by_category": [(category, n)],
    "pairs": the newest `limit` pairs as (first id, again id, days between)}.

    The pairs are found once (ids only); repeat_rows loads the shown records."""
    pairs = db.session.execute(_repeat_pairs(store_id, start, end, days)).all()
    counts: dict[str, int] = {}
    for _first, _again, category, _gap in pairs:
        counts[category] = counts.get(category, 0) + 1
    by_cat = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = [(a, b, round(g, 1)) for a, b, _c, g in pairs[:limit]]
    return {"count": len(pairs), "by_category": by_cat, "pairs": shown}


def repeat_rows(pairs) -> list[dict]:
    """Return the rows of (first id, again id, days between) pairs: both records with their car
    and advisor, the days between, and the parts fitted at each visit (two statements)."""
    ids = {i for row in pairs for i in row[:2]}
    if not ids:
        return []
    # The car and the advisor of each shown record in the same statement (the page shows
    # them on every row: loading them lazily cost two statements per row).
    shown_records = (
        select(ServiceRecord)
        .where(ServiceRecord.id.in_(ids))
        .options(
            joinedload(ServiceRecord.vehicle).load_only(
                Vehicle.plate, Vehicle.brand, Vehicle.series
            ),
            joinedload(ServiceRecord.advisor).load_only(User.name),
        )
    )
    records = {r.id: r for r in db.session.scalars(shown_records)}
    parts: dict[int, list[str]] = {i: [] for i in ids}
    for record_id, desc, qty in db.session.execute(
        select(ServiceItem.record_id, ServiceItem.description, ServiceItem.quantity)
        .where(ServiceItem.record_id.in_(ids), is_part())
        .order_by(ServiceItem.id)
    ):
        parts[record_id].append(desc if qty == 1 else f"{desc} ×{qty}")
    # A record deleted since a snapshot listed it drops its row.
    return [
        {"first": records[a], "again": records[b], "days": g}
        | {"first_parts": parts[a], "again_parts": parts[b]}
        for a, b, g in pairs
        if a in records and b in records
    ]


# --- the funnel and the times -------------------------------------------------------------


def funnel(store_id: Stores, start: datetime, end: datetime) -> dict:
    """Return the booking funnel of bookings created in the period, with rejection reasons.

    accepted counts bookings the store accepted, whatever happened later (also cancelled
    after acceptance); no_show_rate is no-shows among accepted bookings whose car was due."""
    return funnel_of(*funnel_counts(store_id, start, end))


def funnel_counts(store_id: Stores, start: datetime, end: datetime) -> tuple[dict, dict]:
    """Return the bookings created in the period by funnel status (ACCEPTED_CANCELLED apart
    from the other cancellations) and the rejected ones by reason: two {key: n}."""
    decided = Booking.decided_at.isnot(None)
    kept_slot = Booking.proposed_start.is_(None)
    stmt = _bookings(
        select(
            Booking.status,
            decided,
            kept_slot,
            Booking.decision_reason,
            func.count(Booking.id),
        ),
        store_id,
        start,
        end,
    ).group_by(Booking.status, decided, kept_slot, Booking.decision_reason)
    statuses: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for status, was_decided, no_proposal, reason, n in db.session.execute(stmt):
        key = ACCEPTED_CANCELLED if status == CANCELLED and was_decided and no_proposal else status
        statuses[key] = statuses.get(key, 0) + n
        if status == REJECTED:
            reasons[reason or "other"] = reasons.get(reason or "other", 0) + n
    return statuses, reasons


def funnel_of(statuses: dict[str, int], reasons: dict[str, int]) -> dict:
    """Return the funnel of the counts funnel_counts returns (or their sums over days)."""
    by_status: dict[str, int] = {}
    for key, n in statuses.items():
        status = CANCELLED if key == ACCEPTED_CANCELLED else key
        by_status[status] = by_status.get(status, 0) + n
    accepted = statuses.get(ACCEPTED_CANCELLED, 0) + sum(
        n for s, n in statuses.items() if s in AFTER_ACCEPT
    )
    came = sum(by_status.get(s, 0) for s in CAME_IN)
    no_show = by_status.get(NO_SHOW, 0)
    return {
        "submitted": sum(by_status.values()),
        "accepted": accepted,
        "completed": by_status.get(COMPLETED, 0),
        "rejected": by_status.get(REJECTED, 0),
        "cancelled": by_status.get(CANCELLED, 0),
        "no_show": no_show,
        "no_show_rate": no_show / (no_show + came) if no_show + came else None,
        "reasons": sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
        "by_status": by_status,
    }


def with_median(value, stmt, *group):
    """Return stmt's rows as a subquery with `value`, its rank and the count per group.

    The median is then the average of the one or two middle ranks (2 * rank between n and
    n + 2), in the same grouped statement: no count first, no query per group."""
    return stmt.with_only_columns(
        *group,
        value.label("value"),
        func.row_number().over(partition_by=list(group) or None, order_by=value).label("rank"),
        func.count().over(partition_by=list(group) or None).label("n"),
    ).subquery()


def median_of(ranked):
    middle = and_(2 * ranked.c.rank >= ranked.c.n, 2 * ranked.c.rank <= ranked.c.n + 2)
    return func.avg(case((middle, ranked.c.value)))


def lead_time(store_id: int | None, start: datetime, end: datetime) -> dict:
    """Return how far ahead owners book (created_at -> slot_start): count, avg and median days."""
    lead = days_between(Booking.created_at, Booking.slot_start)
    # Owners' own bookings: a walk-in is booked after its slot began, a caller when they ring.
    owners = _bookings(select(Booking.id), store_id, start, end).where(Booking.source == APP)
    ranked = with_median(lead, owners)
    count, avg, median = db.session.execute(
        select(func.count(), func.avg(ranked.c.value), median_of(ranked))
    ).one()
    return {
        "count": count,
        "avg_days": float(avg) if avg is not None else None,
        "median_days": float(median) if median is not None else None,
    }


def decision_times(store_id: int | None, start: datetime, end: datetime) -> list:
    """Return per advisor the decisions made and the avg and median hours to decide."""
    wait = days_between(Booking.created_at, Booking.decided_at)
    base = _bookings(select(Booking.id), store_id, start, end).where(
        Booking.decided_at.isnot(None),
        Booking.advisor_id.isnot(None),
        Booking.source == APP,  # a job staff enter themselves is no decision to wait for
    )
    ranked = with_median(wait, base, Booking.advisor_id)
    avg = func.avg(ranked.c.value)
    rows = db.session.execute(
        select(User.id, User.name, func.count(), avg, median_of(ranked))
        .join(User, User.id == ranked.c.advisor_id)
        .group_by(User.id, User.name)
        .order_by(avg, User.id)
    ).all()
    return [
        {
            "advisor_id": uid,
            "name": name,
            "decisions": n,
            "avg_hours": float(avg) * 24,
            "median_hours": float(median) * 24,
        }
        for uid, name, n, avg, median in rows
    ]
