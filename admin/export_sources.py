"""What each exportable back-office list holds: its rows (store-scoped) and its columns.

A source's rows come through portal/access.py exactly as on the list itself: staff see their
store's rows, admins every store's, and a colleague's customer's phone only masked. Times are
shown in the row's store zone, money in yuan."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from admin.labels import code_label
from crm import leads as crm_leads
from crm.models import Lead
from portal import access
from portal.extensions import db
from portal.models import Booking, Store, User, Vehicle
from portal.models.accounts import OWNER
from portal.timeutil import to_local
from shop.models import Order

BATCH = 1000  # rows per keyset page: memory stays flat however long the list


@dataclass(frozen=True)
class Source:
    """One exportable list: its name, title, columns and how to read a row."""

    name: str
    title: object
    model: type
    store_column: object
    headers: tuple
    loads: tuple
    cells: Callable  # (viewer, row) -> list of cell values
    where: tuple = ()
    # A source read as plain columns (no ORM objects: a million customers pass through) names
    # them here; its cells then take (viewer, row, lookups), the lookups made once per batch.
    columns: tuple = ()
    lookups: Callable | None = None  # (rows) -> what the batch's cells read besides the row


def local_time(value: datetime | None, store) -> str:
    """Return a UTC moment as the row's store reads it (YYYY-MM-DD HH:MM)."""
    if value is None:
        return ""
    zone = store.timezone if store is not None else "Asia/Shanghai"
    return to_local(value, zone).strftime("%Y-%m-%d %H:%M")


def yuan(fen: int | None) -> str:
    """Return integer fen as a yuan amount with two decimals."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def seen_phone(viewer, customer) -> str:
    """Return a customer's phone as this viewer may see it; masked unless the rule says whole."""
    if customer is None:
        return ""
    return access.customer_phone(viewer, customer) or access.mask_phone(customer.phone)


CUSTOMER_COLUMNS = (
    User.id,
    User.name,
    User.phone,
    User.email,
    User.store_id,
    User.advisor_id,
    User.created_at,
)


@dataclass(frozen=True)
class _Place:
    """What a row's cells read of its store (a store for local_time)."""

    name: str
    timezone: str


def _customer_lookups(rows) -> dict:
    """Return the stores, advisors' names and car counts the batch's customers need: three
    small queries per batch instead of an ORM object per customer, store, advisor and car."""
    ids = [r.id for r in rows]
    store_ids = {r.store_id for r in rows if r.store_id is not None}
    advisor_ids = {r.advisor_id for r in rows if r.advisor_id is not None}
    stores = {
        sid: _Place(name, tz)
        for sid, name, tz in db.session.execute(
            select(Store.id, Store.name, Store.timezone).where(Store.id.in_(store_ids))
        )
    }
    advisors = dict(
        db.session.execute(select(User.id, User.name).where(User.id.in_(advisor_ids))).all()
    )
    cars = dict(
        db.session.execute(
            select(Vehicle.owner_id, func.count())
            .where(Vehicle.owner_id.in_(ids))
            .group_by(Vehicle.owner_id)
        ).all()
    )
    return {"stores": stores, "advisors": advisors, "cars": cars}


def _customer_cells(viewer, u, found: dict) -> list:
    phone = seen_phone(viewer, u)
    masked = phone != (u.phone or "")
    store = found["stores"].get(u.store_id)
    return [
        u.id,
        u.name,
        phone,
        "" if masked else (u.email or ""),  # a masked customer's email would give them away
        store.name if store else "",
        found["advisors"].get(u.advisor_id, ""),
        found["cars"].get(u.id, 0),
        local_time(u.created_at, store),
    ]


def _lead_cells(viewer, lead: Lead) -> list:
    return [
        lead.id,
        local_time(lead.created_at, lead.store),
        lead.customer.name,
        crm_leads.lead_phone(viewer, lead),
        str(crm_leads.SOURCE_LABELS.get(lead.source, lead.source)),
        lead.model_interest,
        yuan(lead.budget_fen),
        str(crm_leads.STAGE_LABELS.get(lead.stage, lead.stage)),
        str(crm_leads.STATE_LABELS.get(lead.state, lead.state)),
        lead.advisor.name if lead.advisor else "",
        lead.store.name,
    ]


def _booking_cells(viewer, b: Booking) -> list:
    return [
        b.id,
        local_time(b.slot_start, b.store),
        code_label(b),
        b.owner.name,
        seen_phone(viewer, b.owner),
        b.vehicle.plate if b.vehicle else "",
        b.advisor.name if b.advisor else "",
        b.store.name,
    ]


def _order_cells(viewer, o: Order) -> list:
    return [
        o.number,
        local_time(o.created_at, o.store),
        code_label(o),
        o.user.name,
        seen_phone(viewer, o.user),
        yuan(o.total_fen),
        yuan(o.refunded_fen),
        local_time(o.paid_at, o.store),
        o.store.name,
    ]


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "customers",
            _l("Customers"),
            User,
            User.store_id,
            (
                _l("Record ID"),
                _l("Name"),
                _l("Phone number"),
                _l("Email"),
                _l("Store"),
                _l("Advisor"),
                _l("Vehicles"),
                _l("Registered on"),
            ),  # fmt: skip
            (),
            _customer_cells,
            (User.role == OWNER,),
            CUSTOMER_COLUMNS,
            _customer_lookups,
        ),
        Source(
            "leads",
            _l("Leads"),
            Lead,
            Lead.store_id,
            (
                _l("Record ID"),
                _l("Created"),
                _l("Customer"),
                _l("Phone number"),
                _l("Source"),
                _l("Model of interest"),
                _l("Budget (yuan)"),
                _l("Stage"),
                _l("Lead state"),
                _l("Advisor"),
                _l("Store"),
            ),  # fmt: skip
            (selectinload(Lead.customer), selectinload(Lead.advisor), selectinload(Lead.store)),
            _lead_cells,
        ),
        Source(
            "bookings",
            _l("Bookings"),
            Booking,
            Booking.store_id,
            (
                _l("Record ID"),
                _l("Booked slot"),
                _l("Status"),
                _l("Customer"),
                _l("Phone number"),
                _l("Plate"),
                _l("Advisor"),
                _l("Store"),
            ),  # fmt: skip
            (
                selectinload(Booking.owner),
                selectinload(Booking.vehicle),
                selectinload(Booking.advisor),
                selectinload(Booking.store),
            ),  # fmt: skip
            _booking_cells,
        ),
        Source(
            "orders",
            _l("Shop orders"),
            Order,
            Order.store_id,
            (
                _l("Order number"),
                _l("Created"),
                _l("Status"),
                _l("Customer"),
                _l("Phone number"),
                _l("Total (yuan)"),
                _l("Refunded (yuan)"),
                _l("Paid at"),
                _l("Store"),
            ),  # fmt: skip
            (selectinload(Order.user), selectinload(Order.store)),
            _order_cells,
        ),
    )
}


def scoped(source: Source, viewer) -> Select:
    """Return the select of the source's rows this viewer may see (no order, no limit)."""
    stmt = select(source.model).where(*source.where)
    return access.store_scope(stmt, source.store_column, viewer)


def count_rows(source: Source, viewer, limit: int | None = None) -> int:
    """Return how many rows the viewer's export has (counting at most limit + 1 rows)."""
    ids = scoped(source, viewer).with_only_columns(source.model.id)
    if limit is not None:
        ids = ids.limit(limit + 1)
    return db.session.scalar(select(func.count()).select_from(ids.subquery()))


def header_row(source: Source) -> list[str]:
    """Return the column titles in the current language."""
    return [str(h) for h in source.headers]


def rows(source: Source, viewer, release: bool = False) -> Iterator[list]:
    """Yield every row the viewer may see, as cells, in id order, a keyset batch at a time;
    with release, each batch leaves the session once written (the worker's long exports)."""
    last = 0
    while True:
        stmt = (
            scoped(source, viewer)
            .where(source.model.id > last)
            .order_by(source.model.id)
            .limit(BATCH)
        )
        if source.columns:
            batch = db.session.execute(stmt.with_only_columns(*source.columns)).all()
            found = source.lookups(batch) if batch else {}
            cells = [source.cells(viewer, row, found) for row in batch]
        else:
            batch = db.session.scalars(stmt.options(*source.loads)).all()
            cells = [source.cells(viewer, record) for record in batch]
        if not batch:
            return
        yield from cells
        last = batch[-1].id
        if release and not source.columns:  # a million rows pass through; none of them (nor
            db.session.expunge_all()  # their relations) stays; plain columns never enter it
