"""The manager's board: open leads by stage per advisor, and the funnel of a period in store time.

Counts are grouped in the database (one GROUP BY per figure, on indexed store and date
columns); Python only adds up the handful of rows that come back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm.models import (
    CONTACTED,
    DELIVERED,
    LOST,
    NEW,
    OPEN,
    ORDER,
    QUOTE,
    STAGES,
    TEST_DRIVE,
    Lead,
)
from crm.pipeline_models import CANCELLED, DriveBooking, SalesOrder
from portal import access
from portal.extensions import db
from portal.models import User
from portal.timeutil import now

FUNNEL = (NEW, CONTACTED, TEST_DRIVE, QUOTE, ORDER, DELIVERED)
FUNNEL_LABELS = {
    NEW: _l("Leads"),
    CONTACTED: _l("Contacted"),
    TEST_DRIVE: _l("Test drive"),
    QUOTE: _l("Quote"),
    ORDER: _l("Order"),
    DELIVERED: _l("Delivered"),
}
PERIODS = {
    "this_month": _l("This month"),
    "last_month": _l("Last month"),
    "30d": _l("Last 30 days"),
    "90d": _l("Last 90 days"),
}
CARDS_PER_STAGE = 30


@dataclass
class Period:
    key: str
    start: date  # store-local, inclusive
    end: date  # store-local, exclusive
    start_utc: datetime
    end_utc: datetime


def period(key: str, zone: ZoneInfo) -> Period:
    """Return the named period (this month by default) as local dates and UTC bounds."""
    today = now().astimezone(zone).date()
    if key == "last_month":
        end = today.replace(day=1)
        start = (end - timedelta(days=1)).replace(day=1)
    elif key in ("30d", "90d"):
        end = today + timedelta(days=1)
        start = end - timedelta(days=int(key[:-1]))
    else:
        key, start = "this_month", today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)

    def utc(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)

    return Period(key, start, end, utc(start), utc(end))


@dataclass
class AdvisorRow:
    advisor_id: int | None
    name: str
    by_stage: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_stage.values())


def pipeline(viewer: User, store_id: int | None = None) -> list[AdvisorRow]:
    """Return the open leads counted by advisor and stage (the viewer's store)."""
    stmt = access.chosen_store_scope(
        select(Lead.advisor_id, User.name, Lead.stage, func.count(Lead.id))
        .outerjoin(User, User.id == Lead.advisor_id)
        .where(Lead.state == OPEN)
        .group_by(Lead.advisor_id, User.name, Lead.stage),
        Lead,
        viewer,
        store_id,
    )
    rows: dict[int | None, AdvisorRow] = {}
    for advisor_id, name, stage, count in db.session.execute(stmt):
        row = rows.setdefault(advisor_id, AdvisorRow(advisor_id, name or ""))
        row.by_stage[stage] = count
    return sorted(rows.values(), key=lambda r: (-r.total, r.name))


def cards(
    viewer: User, advisor_id: int | None = None, store_id: int | None = None
) -> dict[str, list[Lead]]:
    """Return the open leads per stage, oldest change first (the ones waiting longest on top).

    Each card shows its customer's and advisor's names: they come in the same statement, not
    one lazy load per card."""
    stmt = access.chosen_store_scope(
        select(Lead)
        .where(Lead.state == OPEN)
        .options(
            joinedload(Lead.customer).load_only(User.name),
            joinedload(Lead.advisor).load_only(User.name),
        ),
        Lead,
        viewer,
        store_id,
    )
    if advisor_id:
        stmt = stmt.where(Lead.advisor_id == advisor_id)
    result: dict[str, list[Lead]] = {}
    for stage in STAGES[:-1]:
        result[stage] = list(
            db.session.scalars(
                stmt.where(Lead.stage == stage).order_by(Lead.updated_at).limit(CARDS_PER_STAGE)
            )
        )
    return result


def funnel(
    viewer: User, span: Period, advisor_id: int | None = None, store_id: int | None = None
) -> list[tuple[str, int]]:
    """Return how many leads received in the period reached each funnel stage (lost ones too,
    at the stage they reached)."""
    stmt = access.chosen_store_scope(
        select(Lead.stage, func.count(Lead.id))
        .where(Lead.created_at >= span.start_utc, Lead.created_at < span.end_utc)
        .group_by(Lead.stage),
        Lead,
        viewer,
        store_id,
    )
    if advisor_id:
        stmt = stmt.where(Lead.advisor_id == advisor_id)
    at_stage = dict(db.session.execute(stmt).all())
    reached = []
    for stage in FUNNEL:
        k = STAGES.index(stage)
        reached.append((stage, sum(n for s, n in at_stage.items() if STAGES.index(s) >= k)))
    return reached


def actuals(viewer: User, span: Period, store_id: int | None = None) -> dict[str, int]:
    """Return what happened in the period by its own date: drives, orders signed, deliveries."""

    def count(stmt, model) -> int:
        return db.session.scalar(access.chosen_store_scope(stmt, model, viewer, store_id)) or 0

    in_span = (SalesOrder.signed_at >= span.start_utc, SalesOrder.signed_at < span.end_utc)
    delivered = (
        SalesOrder.delivered_at >= span.start_utc,
        SalesOrder.delivered_at < span.end_utc,
    )
    return {
        "drives": count(
            select(func.count(DriveBooking.id)).where(
                DriveBooking.status != CANCELLED,
                DriveBooking.starts_at >= span.start_utc,
                DriveBooking.starts_at < span.end_utc,
            ),
            DriveBooking,
        ),
        "orders": count(select(func.count(SalesOrder.id)).where(*in_span), SalesOrder),
        "deliveries": count(select(func.count(SalesOrder.id)).where(*delivered), SalesOrder),
        "lost": count(
            select(func.count(Lead.id)).where(
                Lead.state == LOST,
                Lead.updated_at >= span.start_utc,
                Lead.updated_at < span.end_utc,
            ),
            Lead,
        ),
    }


def orders_by_advisor(
    viewer: User, span: Period, store_id: int | None = None
) -> list[tuple[str, int]]:
    """Return the orders signed in the period per advisor, most first."""
    stmt = access.chosen_store_scope(
        select(User.name, func.count(SalesOrder.id))
        .outerjoin(User, User.id == SalesOrder.advisor_id)
        .where(SalesOrder.signed_at >= span.start_utc, SalesOrder.signed_at < span.end_utc)
        .group_by(User.name),
        SalesOrder,
        viewer,
        store_id,
    )
    return sorted(((name or "—", n) for name, n in db.session.execute(stmt)), key=lambda r: -r[1])


def store_advisors(viewer: User, store_id: int | None = None) -> list[User]:
    """Return the active advisors the viewer may filter the board by."""
    stmt = access.chosen_store_scope(
        select(User).where(User.role == "advisor", User.is_active.is_(True)), User, viewer, store_id
    )
    return list(db.session.scalars(stmt.order_by(User.name)))


def lost_reasons(viewer: User, span: Period, store_id: int | None = None) -> list[tuple[str, int]]:
    """Return the leads closed as lost in the period per reason, most first."""
    stmt = access.chosen_store_scope(
        select(Lead.lost_reason, func.count(Lead.id))
        .where(Lead.state == LOST, Lead.updated_at >= span.start_utc)
        .where(Lead.updated_at < span.end_utc)
        .group_by(Lead.lost_reason),
        Lead,
        viewer,
        store_id,
    )
    return sorted(((r or "other", n) for r, n in db.session.execute(stmt)), key=lambda r: -r[1])
