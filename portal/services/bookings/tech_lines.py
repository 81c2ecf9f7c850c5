"""A technician's own lines on the job card of a job assigned to them: labour (an operation and
its hours) and parts (a product of the shop's stock, or typed text that links to the product
when its first word is the product's part number).

Prices are not the technician's: a labour line comes without a rate and a typed part without
a price, for the advisor to set on the job card; a shop part carries its shop price. They may
remove only the lines they entered; a job not assigned to them does not exist for them.

portal never imports shop: products are found through app.extensions (shop.parts)."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from portal import access
from portal.errors import NotFound, ValidationError
from portal.extensions import db
from portal.models import Booking, JobLabourLine, JobPartLine, User
from portal.services import audit
from portal.services.bookings import job_card
from portal.services.inspections.parts import PARTS_STOCK


def assigned_job(tech: User, booking_id: int | None) -> Booking:
    """Return the job of this id if it is assigned to the technician, else NotFound."""
    stmt = access.assigned_jobs(select(Booking), tech).where(Booking.id == (booking_id or 0))
    booking = db.session.scalar(stmt)
    if booking is None:
        raise NotFound(_("Booking not found."))
    return booking


def _writable(tech: User, booking: Booking) -> None:
    """Refuse a job not assigned to the technician (NotFound) or closed (ValidationError)."""
    assigned_job(tech, booking.id)
    # The status as committed, under the row lock completion also takes: a job completed
    # meanwhile refuses the line instead of closing with it unpriced.
    if job_card.lock_card(booking) not in job_card.OPEN:
        raise ValidationError(_("The job card of a closed job cannot change."))


def add_labour(tech: User, booking: Booking, *, operation: str, hours_tenths: int) -> JobLabourLine:
    """Add the technician's labour line (no rate: the advisor prices it)."""
    _writable(tech, booking)
    line = job_card.new_labour(tech, booking, operation, hours_tenths, 0, tech)
    audit.record("job_line_added", actor=tech, target=booking, kind="labour", line_id=line.id)
    return line


def _product(store_id: int, product_id: int | None, text: str) -> int | None:
    """Return the product the technician picked (it must be on sale in the job's store), or the
    one whose part number is the first word of the typed text, or None (a typed part)."""
    stock = current_app.extensions.get(PARTS_STOCK)
    if product_id is not None:
        if stock is None or product_id not in stock.in_stock(store_id, [product_id]):
            raise ValidationError(_("Choose a part from the stock list."), field="product")
        return product_id
    if stock is None or not text:
        return None
    match = stock.product_for_part_no(text.split()[0])
    return match.id if match is not None else None


def add_part(
    tech: User, booking: Booking, *, product_id: int | None, text: str, quantity: int
) -> JobPartLine:
    """Add the technician's parts line: a shop product at its shop price, else the typed part
    without a price (the advisor prices it)."""
    _writable(tech, booking)
    text = (text or "").strip()
    product_id = _product(booking.store_id, product_id, text)
    if product_id is None:
        if not text:
            raise ValidationError(_("Describe the part."), field="description")
        line = job_card.new_part(tech, booking, "", text, quantity, 0, None)
    else:
        stock = current_app.extensions[PARTS_STOCK]
        sku, zh, en, price_fen = stock.describe(product_id)
        name = f"{zh} / {en}" if en and en != zh else zh
        line = job_card.new_part(tech, booking, sku, name, quantity, price_fen, product_id)
    audit.record("job_line_added", actor=tech, target=booking, kind="part", line_id=line.id)
    return line


def remove_line(tech: User, booking: Booking, kind: str, line_id: int | None) -> None:
    """Remove a line the technician entered; another's line stays (ValidationError)."""
    _writable(tech, booking)
    model = {"labour": JobLabourLine, "part": JobPartLine}.get(kind)
    line = db.session.get(model, line_id) if model and line_id else None
    if line is None or line.booking_id != booking.id:
        raise NotFound(_("This line is not on the job card."))
    if line.added_by_id != tech.id:
        raise ValidationError(_("You can remove only the lines you entered."))
    db.session.delete(line)
    db.session.flush()
    db.session.expire(booking, ["labour_lines", "part_lines"])
