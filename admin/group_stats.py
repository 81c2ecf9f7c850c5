"""The group's figures per store: bookings and show rate, time to first contact, lead
conversion, CSI and NPS, complaints, shop sales and used-car vetting, over one period.

One grouped statement per measure (GROUP BY store), over the stores the viewer compares
(portal/access.py); the figures are counts, rates and medians, never a person's record.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select

from crm.models import WON, Lead
from crm.quality_models import SERVICE, Complaint, Survey
from crm.quality_stats import DETRACTOR, PROMOTER
from portal import access
from portal.extensions import db
from portal.models import Booking, Store, UsedCarRequest, UsedCarTransition, Vehicle
from portal.models.bookings import NO_SHOW
from portal.models.usedcars import APPROVED, REJECTED
from portal.services import booking_stats
from portal.services.booking_stats import CAME_IN, period_bounds
from portal.sqltime import days_between
from shop.models import CANCELLED, Order

PERIODS = ("month", "last_month", "90d")  # the first is the default
VETTED = (APPROVED, REJECTED)  # a used car's review ends in one of these


@dataclass(frozen=True)
class Period:
    """A named period of whole local days, with its UTC bounds [start, end)."""

    key: str
    first: date
    last: date
    start: datetime
    end: datetime


def period(key: str, today: date, tz: str) -> Period:
    """Return the period named key (this month so far, last month, the last 90 days)."""
    if key == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        first = last.replace(day=1)
    elif key == "90d":
        first, last = today - timedelta(days=89), today
    else:
        first, last = today.replace(day=1), today
    return Period(key, first, last, *period_bounds(first, last, tz))


@dataclass
class StoreFigures:
    """One store's figures over the period (None: nothing to measure)."""

    store_id: int
    name: str
    bookings: int = 0
    came: int = 0
    no_show: int = 0
    contact_minutes: float | None = None  # median time to first contact of new leads
    contacted: int = 0  # the new leads that median is taken over
    leads: int = 0
    won: int = 0
    surveys: int = 0
    nps: float | None = None
    nps_answers: int = 0
    csi: float | None = None
    csi_answers: int = 0
    complaints: int = 0
    sales_fen: int = 0
    orders: int = 0  # the paid orders of sales_fen
    vetted: int = 0

    @property
    def show_rate(self) -> float | None:
        """Return the share of due cars that came (of those that came or did not show)."""
        due = self.came + self.no_show
        return self.came / due if due else None

    @property
    def conversion(self) -> float | None:
        """Return the share of the period's new leads that are won."""
        return self.won / self.leads if self.leads else None


def figures(viewer, start: datetime, end: datetime) -> list[StoreFigures]:
    """Return the figures of every store the viewer compares, by store name."""
    stores = db.session.execute(
        access.compared_stores(select(Store.id, Store.name), Store.id, viewer).order_by(Store.name)
    ).all()
    found = {s.id: StoreFigures(s.id, s.name) for s in stores}
    if not found:
        return []
    ids = list(found)
    _bookings(found, ids, start, end, viewer)
    for measure in (_contact, _leads, _surveys, _complaints, _sales, _vetting):
        measure(found, ids, start, end)
    return list(found.values())


def _bookings(found: dict, ids: list, start: datetime, end: datetime, viewer) -> None:
    """Count the bookings of the cars the viewer compares (a manufacturer: their brand's)."""
    stmt = (
        select(
            Booking.store_id,
            func.count(Booking.id),
            func.sum(case((Booking.status.in_(CAME_IN), 1), else_=0)),
            func.sum(case((Booking.status == NO_SHOW, 1), else_=0)),
        )
        .join(Vehicle, Vehicle.id == Booking.vehicle_id)
        .where(Booking.created_at >= start, Booking.created_at < end, Booking.store_id.in_(ids))
        .group_by(Booking.store_id)
    )
    stmt = access.compared_cars(stmt, viewer)
    for store_id, n, came, no_show in db.session.execute(stmt):
        row = found[store_id]
        row.bookings, row.came, row.no_show = n, int(came or 0), int(no_show or 0)


def _contact(found: dict, ids: list, start: datetime, end: datetime) -> None:
    arrived = func.coalesce(Lead.arrived_at, Lead.created_at)  # an import counts from then
    minutes = days_between(arrived, Lead.first_contact_at) * 1440
    base = select(Lead.id).where(
        Lead.created_at >= start,
        Lead.created_at < end,
        Lead.first_contact_at.is_not(None),
        Lead.store_id.in_(ids),
    )
    ranked = booking_stats.with_median(minutes, base, Lead.store_id)
    stmt = select(ranked.c.store_id, booking_stats.median_of(ranked), func.count()).group_by(
        ranked.c.store_id
    )
    for store_id, median, n in db.session.execute(stmt):
        found[store_id].contact_minutes = float(median) if median is not None else None
        found[store_id].contacted = n


def _leads(found: dict, ids: list, start: datetime, end: datetime) -> None:
    stmt = (
        select(Lead.store_id, func.count(Lead.id), func.sum(case((Lead.state == WON, 1), else_=0)))
        .where(Lead.created_at >= start, Lead.created_at < end, Lead.store_id.in_(ids))
        .group_by(Lead.store_id)
    )
    for store_id, n, won in db.session.execute(stmt):
        found[store_id].leads, found[store_id].won = n, int(won or 0)


def _surveys(found: dict, ids: list, start: datetime, end: datetime) -> None:
    nps_answers = func.count(Survey.nps)
    stmt = (
        select(
            Survey.store_id,
            func.count(Survey.id),
            nps_answers,
            func.sum(case((Survey.nps >= PROMOTER, 1), else_=0)),
            func.sum(case((Survey.nps <= DETRACTOR, 1), else_=0)),
            func.avg(Survey.csi),
            func.count(Survey.csi),
        )
        .where(Survey.answered_at >= start, Survey.answered_at < end, Survey.store_id.in_(ids))
        .where(Survey.kind == SERVICE)  # CSI is after-sales; a delivery survey is the SSI's
        .group_by(Survey.store_id)
    )
    for store_id, n, rated, promoters, detractors, csi, scored in db.session.execute(stmt):
        row = found[store_id]
        row.surveys, row.nps_answers, row.csi_answers = n, rated, scored
        if rated:
            row.nps = 100.0 * (int(promoters or 0) - int(detractors or 0)) / rated
        row.csi = float(csi) if csi is not None else None


def _complaints(found: dict, ids: list, start: datetime, end: datetime) -> None:
    stmt = (
        select(Complaint.store_id, func.count(Complaint.id))
        .where(
            Complaint.created_at >= start, Complaint.created_at < end, Complaint.store_id.in_(ids)
        )
        .group_by(Complaint.store_id)
    )
    for store_id, n in db.session.execute(stmt):
        found[store_id].complaints = n


def _sales(found: dict, ids: list, start: datetime, end: datetime) -> None:
    stmt = (
        select(Order.store_id, func.sum(Order.total_fen - Order.refunded_fen), func.count(Order.id))
        .where(
            Order.paid_at >= start,
            Order.paid_at < end,
            Order.status != CANCELLED,
            Order.store_id.in_(ids),
        )
        .group_by(Order.store_id)
    )
    for store_id, fen, n in db.session.execute(stmt):
        found[store_id].sales_fen, found[store_id].orders = int(fen or 0), n


def _vetting(found: dict, ids: list, start: datetime, end: datetime) -> None:
    stmt = (
        select(UsedCarRequest.store_id, func.count(UsedCarTransition.id))
        .join(UsedCarRequest, UsedCarRequest.id == UsedCarTransition.request_id)
        .where(
            UsedCarTransition.to_status.in_(VETTED),
            UsedCarTransition.at >= start,
            UsedCarTransition.at < end,
            UsedCarRequest.store_id.in_(ids),
        )
        .group_by(UsedCarRequest.store_id)
    )
    for store_id, n in db.session.execute(stmt):
        found[store_id].vetted = n


def median(values: list[float | None]) -> float | None:
    """Return the group median of the stores' values that have one (None when none has)."""
    present = [v for v in values if v is not None]
    return float(statistics.median(present)) if present else None
