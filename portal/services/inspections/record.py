"""Workshop side of an inspection: start it from a template, record each item (store staff,
or the technician the job is assigned to), mark it finished, and send it (store staff)."""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portal import access
from portal.errors import Conflict, NotFound, ValidationError
from portal.extensions import db
from portal.models import (
    Booking,
    Inspection,
    InspectionItem,
    InspectionItemSave,
    InspectionTemplate,
    User,
)
from portal.models.bookings import CHECKED_IN, IN_PROGRESS, READY
from portal.models.inspections import DRAFT, SENT, SEVERITIES
from portal.money import MAX_FEN
from portal.services import audit
from portal.services.inspections import clips, followup
from portal.services.media import ProcessedImage, store_image
from portal.timeutil import now

# A car can be inspected while it is in the workshop.
INSPECTABLE = (CHECKED_IN, IN_PROGRESS, READY)
MAX_NOTE = 2000
MAX_PART_QUANTITY = 999
# The key a phone gives each save (a UUID or similar): letters, digits and dashes.
SAVE_KEY = re.compile(r"[A-Za-z0-9-]{8,64}")


def item_name(item) -> str:
    """Return a template or inspection item's name in the current language."""
    return item.name_en if str(get_locale()).startswith("en") else item.name_zh


def store_templates(store_id: int) -> list[InspectionTemplate]:
    """Return the store's active inspection templates, by name."""
    return list(
        db.session.scalars(
            select(InspectionTemplate)
            .where(InspectionTemplate.store_id == store_id, InspectionTemplate.active)
            .order_by(InspectionTemplate.name, InspectionTemplate.id)
        )
    )


def staff_inspection(staff: User, inspection_id: int) -> Inspection:
    """Return an inspection the user records (of their store, or of a job assigned to the
    technician), else NotFound."""
    return access.job_record(staff, Inspection, inspection_id, _("Inspection not found."))


def inspected_job(staff: User, booking_id: int) -> Booking:
    """Return a booking whose car the user may inspect (``access.works_on``), else NotFound."""
    return access.job_record(staff, Booking, booking_id, _("Booking not found."))


def may_send(staff: User, inspection: Inspection) -> bool:
    """Return whether the user sends this inspection to the owner: the store's staff, who
    check the prices first, never the technician who recorded it."""
    return access.in_store(staff, inspection.store_id)


def start(staff: User, booking: Booking, template_id: int | None) -> Inspection:
    """Create the booking's inspection from a template of its store (once per booking)."""
    access.require_works_on(staff, booking, _("Booking not found."))
    if booking.inspection is not None:
        return booking.inspection
    if booking.status not in INSPECTABLE:
        raise ValidationError(_("A car is inspected once it is checked in."))
    template = db.session.get(InspectionTemplate, template_id) if template_id else None
    if template is None or template.store_id != booking.store_id or not template.active:
        raise ValidationError(_("Choose an inspection template."), field="template")
    inspection = Inspection(
        booking_id=booking.id,
        store_id=booking.store_id,
        template_id=template.id,
        inspector_id=staff.id,
        status=DRAFT,
        created_at=now(),
    )
    for position, t in enumerate(template.items, start=1):
        inspection.items.append(
            InspectionItem(
                position=position,
                name_zh=t.name_zh,
                name_en=t.name_en,
                plan_item_code=t.plan_item_code,
                price_fen=t.price_fen,
            )
        )
    try:
        with db.session.begin_nested():  # two taps on "start": the UNIQUE booking_id keeps one
            db.session.add(inspection)
            db.session.flush()
    except IntegrityError:
        existing = db.session.scalar(select(Inspection).where(Inspection.booking_id == booking.id))
        if existing is None:
            raise
        return existing
    return inspection


def record_item(
    staff: User,
    inspection: Inspection,
    item_id: int,
    *,
    severity: str,
    note: str,
    price_fen: int,
    photo: bytes | ProcessedImage | None = None,
    remove_photo: bool = False,
    clip: bytes | None = None,
    remove_clip: bool = False,
    part: tuple[int, int] | None = None,
    remove_part: bool = False,
    save_key: str | None = None,
) -> InspectionItem:
    """Save one item's severity, note, price, photo (re-encoded, no EXIF), video clip (checked
    now, transcoded by the worker) and the shop part (product id, quantity) the fix needs, on a
    draft; a save_key already recorded changes nothing (the phone retried after losing the
    answer)."""
    access.require_works_on(staff, inspection.booking, _("Inspection not found."))
    item = db.session.get(InspectionItem, item_id)
    if item is None or item.inspection_id != inspection.id:
        raise NotFound(_("Inspection item not found."))
    if inspection.status != DRAFT:
        raise Conflict(_("This inspection was already sent to the owner."))
    if severity not in SEVERITIES:
        raise ValidationError(_("Choose green, amber or red."), field="severity")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationError(_("A note has at most 2,000 characters."), field="note")
    if not 0 <= price_fen <= MAX_FEN:
        raise ValidationError(_("This amount is too large."), field="price")
    if save_key is not None and not _first_save(item, save_key):
        return item
    item.severity, item.note, item.price_fen = severity, note, price_fen
    _set_part(item, part, remove_part)
    _set_media(staff, item, photo, remove_photo, clip, remove_clip)
    db.session.flush()
    return item


def _first_save(item: InspectionItem, key: str) -> bool:
    """Record the key of this save; False when it was recorded before (the PRIMARY KEY decides,
    also between two requests at once: the second waits for the first and then finds it)."""
    if not SAVE_KEY.fullmatch(key):
        raise ValidationError(_("This save cannot be recorded; reload the page."), field="save_key")
    known = db.session.get(InspectionItemSave, key)
    if known is None:
        try:
            with db.session.begin_nested():
                db.session.add(InspectionItemSave(key=key, item_id=item.id, saved_at=now()))
                db.session.flush()
        except IntegrityError:
            known = db.session.get(InspectionItemSave, key)
            if known is None:
                raise
        else:
            return True
    if known.item_id != item.id:
        raise ValidationError(_("This save cannot be recorded; reload the page."), field="save_key")
    return False


def _set_media(staff, item, photo, remove_photo: bool, clip, remove_clip: bool) -> None:
    """Store the item's new photo (or remove it) and attach its new clip (or remove it)."""
    if photo is not None:
        item.image = store_image(photo, owner=item.inspection.booking.owner, field="photo")
    elif remove_photo:
        item.image = None
    if remove_clip:  # the button says remove: a file chosen meanwhile is not attached
        clips.remove(item)
    elif clip is not None:
        clips.attach(staff, item, clip)


def _set_part(item: InspectionItem, part: tuple[int, int] | None, remove: bool) -> None:
    """Link the item to the shop part its fix needs (product id, quantity), or unlink it."""
    if part is not None:
        if not 1 <= part[1] <= MAX_PART_QUANTITY:
            raise ValidationError(
                _("A quantity is a whole number from 1 to 999."), field="quantity"
            )
        item.product_id, item.part_quantity = part
    elif remove:
        item.product_id, item.part_quantity = None, 1


def finish(staff: User, inspection: Inspection) -> Inspection:
    """Mark a draft recorded (once) and tell the job's advisor, who then checks the prices
    and sends it."""
    access.require_works_on(staff, inspection.booking, _("Inspection not found."))
    if inspection.status != DRAFT:
        raise Conflict(_("This inspection was already sent to the owner."))
    if inspection.finished_at is not None:
        return inspection
    done = db.session.execute(
        update(Inspection)
        .where(
            Inspection.id == inspection.id,
            Inspection.status == DRAFT,
            Inspection.finished_at.is_(None),
        )
        .values(finished_at=now(), finished_by_id=staff.id)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(inspection)
    if done.rowcount == 1:  # this step marked it finished: the only one that tells anybody
        audit.record(
            "inspection_finished",
            actor=staff,
            target=inspection.booking,
            inspection_id=inspection.id,
            recommendations=len(inspection.recommendations),
        )
        followup.tell_finished(inspection, staff)
    elif inspection.status != DRAFT:
        raise Conflict(_("This inspection was already sent to the owner."))
    return inspection


def send(staff: User, inspection: Inspection) -> str:
    """Mark the inspection sent (once) and send the owner a fresh link; return its path."""
    from portal.services.inspections.decisions import link_path
    from portal.services.notify import notify

    access.require_store(staff, inspection.store_id, _("Inspection not found."))
    booking = inspection.booking
    if booking.is_terminal:
        raise ValidationError(_("This job is closed; the inspection can no longer be sent."))
    if inspection.status == DRAFT:
        done = db.session.execute(
            update(Inspection)
            .where(Inspection.id == inspection.id, Inspection.status == DRAFT)
            .values(status=SENT, sent_at=now(), sent_by_id=staff.id)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:
            raise Conflict(_("A colleague sent this inspection just now."))
        db.session.refresh(inspection)
    path = link_path(inspection)
    owner = booking.owner
    count = len(inspection.recommendations)
    with force_locale(owner.locale or current_app.config["DEFAULT_LOCALE"]):
        text = _(
            "%(plate)s: your inspection is ready, with %(n)d recommendations. "
            "Approve or decline each one.",
            plate=booking.vehicle.plate,
            n=count,
        )
        subject = _("Your vehicle inspection")
    notify(owner, text, path, subject=subject, kind="booking")
    return path
