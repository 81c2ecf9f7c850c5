"""The group's figures per store: bookings and show rate, time to first contact, lead
conversion, CSI and NPS, complaints, shop sales and used-car vetting, over one period.

Each source of figures (bookings, leads, surveys, ...) is a grouped SELECT per store; all of
them go to the database as one UNION ALL, over the stores the viewer compares
(portal/access.py); the figures are counts, rates and medians, never a person's record. The
same sources, grouped by store and local day, fill the daily rollups (admin/daily_stats.py).

A manufacturer's officer compares one brand: every source is counted raw, of the rows of their
brand (access.compared_brand_rows on the brand each row keeps), and their sales are the
brand's new-car sales orders, since a shop order is of no brand (brand_sources).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Select, case, cast, func, literal, select, union_all

from crm.models import WON, Lead
from crm.pipeline_models import SalesOrder
from crm.quality_models import SERVICE, Complaint, Survey
from crm.quality_stats import DETRACTOR, PROMOTER
from portal import access
from portal.extensions import db
from portal.models import Booking, Store, UsedCarRequest, UsedCarTransition
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
    """One store's figures over the period (None: nothing to measure).

    Every field but contact_minutes is a count or a sum, so that days add up (the daily
    rollups); the rates, NPS and CSI are computed from them."""

    store_id: int
    name: str
    bookings: int = 0
    came: int = 0
    no_show: int = 0
    contact_minutes: float | None = None  # median time to first contact of new leads
    contact_as_of: datetime | None = None  # when the worker took it (None: taken now)
    contacted: int = 0  # the new leads that median is taken over
    contact_seconds: int = 0  # their seconds to first contact, summed
    leads: int = 0
    won: int = 0
    surveys: int = 0
    nps_answers: int = 0
    promoters: int = 0
    detractors: int = 0
    csi_sum: int = 0
    csi_answers: int = 0
    complaints: int = 0
    sales_fen: int = 0
    orders: int = 0  # the paid orders of sales_fen
    vetted: int = 0

    def add(self, counts) -> None:
        """Add counts (a mapping of field to number, None as 0) to the store's figures."""
        for name, value in counts.items():
            setattr(self, name, getattr(self, name) + int(value or 0))

    @property
    def show_rate(self) -> float | None:
        """Return the share of due cars that came (of those that came or did not show)."""
        due = self.came + self.no_show
        return self.came / due if due else None

    @property
    def conversion(self) -> float | None:
        """Return the share of the period's new leads that are won."""
        return self.won / self.leads if self.leads else None

    @property
    def nps(self) -> float | None:
        """Return the net promoter score: promoters less detractors, per cent of answers."""
        if not self.nps_answers:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.nps_answers

    @property
    def csi(self) -> float | None:
        """Return the mean CSI score of the answered surveys that have one."""
        return self.csi_sum / self.csi_answers if self.csi_answers else None


@dataclass(frozen=True)
class Source:
    """Rows that count towards stores' figures: the time that places a row in a period (and
    on a day), its store, the figures it gives (name -> aggregate) and its own conditions."""

    at: Any
    store: Any
    figures: dict[str, Any]
    where: tuple = ()
    join: tuple = ()  # (entity, onclause) when the store is on another table
    brand: Any = None  # the rows' brand id column; None: the rows are of no one brand


def _count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def _contact_seconds():
    arrived = func.coalesce(Lead.arrived_at, Lead.created_at)  # an import counts from then
    return cast(func.round(days_between(arrived, Lead.first_contact_at) * 86400), BigInteger)


def sources() -> list[Source]:
    """Return the rows the dashboard counts, one grouped statement each."""
    return [
        Source(
            Booking.created_at,
            Booking.store_id,
            {
                "bookings": func.count(Booking.id),
                "came": _count_if(Booking.status.in_(CAME_IN)),
                "no_show": _count_if(Booking.status == NO_SHOW),
            },
            brand=Booking.brand_id,  # the car's brand when it was booked
        ),
        Source(
            Lead.created_at,
            Lead.store_id,
            {
                "leads": func.count(Lead.id),
                "won": _count_if(Lead.state == WON),
                "contacted": func.count(Lead.first_contact_at),
                "contact_seconds": func.sum(_contact_seconds()),
            },
            brand=Lead.brand_id,
        ),
        Source(
            Survey.answered_at,
            Survey.store_id,
            {
                "surveys": func.count(Survey.id),
                "nps_answers": func.count(Survey.nps),
                "promoters": _count_if(Survey.nps >= PROMOTER),
                "detractors": _count_if(Survey.nps <= DETRACTOR),
                "csi_sum": func.sum(Survey.csi),
                "csi_answers": func.count(Survey.csi),
            },
            where=(Survey.kind == SERVICE,),  # CSI is after-sales; a delivery survey is the SSI's
            brand=Survey.brand_id,
        ),
        Source(
            Complaint.created_at,
            Complaint.store_id,
            {"complaints": func.count(Complaint.id)},
            brand=Complaint.brand_id,
        ),
        Source(
            Order.paid_at,
            Order.store_id,
            {"sales_fen": func.sum(Order.total_fen - Order.refunded_fen), "orders": func.count()},
            where=(Order.status != CANCELLED,),
        ),
        Source(
            UsedCarTransition.at,
            UsedCarRequest.store_id,
            {"vetted": func.count(UsedCarTransition.id)},
            where=(UsedCarTransition.to_status.in_(VETTED),),
            join=(UsedCarRequest, UsedCarRequest.id == UsedCarTransition.request_id),
            brand=UsedCarRequest.brand_id,
        ),
    ]


def brand_sources() -> list[Source]:
    """Return the rows a brand's officer counts: the sources of their brand's rows, with the
    brand's new-car sales orders signed in the period as the sales, in place of the shop's
    orders (which are of no brand)."""
    sales = Source(
        SalesOrder.signed_at,
        SalesOrder.store_id,
        {"sales_fen": func.sum(SalesOrder.total_fen), "orders": func.count(SalesOrder.id)},
        brand=SalesOrder.brand_id,
    )
    return [sales if source.at is Order.paid_at else source for source in sources()]


def viewer_sources(viewer) -> list[Source]:
    """Return the sources the viewer's figures are counted from."""
    return brand_sources() if access.compares_one_brand(viewer) else sources()


def counted(
    source: Source, names, ids, start: datetime, end: datetime, *group, viewer=None
) -> Select:
    """Select store_id, the group columns and the figures `names` (0 for those the source does
    not give) of the source's rows in [start, end) of the stores ids (a list or a subquery),
    grouped by store and the group columns; of the rows the viewer compares, when given."""
    stmt = select(
        source.store.label("store_id"),
        *group,
        *(source.figures.get(name, literal(0)).label(name) for name in names),
    )
    if source.join:
        stmt = stmt.select_from(source.at.table).join(*source.join)
    stmt = stmt.where(source.at >= start, source.at < end, source.store.in_(ids), *source.where)
    if viewer is not None:
        stmt = access.compared_brand_rows(stmt, source.brand, viewer)
    return stmt.group_by(source.store, *group)


def counted_together(
    sources_, names, ids, start: datetime, end: datetime, day=None, viewer=None
) -> Select:
    """Select store_id (and the local day, when day(at) gives it) and the figures `names` of
    every source, summed per store (and day): one statement for all of them."""
    parts = [
        counted(
            s, names, ids, start, end, *([day(s.at).label("day")] if day else []), viewer=viewer
        )
        for s in sources_
    ]
    every = union_all(*parts).subquery("every")
    keys = [every.c.store_id, *([every.c.day] if day else [])]
    sums = (func.coalesce(func.sum(every.c[n]), 0).cast(BigInteger).label(n) for n in names)
    return select(*keys, *sums).group_by(*keys)


def figures(viewer, start: datetime, end: datetime) -> list[StoreFigures]:
    """Return the figures of every store the viewer compares, by store name, counted from the
    raw rows of [start, end)."""
    found = _compared(viewer)
    if found:
        add_counted(found, list(found), start, end, viewer)
        contact_median(found, list(found), start, end, viewer)
    return list(found.values())


def _compared(viewer) -> dict[int, StoreFigures]:
    stores = db.session.execute(
        access.compared_stores(select(Store.id, Store.name), Store.id, viewer).order_by(Store.name)
    ).all()
    return {s.id: StoreFigures(s.id, s.name) for s in stores}


def add_counted(found: dict, ids: list, start: datetime, end: datetime, viewer=None) -> None:
    """Add every source's figures of [start, end) of the stores ids to found: of the rows the
    viewer compares, when given (the rollup counts every row)."""
    counted_from = viewer_sources(viewer) if viewer is not None else sources()
    names = [n for source in counted_from for n in source.figures]
    stmt = counted_together(counted_from, names, ids, start, end, viewer=viewer)
    for row in db.session.execute(stmt).mappings():
        found[row["store_id"]].add({n: row[n] for n in names})


def contact_median(found: dict, ids: list, start: datetime, end: datetime, viewer) -> None:
    """Set each store's median minutes to first contact of the leads created in [start, end)
    that the viewer compares: a median does not add up over days, so it is taken over the raw
    leads (or read from the worker's medians of the period: admin/daily_stats.py)."""
    for store_id, middle in contact_medians(ids, start, end, viewer).items():
        found[store_id].contact_minutes = middle


def contact_medians(
    ids: list, start: datetime, end: datetime, viewer=None
) -> dict[int, float | None]:
    """Return {store id: median minutes to first contact} of the leads created in
    [start, end) of these stores: those the viewer compares, or every brand's (viewer None,
    the worker). Stores without a contacted lead are left out."""
    arrived = func.coalesce(Lead.arrived_at, Lead.created_at)  # an import counts from then
    minutes = days_between(arrived, Lead.first_contact_at) * 1440
    base = select(Lead.id).where(
        Lead.created_at >= start,
        Lead.created_at < end,
        Lead.first_contact_at.is_not(None),
        Lead.store_id.in_(ids),
    )
    if viewer is not None:
        base = access.compared_brand_rows(base, Lead.brand_id, viewer)
    ranked = booking_stats.with_median(minutes, base, Lead.store_id)
    stmt = select(ranked.c.store_id, booking_stats.median_of(ranked)).group_by(ranked.c.store_id)
    return {
        store_id: float(middle) if middle is not None else None
        for store_id, middle in db.session.execute(stmt)
    }


def median(values: list[float | None]) -> float | None:
    """Return the group median of the stores' values that have one (None when none has)."""
    present = [v for v in values if v is not None]
    return float(statistics.median(present)) if present else None
