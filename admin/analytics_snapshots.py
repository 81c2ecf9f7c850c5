"""The repair analytics of the standard period, computed by the worker and read by the page.

Some figures cannot be summed over days (the medians, the customers with the most bookings,
the repeat repairs and their attribution), so over 90 days of the whole group they take
seconds whatever the index. The worker therefore computes every figure of the page for the
default period (the last DEFAULT_DAYS local days) of every store and of all stores, and keeps
them keyed by their complete input: the store (0: all stores), the days, the time zone and the
repeat window. The page shows a snapshot whose key matches its filter and that is at most
ANALYTICS_SNAPSHOT_MAX_AGE old, with its "as of" time; any other filter is counted live.
The repeat repairs' shown rows are kept as record ids and loaded when the page is drawn.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import JSON, String, UniqueConstraint, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from admin import analytics_rollups
from portal.extensions import db
from portal.models import Store
from portal.models.base import Base, UTCDateTime
from portal.services import booking_stats as stats
from portal.services import repeat_attribution
from portal.timeutil import now

DEFAULT_DAYS = 90
TOP_PARTS = 15  # the parts with the highest repeat rate (then the most jobs)
SHOWN_REPEATS = 30
ALL_STORES = 0  # the scope of the group's snapshot
KEEP_DAYS = 2  # snapshots older than this are deleted by the job


class AnalyticsSnapshot(Base):
    """Every figure of the repair analytics for one store (or all) and period, as of a time."""

    __tablename__ = "analytics_snapshots"
    __table_args__ = (
        UniqueConstraint(
            "scope",
            "first_day",
            "last_day",
            "timezone",
            "repeat_days",
            name="uq_analytics_snapshots_input",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[int]  # a store id, or ALL_STORES
    first_day: Mapped[date]
    last_day: Mapped[date]
    timezone: Mapped[str] = mapped_column(String(64))
    repeat_days: Mapped[int]
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    figures: Mapped[dict] = mapped_column(JSON)


def compute(store_id: int | None, tz: str, first: date, last: date, days: int) -> dict:
    """Return every figure of the page for the local days first..last (plain JSON values;
    the repeat repairs' shown rows as [first id, again id, days between])."""
    start, end = stats.period_bounds(first, last, tz)
    if current_app.config["ANALYTICS_FROM_ROLLUPS"]:
        summed = analytics_rollups.figures(store_id, tz, first, last)
    else:
        summed = {
            "funnel": stats.funnel(store_id, start, end),
            "months": stats.bookings_by_month(store_id, start, end, tz),
            "faults": stats.top_faults(store_id, start, end),
            "models": stats.top_models(store_id, start, end),
            "parts": stats.top_parts(store_id, start, end),
        }
    return summed | {
        "lead": stats.lead_time(store_id, start, end),
        "advisors": stats.decision_times(store_id, start, end),
        "customers": stats.top_customers(store_id, start, end),
        "repeats": stats.repeat_summary(store_id, start, end, days, limit=SHOWN_REPEATS),
        "by_technician": repeat_attribution.by_technician(store_id, start, end, days),
        "by_part": repeat_attribution.by_part(store_id, start, end, days)[:TOP_PARTS],
    }


def default_period(tz: str, at: datetime) -> tuple[date, date]:
    """Return the first and last local day of the default period ending on the day of `at`."""
    last = at.astimezone(ZoneInfo(tz)).date()
    return last - timedelta(days=DEFAULT_DAYS - 1), last


def saved(store_id: int | None, tz: str, first: date, last: date, days: int):
    """Return the fresh snapshot of exactly this input, or None."""
    max_age = timedelta(seconds=current_app.config["ANALYTICS_SNAPSHOT_MAX_AGE"])
    snap = AnalyticsSnapshot
    return db.session.scalar(
        select(snap).where(
            snap.scope == (ALL_STORES if store_id is None else store_id),
            snap.first_day == first,
            snap.last_day == last,
            snap.timezone == tz,
            snap.repeat_days == days,
            snap.computed_at >= now() - max_age,
        )
    )


def store(store_id: int | None, tz: str, first: date, last: date, days: int, at: datetime):
    """Compute the figures and write them as the snapshot of their input (replacing it)."""
    values = {
        "scope": ALL_STORES if store_id is None else store_id,
        "first_day": first,
        "last_day": last,
        "timezone": tz,
        "repeat_days": days,
        "computed_at": at,
        "figures": compute(store_id, tz, first, last, days),
    }
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(AnalyticsSnapshot).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["scope", "first_day", "last_day", "timezone", "repeat_days"],
        set_={"computed_at": at, "figures": stmt.excluded.figures},
    )
    db.session.execute(stmt)


def refresh_snapshots(at: datetime | None = None) -> dict[str, int]:
    """Compute the default period of all stores and of each store, committing each (the
    worker's job); delete the snapshots older than KEEP_DAYS."""
    at = at or now()
    days = current_app.config["REPEAT_REPAIR_DAYS"]
    group_tz = current_app.config["DEFAULT_TIMEZONE"]
    stores = db.session.execute(select(Store.id, Store.timezone).order_by(Store.id))
    scopes = [(None, group_tz)] + [(store_id, tz) for store_id, tz in stores]
    for store_id, tz in scopes:
        store(store_id, tz, *default_period(tz, at), days, at)
        db.session.commit()
    db.session.execute(
        delete(AnalyticsSnapshot).where(
            AnalyticsSnapshot.computed_at < at - timedelta(days=KEEP_DAYS)
        )
    )
    return {"snapshots": len(scopes)}
