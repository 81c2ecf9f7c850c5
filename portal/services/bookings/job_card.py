"""The job card of a booking: its technicians, labour lines and parts lines, and the service
record's items they become at completion."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from portal import access
from portal.errors import NotFound, ValidationError
from portal.extensions import db
from portal.models import Booking, BookingTechnician, JobLabourLine, JobPartLine, User
from portal.models.accounts import TECHNICIAN
from portal.models.bookings import ACCEPTED, CHECKED_IN, IN_PROGRESS, READY
from portal.models.jobcards import MAX_HOURS_TENTHS
from portal.services import audit
from portal.services.inspections import part_names

# A job card changes until the job is completed (or otherwise closed).
OPEN = (ACCEPTED, CHECKED_IN, IN_PROGRESS, READY)
MAX_QUANTITY = 999
MAX_FEN = 10_000_000_00  # ten million yuan: no line of a car repair costs more


def store_technicians(store_id: int) -> list[User]:
    """Return the active technicians of a store, by name."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == TECHNICIAN, User.store_id == store_id, User.is_active.is_(True))
            .order_by(User.name, User.id)
        )
    )


def _editable(staff: User, booking: Booking) -> None:
    access.require_store(staff, booking.store_id, _("Booking not found."))
    if booking.status not in OPEN:
        raise ValidationError(_("The job card of a closed job cannot change."))


def _technician(booking: Booking, technician_id: int | None) -> User:
    """Return the technician of the booking's store with this id, else a ValidationError."""
    tech = db.session.get(User, technician_id) if technician_id else None
    if (
        tech is None
        or tech.role != TECHNICIAN
        or tech.store_id != booking.store_id
        or not tech.is_active
    ):
        raise ValidationError(_("Choose a technician of this store."), field="technician")
    return tech


def assign(staff: User, booking: Booking, technician_id: int | None) -> None:
    """Assign a technician of the booking's store to its job; assigning twice is one."""
    _editable(staff, booking)
    tech = _technician(booking, technician_id)
    try:
        with db.session.begin_nested():  # a colleague assigning the same one at once: one row
            db.session.add(BookingTechnician(booking_id=booking.id, technician_id=tech.id))
    except IntegrityError:
        return
    audit.record("technician_assigned", actor=staff, target=booking, technician_id=tech.id)


def unassign(staff: User, booking: Booking, technician_id: int | None) -> None:
    """Take a technician off the job (their labour lines stay theirs)."""
    _editable(staff, booking)
    db.session.execute(
        delete(BookingTechnician).where(
            BookingTechnician.booking_id == booking.id,
            BookingTechnician.technician_id == (technician_id or 0),
        )
    )
    db.session.expire(booking, ["assignments", "technicians"])


def parse_hours(raw: str | None) -> int:
    """Return hours typed as "1.5" (one decimal) as tenths of an hour, 1 to 999."""
    text = (raw or "").strip().replace("，", ".").replace(",", ".")
    if not re.fullmatch(r"\d{1,3}(\.\d)?", text):
        raise ValidationError(_("Hours are a number like 1.5 (one decimal)."), field="hours")
    tenths = int(Decimal(text) * 10)
    if not 1 <= tenths <= MAX_HOURS_TENTHS:
        raise ValidationError(_("Hours are between 0.1 and 99.9."), field="hours")
    return tenths


def _fen(value: int, field: str) -> int:
    if not 0 <= value <= MAX_FEN:
        raise ValidationError(_("Prices are between 0 and ¥10,000,000."), field=field)
    return value


def add_labour(
    staff: User,
    booking: Booking,
    *,
    operation: str,
    hours_tenths: int,
    rate_fen: int,
    technician_id: int | None,
) -> JobLabourLine:
    """Add a labour line: the operation, its hours, the hourly rate and who does it."""
    _editable(staff, booking)
    tech = _technician(booking, technician_id)
    return new_labour(staff, booking, operation, hours_tenths, rate_fen, tech)


def new_labour(
    author: User, booking: Booking, operation: str, hours_tenths: int, rate_fen: int, tech: User
) -> JobLabourLine:
    """Add a checked labour line to an open job card (the caller checked who may add it)."""
    operation = (operation or "").strip()
    if not operation:
        raise ValidationError(_("Name the operation."), field="operation")
    if not 1 <= hours_tenths <= MAX_HOURS_TENTHS:
        raise ValidationError(_("Hours are between 0.1 and 99.9."), field="hours")
    line = JobLabourLine(
        booking_id=booking.id,
        operation=operation[:200],
        hours_tenths=hours_tenths,
        rate_fen=_fen(rate_fen, "rate"),
        technician_id=tech.id,
        added_by_id=author.id,
    )
    db.session.add(line)
    db.session.flush()
    return line


def add_part(
    staff: User,
    booking: Booking,
    *,
    part_no: str,
    description: str,
    quantity: int,
    unit_price_fen: int,
    product_id: int | None = None,
) -> JobPartLine:
    """Add a parts line: the matched shop product (by its part number), or the typed part no."""
    _editable(staff, booking)
    return new_part(staff, booking, part_no, description, quantity, unit_price_fen, product_id)


def new_part(
    author: User,
    booking: Booking,
    part_no: str,
    description: str,
    quantity: int,
    unit_price_fen: int,
    product_id: int | None,
) -> JobPartLine:
    """Add a checked parts line to an open job card (the caller checked who may add it)."""
    part_no, description = (part_no or "").strip().upper()[:40], (description or "").strip()
    if not description:
        raise ValidationError(_("Describe the part."), field="description")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError(_("A quantity is a whole number from 1 to 999."), field="quantity")
    line = JobPartLine(
        booking_id=booking.id,
        product_id=product_id,
        part_no=part_no,
        description=description[:200],
        quantity=quantity,
        unit_price_fen=_fen(unit_price_fen, "price"),
        added_by_id=author.id,
    )
    db.session.add(line)
    db.session.flush()
    return line


def remove_line(staff: User, booking: Booking, kind: str, line_id: int | None) -> None:
    """Remove a labour or parts line of the job card."""
    _editable(staff, booking)
    model = {"labour": JobLabourLine, "part": JobPartLine}.get(kind)
    line = db.session.get(model, line_id) if model and line_id else None
    if line is None or line.booking_id != booking.id:
        raise NotFound(_("This line is not on the job card."))
    db.session.delete(line)
    db.session.flush()
    db.session.expire(booking, ["labour_lines", "part_lines"])


def set_price(staff: User, booking: Booking, kind: str, line_id: int | None, fen: int) -> None:
    """Set a line's price: a labour line's hourly rate, a parts line's unit price (staff only:
    a technician's lines come without one)."""
    _editable(staff, booking)
    model = {"labour": JobLabourLine, "part": JobPartLine}.get(kind)
    line = db.session.get(model, line_id) if model and line_id else None
    if line is None or line.booking_id != booking.id:
        raise NotFound(_("This line is not on the job card."))
    if kind == "labour":
        line.rate_fen = _fen(fen, "rate")
    else:
        line.unit_price_fen = _fen(fen, "price")
    db.session.flush()
    audit.record("job_line_priced", actor=staff, target=booking, kind=kind, line_id=line.id)


def lock_card(booking: Booking) -> str:
    """Hold the booking's row until commit and return its status as committed now.

    Completion and a technician's new line both take this lock first, so a line cannot slip
    in between completion's check of the card and the job closing (SQLite: one writer)."""
    return db.session.scalar(
        select(Booking.status).where(Booking.id == booking.id).with_for_update()
    )


def unpriced_technician_lines(booking: Booking) -> list[str]:
    """Return the technicians' own lines still without a price, labour first, then parts."""
    technicians = select(User.id).where(User.role == TECHNICIAN)
    labour = db.session.scalars(
        select(JobLabourLine.operation)
        .where(
            JobLabourLine.booking_id == booking.id,
            JobLabourLine.rate_fen == 0,
            JobLabourLine.added_by_id.in_(technicians),
        )
        .order_by(JobLabourLine.id)
    ).all()
    parts = db.session.scalars(
        select(JobPartLine.description)
        .where(
            JobPartLine.booking_id == booking.id,
            JobPartLine.unit_price_fen == 0,
            JobPartLine.added_by_id.in_(technicians),
        )
        .order_by(JobPartLine.id)
    ).all()
    return [*labour, *parts]


def has_lines(booking: Booking) -> bool:
    """Return whether the booking has a job card with at least one line."""
    return bool(booking.labour_lines or booking.part_lines)


def card_total_fen(booking: Booking) -> int:
    """Return the job card's total in fen, with the owner's approved inspection lines."""
    return (
        sum(x.total_fen for x in booking.labour_lines)
        + sum(x.total_fen for x in booking.part_lines)
        + sum(x.price_fen for x in booking.job_lines)
    )


def approved_items(booking: Booking) -> list[dict]:
    """Return the owner's approved inspection lines as service record items: the work, priced
    at the approved price less the part's share, and the part (when it has one); both carry
    the item's maintenance code, so the schedule's statistics count them."""
    lines = booking.job_lines
    names = part_names([x.inspection_item.product_id for x in lines if x.inspection_item])
    items = []
    for line in lines:
        item = line.inspection_item
        code = item.plan_item_code if item is not None else None
        text = f"{line.description_zh} / {line.description_en}"[:200]
        product_id = item.product_id if item is not None and line.part_fen else None
        if line.labour_fen or product_id is None:
            items.append(
                {
                    "kind": "labour",
                    "description": text,
                    "quantity": 1,
                    "unit_price_fen": line.labour_fen,
                    "plan_item_code": code,
                }
            )
        if product_id is not None:
            sku, zh, en = names.get(product_id, ("", text, text))
            items.append(
                {
                    "kind": "part",
                    "description": f"{zh} / {en}"[:200] if zh != en else zh,
                    "part_no": sku,
                    "quantity": item.part_quantity,
                    "unit_price_fen": line.part_fen // item.part_quantity,
                    "product_id": product_id,
                    "plan_item_code": code,
                }
            )
    return items


def completion_items(booking: Booking) -> list[dict]:
    """Return the job card's lines as the service record's items (labour first, then parts).

    A labour line is one item priced hours x rate (rounded to the fen), its hours in the text."""
    items = [
        {
            "kind": "labour",
            "description": f"{line.operation} ({hours_label(line.hours_tenths)} h)",
            "quantity": 1,
            "unit_price_fen": line.total_fen,
            "technician_id": line.technician_id,
        }
        for line in booking.labour_lines
    ]
    items += [
        {
            "kind": "part",
            "description": line.description,
            "part_no": line.part_no,
            "quantity": line.quantity,
            "unit_price_fen": line.unit_price_fen,
            "product_id": line.product_id,
        }
        for line in booking.part_lines
    ]
    return items


def hours_label(tenths: int) -> str:
    """Return tenths of an hour as "1.5"."""
    return f"{tenths // 10}.{tenths % 10}"


class InvoiceLine(NamedTuple):
    kind: str  # "labour" or "part"
    description: str
    part_no: str
    quantity: int
    unit_price_fen: int

    @property
    def total_fen(self) -> int:
        return self.quantity * self.unit_price_fen


class Invoice(NamedTuple):
    """The owner's itemised bill: labour, then parts, in fen; final once the job is completed
    (then it is the service record's items), an estimate from the job lines before."""

    labour: list[InvoiceLine]
    parts: list[InvoiceLine]
    final: bool
    completed_at: datetime | None

    @property
    def labour_fen(self) -> int:
        return sum(x.total_fen for x in self.labour)

    @property
    def parts_fen(self) -> int:
        return sum(x.total_fen for x in self.parts)

    @property
    def total_fen(self) -> int:
        return self.labour_fen + self.parts_fen


def invoice(booking: Booking) -> Invoice:
    """Return the booking's itemised invoice, built from its job lines."""
    record = booking.record
    if record is not None:
        rows = [
            InvoiceLine(i.kind, i.description, i.part_no, i.quantity, i.unit_price_fen)
            for i in record.items
        ]
    else:
        rows = [
            InvoiceLine(
                i["kind"],
                i["description"],
                i.get("part_no") or "",
                i["quantity"],
                i["unit_price_fen"],
            )  # fmt: skip
            for i in completion_items(booking) + approved_items(booking)
        ]
    return Invoice(
        labour=[x for x in rows if x.kind == "labour"],
        parts=[x for x in rows if x.kind == "part"],
        final=record is not None,
        completed_at=record.completed_at if record is not None else None,
    )
