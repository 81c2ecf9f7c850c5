"""The shop parts of inspection items: shown as available or not before the owner decides,
reserved from stock when an item is approved (on order when none is left), released when an
approved line is withdrawn, and used when the job is completed.

portal never imports shop: the shop's blueprint offers its stock functions in
app.extensions (shop.parts.PARTS_STOCK). Without the shop nothing is reserved."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from portal import access
from portal.errors import Conflict, NotFound, ValidationError
from portal.extensions import db
from portal.models import Booking, Inspection, InspectionItem, InspectionUptake, JobLine, User
from portal.models.inspections import APPROVED, DECLINED, ON_ORDER, RELEASED, RESERVED, USED
from portal.services import audit
from portal.timeutil import now

PARTS_STOCK = "m4s_parts_stock"  # the key shop.parts registers under (a test compares)

PART_STATE_LABELS = {
    RESERVED: _l("Part reserved"),
    ON_ORDER: _l("Parts not available: on order"),
    RELEASED: _l("Part released"),
    USED: _l("Part used"),
}


def part_state_label(state: str | None) -> str:
    """Return the translated text of an approved item's part state ("" for none)."""
    return str(PART_STATE_LABELS.get(state or "", ""))


def _stock():
    return current_app.extensions.get(PARTS_STOCK)


def short_of_stock(inspection: Inspection, items: list[InspectionItem] | None = None) -> set[int]:
    """Return the ids of undecided items (of all, or of those given) whose part is not in
    the stock of the job's store now (one query)."""
    stock = _stock()
    items = inspection.recommendations if items is None else items
    waiting = [i for i in items if i.product_id and i.decision != DECLINED]
    if stock is None or not waiting:
        return set()
    store_id = inspection.booking.store_id
    left = stock.in_stock(store_id, sorted({i.product_id for i in waiting}))
    return {
        i.id
        for i in waiting
        if i.decision != APPROVED and left.get(i.product_id, 0) < i.part_quantity
    }


def reserve(item: InspectionItem, line: JobLine) -> None:
    """Reserve the approved item's part from its job's store's stock, else mark it on order
    (units at another store never count); price the line's parts share at the part's shop
    price (never more than the price the owner approved)."""
    stock = _stock()
    if stock is None or item.product_id is None:
        return
    _sku, _zh, _en, unit_fen = stock.describe(item.product_id)
    line.part_fen = min(unit_fen, item.price_fen // item.part_quantity) * item.part_quantity
    booking = item.inspection.booking
    note = f"booking #{booking.id} inspection item #{item.id}"
    got = stock.reserve(booking.store_id, item.product_id, item.part_quantity, note)
    item.part_state = RESERVED if got else ON_ORDER


def release(item: InspectionItem) -> bool:
    """Give back the item's reserved part (once); True if this call gave it back."""
    was = item.part_state
    if was not in (RESERVED, ON_ORDER):
        return False
    done = db.session.execute(
        update(InspectionItem)
        .where(InspectionItem.id == item.id, InspectionItem.part_state == was)
        .values(part_state=RELEASED)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return False
    stock = _stock()
    if was == RESERVED and stock is not None:
        booking = item.inspection.booking
        note = f"booking #{booking.id} inspection item #{item.id} withdrawn"
        stock.release(booking.store_id, item.product_id, item.part_quantity, note)
    db.session.refresh(item)
    return was == RESERVED


def withdraw(staff: User, booking: Booking, line_id: int | None) -> InspectionItem:
    """Take an approved inspection line off the job (the owner declined it after all): the
    item becomes declined, its reserved part goes back to stock, once."""
    access.require_store(staff, booking.store_id, _("Booking not found."))
    if booking.is_terminal:
        raise ValidationError(_("The job card of a closed job cannot change."))
    line = db.session.get(JobLine, line_id) if line_id else None
    if line is None or line.booking_id != booking.id or line.inspection_item_id is None:
        raise NotFound(_("This line is not on the job card."))
    item = line.inspection_item
    done = db.session.execute(
        update(InspectionItem)
        .where(InspectionItem.id == item.id, InspectionItem.decision == APPROVED)
        .values(decision=DECLINED, decided_at=now())
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise Conflict(_("A colleague changed this line just now."))
    release(item)  # the product row before the counters, in the order an approval takes them
    # The owner's decision counted as approved; it now counts as declined.
    db.session.execute(
        update(InspectionUptake)
        .where(
            InspectionUptake.item_key == item.uptake_key,
            InspectionUptake.severity == item.severity,
            InspectionUptake.approved > 0,
        )
        .values(approved=InspectionUptake.approved - 1)
    )
    db.session.delete(line)
    db.session.flush()
    db.session.expire(booking, ["job_lines"])
    db.session.refresh(item)
    audit.record("inspection_line_withdrawn", actor=staff, target=booking, item_id=item.id)
    return item


def mark_used(booking: Booking) -> None:
    """Record that the job used the parts reserved for its approved items."""
    items = select(InspectionItem.id).join(Inspection).where(Inspection.booking_id == booking.id)
    db.session.execute(
        update(InspectionItem)
        .where(InspectionItem.id.in_(items), InspectionItem.part_state == RESERVED)
        .values(part_state=USED)
        .execution_options(synchronize_session=False)
    )


def part_names(product_ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """Return each product's (SKU, Chinese name, English name), for job lines and pages."""
    stock = _stock()
    if stock is None:
        return {}
    return {pid: stock.describe(pid)[:3] for pid in sorted(set(product_ids) - {None})}


def waiting_for_parts(bookings: list[Booking]) -> set[int]:
    """Return the ids of the bookings whose car has an approved inspection line still on order
    (on this booking's inspection or an earlier one of the same car); one query."""
    vehicles = {b.vehicle_id for b in bookings}
    if not vehicles:
        return set()
    waiting = set(
        db.session.scalars(
            select(Booking.vehicle_id)
            .join(Inspection, Inspection.booking_id == Booking.id)
            .join(InspectionItem, InspectionItem.inspection_id == Inspection.id)
            .where(
                Booking.vehicle_id.in_(sorted(vehicles)),
                InspectionItem.part_state == ON_ORDER,
                InspectionItem.decision == APPROVED,
            )
            .distinct()
        )
    )
    return {b.id for b in bookings if b.vehicle_id in waiting}
