"""Each store's figures per local day, kept by the worker, and the group's comparison read
from them: whole closed days from store_daily_stats, the rest (today, and any day the job has
not covered yet) from the raw rows, so the page equals the raw count at any time.

The job recomputes the last DAILY_STATS_DAYS closed days of every store, for each time zone
the stores use, in one INSERT ... SELECT ... ON CONFLICT DO UPDATE (the sources of
admin/group_stats.py grouped by store and local day): a late change to a day of the window,
a lead won weeks after it came in, is picked up by the next run; a rerun writes the same rows.
`flask m4s daily-stats --days N` backfills further back, a month per transaction.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import click
from flask import current_app
from sqlalchemy import Date, and_, case, delete, func, insert, literal, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from admin import analytics_rollups, group_stats
from admin.daily_stats_models import (
    COUNTS,
    StoreContactMedian,
    StoreDailyStats,
    StoreStatsSpan,
)
from portal import access
from portal.cli import m4s
from portal.extensions import db
from portal.models import ServiceRecord, Store
from portal.models.base import UTCDateTime
from portal.services.booking_stats import period_bounds
from portal.sqltime import local_date
from portal.timeutil import now

BACKFILL_CHUNK_DAYS = 31  # the CLI's backfill commits a month at a time
DASHBOARD = tuple(c for c in COUNTS if c not in ("jobs", "revenue_fen"))


def _insert():
    return pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert


def _sources() -> list[group_stats.Source]:
    """Return the dashboard's sources and the workshop's completed jobs (for the analytics)."""
    jobs = group_stats.Source(
        ServiceRecord.completed_at,
        ServiceRecord.store_id,
        {"jobs": func.count(ServiceRecord.id), "revenue_fen": func.sum(ServiceRecord.total_fen)},
    )
    return [*group_stats.sources(), jobs]


def _day_rows(zone: str, first: date, last: date, stamp: datetime):
    """Select (store_id, day, every count, computed_at) of the zone's stores' days first..last."""
    start, end = period_bounds(first, last, zone)
    stores = select(Store.id).where(Store.timezone == zone)
    days = group_stats.counted_together(
        _sources(), COUNTS, stores, start, end, day=lambda at: local_date(at, zone, start)
    ).subquery("days")
    # WHERE true: SQLite would read the upsert's ON CONFLICT as a join's ON without it.
    return select(*days.c, literal(stamp, UTCDateTime()).label("computed_at")).where(true())


def roll_up(zone: str, first: date, last: date, stamp: datetime | None = None) -> int:
    """Recompute the figures of the local days first..last of every store in the time zone;
    return the days written. Days left with nothing to count lose their row."""
    stamp = stamp or now()
    insert = _insert()
    stmt = insert(StoreDailyStats).from_select(
        ["store_id", "day", *COUNTS, "computed_at"], _day_rows(zone, first, last, stamp)
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["store_id", "day"],
        set_={c: stmt.excluded[c] for c in (*COUNTS, "computed_at")},
    )
    db.session.execute(stmt)
    stores = select(Store.id).where(Store.timezone == zone)
    db.session.execute(
        delete(StoreDailyStats).where(
            StoreDailyStats.store_id.in_(stores),
            StoreDailyStats.day.between(first, last),
            StoreDailyStats.computed_at < stamp,
        )
    )
    analytics_rollups.roll_up_counts(zone, first, last, stamp)
    _widen_spans(stores, first, last, stamp)
    return db.session.scalar(
        select(func.count())
        .select_from(StoreDailyStats)
        .where(StoreDailyStats.store_id.in_(stores), StoreDailyStats.day.between(first, last))
    )


def _widen_spans(stores, first: date, last: date, stamp: datetime) -> None:
    """Record that the stores' days first..last are counted: joined to the span already
    recorded when they meet or overlap it, in its place when they do not."""
    insert = _insert()
    stmt = insert(StoreStatsSpan).from_select(
        ["store_id", "first_day", "last_day", "computed_at"],
        select(
            Store.id,
            literal(first, Date()),
            literal(last, Date()),
            literal(stamp, UTCDateTime()),
        ).where(Store.id.in_(stores)),
    )
    old, new = StoreStatsSpan, stmt.excluded
    meets = and_(
        old.first_day <= literal(last + timedelta(days=1), Date()),
        old.last_day >= literal(first - timedelta(days=1), Date()),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["store_id"],
        set_={
            "first_day": case(
                (and_(meets, old.first_day < new.first_day), old.first_day), else_=new.first_day
            ),
            "last_day": case(
                (and_(meets, old.last_day > new.last_day), old.last_day), else_=new.last_day
            ),
            "computed_at": new.computed_at,
        },
    )
    db.session.execute(stmt)


def _zones() -> list[str]:
    return list(db.session.scalars(select(Store.timezone).distinct().order_by(Store.timezone)))


def refresh_daily_stats(at: datetime | None = None, days: int | None = None) -> dict[str, int]:
    """Recompute the last `days` closed local days of every store (the worker's job)."""
    at = at or now()
    days = days or current_app.config["DAILY_STATS_DAYS"]
    written = medians = 0
    for zone in _zones():
        today = at.astimezone(ZoneInfo(zone)).date()
        written += roll_up(zone, today - timedelta(days=days), today - timedelta(days=1), at)
        medians += keep_contact_medians(zone, today, at)
    return {"days": days, "store_days": written, "medians": medians}


def keep_contact_medians(zone: str, today: date, at: datetime) -> int:
    """Take the zone's stores' median minutes to first contact over each period of the
    comparison (every brand's leads) and keep them for the page; return the rows written."""
    ids = list(db.session.scalars(select(Store.id).where(Store.timezone == zone)))
    if not ids:
        return 0
    kept = StoreContactMedian
    db.session.execute(delete(kept).where(kept.store_id.in_(ids)))
    rows = []
    for key in group_stats.PERIODS:
        period = group_stats.period(key, today, zone)
        medians = group_stats.contact_medians(ids, period.start, period.end)
        rows += [
            {
                "store_id": store_id,
                "period": key,
                "first_day": period.first,
                "last_day": period.last,
                "minutes": medians.get(store_id),
                "computed_at": at,
            }
            for store_id in ids
        ]
    db.session.execute(insert(kept), rows)
    return len(rows)


def backfill(days: int, at: datetime | None = None) -> int:
    """Count the last `days` closed days of every store, newest month first, committing each
    month; return the store-days written."""
    at = at or now()
    written = 0
    for zone in _zones():
        last = at.astimezone(ZoneInfo(zone)).date() - timedelta(days=1)
        oldest = last - timedelta(days=days - 1)
        while last >= oldest:
            first = max(oldest, last - timedelta(days=BACKFILL_CHUNK_DAYS - 1))
            written += roll_up(zone, first, last, at)
            db.session.commit()
            last = first - timedelta(days=1)
    return written


@m4s.command("daily-stats")
@click.option("--days", type=click.IntRange(1, 3660), default=400, show_default=True)
def daily_stats_command(days: int) -> None:
    """Count every store's figures of the last DAYS closed days (safe to rerun)."""
    written = backfill(days)
    click.echo(f"Counted {written} store-days.")


# ---- the group's comparison, read from the days ------------------------------------------


def period_figures(viewer, key: str, at: datetime) -> list[group_stats.StoreFigures]:
    """Return the figures of every store the viewer compares for the named period (in each
    store's local days), by store name: counted days from the rollup, the rest raw."""
    compared = select(Store.id, Store.name, Store.timezone)
    stores = db.session.execute(
        access.compared_stores(compared, Store.id, viewer).order_by(Store.name)
    ).all()
    found = {s.id: group_stats.StoreFigures(s.id, s.name) for s in stores}
    zones: dict[str, list[int]] = {}
    for s in stores:
        zones.setdefault(s.timezone, []).append(s.id)
    for zone, ids in zones.items():
        period = group_stats.period(key, at.astimezone(ZoneInfo(zone)).date(), zone)
        if access.compares_one_brand(viewer):  # the rollup counts every brand: count raw
            raw = {(period.first, period.last): ids}
        else:
            raw = _add_counted_days(found, ids, period.first, period.last)
        for (first, last), store_ids in raw.items():
            bounds = period_bounds(first, last, zone)
            group_stats.add_counted(found, store_ids, *bounds, viewer)
        if access.compares_one_brand(viewer):  # the worker's medians are every brand's
            group_stats.contact_median(found, ids, period.start, period.end, viewer)
        else:
            _contact_medians(found, ids, period, viewer)
    return list(found.values())


def _contact_medians(found: dict, ids: list, period: group_stats.Period, viewer) -> None:
    """Set the stores' median minutes to first contact from the worker's medians of this
    period's very days (a row of another day, before the job's first run or of a store added
    since, does not count); take the rest from the raw leads."""
    kept = StoreContactMedian
    rows = db.session.execute(
        select(kept.store_id, kept.minutes, kept.computed_at).where(
            kept.store_id.in_(ids),
            kept.period == period.key,
            kept.first_day == period.first,
            kept.last_day == period.last,
        )
    ).all()
    for store_id, minutes, computed_at in rows:
        found[store_id].contact_minutes = minutes
        found[store_id].contact_as_of = computed_at
    missing = sorted(set(ids) - {r.store_id for r in rows})
    if missing:
        group_stats.contact_median(found, missing, period.start, period.end, viewer)


def _add_counted_days(found: dict, ids: list, first: date, last: date) -> dict:
    """Add the rollup's figures of the days first..last that are counted; return the stores
    of each stretch of days that is not, {(first, last): [store ids]}."""
    span = StoreStatsSpan
    sums = db.session.execute(
        select(
            StoreDailyStats.store_id,
            *(func.sum(getattr(StoreDailyStats, c)).label(c) for c in DASHBOARD),
        )
        .join(span, span.store_id == StoreDailyStats.store_id)
        .where(
            StoreDailyStats.store_id.in_(ids),
            StoreDailyStats.day.between(first, last),
            StoreDailyStats.day >= span.first_day,
            StoreDailyStats.day <= span.last_day,
        )
        .group_by(StoreDailyStats.store_id)
    ).mappings()
    for row in sums:
        found[row["store_id"]].add({c: row[c] for c in DASHBOARD})
    spans = dict.fromkeys(ids, None)
    for store_id, low, high in db.session.execute(
        select(span.store_id, span.first_day, span.last_day).where(span.store_id.in_(ids))
    ):
        spans[store_id] = (low, high)
    raw: dict[tuple[date, date], list[int]] = {}
    for store_id, counted in spans.items():
        for stretch in uncounted(first, last, counted):
            raw.setdefault(stretch, []).append(store_id)
    return raw


def uncounted(first: date, last: date, counted) -> list[tuple[date, date]]:
    """Return the stretches of first..last outside the counted span (low, high), or None."""
    if counted is None or counted[1] < first or counted[0] > last:
        return [(first, last)]
    low, high = counted
    one = timedelta(days=1)
    stretches = [(first, low - one)] if low > first else []
    return stretches + ([(high + one, last)] if high < last else [])
