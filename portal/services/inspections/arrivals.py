"""Parts arriving at a store for approved inspection lines that were on order: the stock
received is reserved for the store's waiting lines, oldest approval first, and the advisor and
the owner are told.

Called by every shop stock change that puts units on the shelf (shop.stock: a delivery, a
count, a refund's goods, an order's hold released or expired, a job's reservation given back)
after the units are there, in the same transaction. The store's row of the product is locked by
the stock write that raised it, and an approval that found the part short holds the same lock
until it commits (shop.parts.reserve), so a line approved during an arrival is either filled by
it or sees the new stock itself."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import Booking, Inspection, InspectionItem, User
from portal.models.bookings import TERMINAL
from portal.models.inspections import APPROVED, ON_ORDER, RESERVED
from portal.services import audit
from portal.services.inspections.parts import PARTS_STOCK
from portal.services.notify import notify

FILL_LIMIT = 200  # waiting lines looked at per arrival; a bigger backlog fills on the next one


def _waiting(store_id: int, product_id: int) -> list[InspectionItem]:
    """Return the store's open jobs' approved lines waiting for this part, oldest approval first,
    locked; a line another transaction holds is skipped (it is being withdrawn or filled)."""
    return list(
        db.session.scalars(
            select(InspectionItem)
            .join(Inspection, Inspection.id == InspectionItem.inspection_id)
            .join(Booking, Booking.id == Inspection.booking_id)
            .where(
                InspectionItem.product_id == product_id,
                Booking.store_id == store_id,
                InspectionItem.part_state == ON_ORDER,
                InspectionItem.decision == APPROVED,
                Booking.status.not_in(TERMINAL),
            )
            .order_by(InspectionItem.decided_at, InspectionItem.id)
            .limit(FILL_LIMIT)
            .with_for_update(of=InspectionItem, skip_locked=True)
            .execution_options(populate_existing=True)
        )
    )


def fill_on_order(store_id: int, product_id: int) -> list[InspectionItem]:
    """Reserve the store's stock of the product for the store's approved lines waiting on it,
    first come first served, each once; return the lines filled. The first line the stock
    cannot cover stops the round, so a line needing several units is not overtaken by later,
    smaller ones."""
    stock = current_app.extensions.get(PARTS_STOCK)
    if stock is None:
        return []
    filled = []
    for item in _waiting(store_id, product_id):
        claimed = db.session.execute(
            update(InspectionItem)
            .where(
                InspectionItem.id == item.id,
                InspectionItem.part_state == ON_ORDER,
                InspectionItem.decision == APPROVED,
            )
            .values(part_state=RESERVED)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        booking_id = item.inspection.booking_id
        note = f"booking #{booking_id} inspection item #{item.id} arrived"
        if not stock.reserve(store_id, product_id, item.part_quantity, note):
            db.session.execute(
                update(InspectionItem)
                .where(InspectionItem.id == item.id)
                .values(part_state=ON_ORDER)
                .execution_options(synchronize_session=False)
            )
            break
        db.session.refresh(item)
        _tell(item)
        booking = item.inspection.booking
        audit.record(
            "inspection_part_arrived", target=booking, store_id=booking.store_id, item_id=item.id
        )
        filled.append(item)
    db.session.flush()
    return filled


def _locale(user: User) -> str:
    return user.locale or current_app.config["DEFAULT_LOCALE"]


def _tell(item: InspectionItem) -> None:
    """Tell the job's advisor and the car's owner that the part of this line has arrived."""
    booking = item.inspection.booking
    owner = db.session.get(User, booking.owner_id)
    with force_locale(_locale(owner)):
        name = item.name_en if _locale(owner).startswith("en") else item.name_zh
        text = _("The part for your %(item)s has arrived. Book a time with us.", item=name)
        subject = _("Your part has arrived")
    notify(owner, text, "/bookings/new", subject=subject, kind="booking")
    advisor = booking.advisor or item.inspection.sent_by
    if advisor is None:
        return
    with force_locale(_locale(advisor)):
        name = item.name_en if _locale(advisor).startswith("en") else item.name_zh
        text = _(
            "The part for %(item)s of booking #%(id)d has arrived and is reserved.",
            item=name,
            id=booking.id,
        )
    notify(advisor, text, f"/admin/workshop/{booking.id}/card")
