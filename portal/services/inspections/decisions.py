"""Owner side of an inspection: the signed link, one decision per item, what other owners
chose, and declined items coming back as reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal import signed_links
from portal.errors import Conflict, NotFound, ValidationError
from portal.extensions import db
from portal.models import Inspection, InspectionItem, InspectionUptake, JobLine, User
from portal.models.inspections import APPROVED, DECLINED, GREEN, PENDING, SENT
from portal.services.inspections import parts
from portal.services.maintenance import uptake_for
from portal.services.maintenance.uptake import Uptake
from portal.timeutil import now, to_local

LINK_PREFIX = "/inspection/"  # the owner page's address (portal.views.inspections)
LINK_SALT = "m4s.inspection.link"


def link_token(inspection: Inspection) -> str:
    """Return a signed token naming the inspection, valid for M4S_INSPECTION_LINK_HOURS."""
    return signed_links.sign(LINK_SALT, "i", inspection.id)


def link_path(inspection: Inspection) -> str:
    """Return the owner page's path for a fresh link to the inspection."""
    return LINK_PREFIX + link_token(inspection)


def inspection_from_link(token: str) -> Inspection:
    """Return the sent inspection a link names, or NotFound saying the link is not valid."""
    max_age = current_app.config["INSPECTION_LINK_HOURS"] * 3600
    gone = NotFound(_("This inspection link is not valid or has expired. Ask your advisor."))
    try:
        key = signed_links.read(LINK_SALT, "i", token, max_age)
    except signed_links.LinkInvalid:
        raise gone from None
    inspection = db.session.get(Inspection, key)
    if inspection is None or inspection.status != SENT:
        raise gone
    return inspection


def mark_opened(inspection: Inspection) -> None:
    """Record when the owner first opened the inspection (once)."""
    db.session.execute(
        update(Inspection)
        .where(Inspection.id == inspection.id, Inspection.opened_at.is_(None))
        .values(opened_at=now())
        .execution_options(synchronize_session=False)
    )


def _count(item: InspectionItem, approved: bool) -> None:
    """Add one decision to the item's counters for its severity (upsert)."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    table = InspectionUptake.__table__
    stmt = insert(table).values(
        item_key=item.uptake_key, severity=item.severity, approved=int(approved), decided=1
    )
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["item_key", "severity"],
            set_={"approved": table.c.approved + int(approved), "decided": table.c.decided + 1},
        )
    )


def decide(inspection: Inspection, item_id: int, approve: bool) -> InspectionItem:
    """Approve or decline one recommendation, once: two tabs at once get one decision.

    An approved item becomes a job line of the booking in the same transaction, and its part
    is reserved from stock (or marked on order when none is left)."""
    item = db.session.get(InspectionItem, item_id)
    if item is None or item.inspection_id != inspection.id:
        raise NotFound(_("Inspection item not found."))
    if item.severity == GREEN:
        raise ValidationError(_("This item is fine; there is nothing to decide."))
    if inspection.booking.is_terminal:
        raise ValidationError(_("This job is closed. Call your advisor to add work."))
    decision = APPROVED if approve else DECLINED
    done = db.session.execute(
        update(InspectionItem)
        .where(
            InspectionItem.id == item.id,
            InspectionItem.decision == PENDING,
            InspectionItem.severity != GREEN,
        )
        .values(decision=decision, decided_at=now())
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        db.session.refresh(item)
        raise Conflict(_("You already decided this item."))
    db.session.refresh(item)
    if approve:
        line = JobLine(
            booking_id=inspection.booking_id,
            description_zh=item.name_zh,
            description_en=item.name_en,
            price_fen=item.price_fen,
            inspection_item_id=item.id,
            created_at=now(),
        )
        parts.reserve(item, line)
        db.session.add(line)
    _count(item, approve)
    db.session.flush()
    return item


class Choice(NamedTuple):
    """What other owners chose for an item: approved of decided at this severity, and the
    maintenance uptake of the linked plan item (None when the item links to none)."""

    approved: int
    decided: int
    enough: bool
    maintenance: Uptake | None

    @property
    def percent(self) -> int:
        return round(100 * self.approved / self.decided) if self.decided else 0


def other_owners(
    inspection: Inspection, items: list[InspectionItem] | None = None
) -> dict[int, Choice]:
    """Return what other owners chose for each recommendation (or only the items given, as
    one item's fragment needs); two queries in all."""
    items = (
        inspection.recommendations if items is None else [i for i in items if i.severity != GREEN]
    )
    if not items:
        return {}
    vehicle = inspection.booking.vehicle
    codes = sorted({i.plan_item_code for i in items if i.plan_item_code})
    maintenance = uptake_for(codes, vehicle.brand or "", vehicle.series or "")
    keys = {(i.uptake_key, i.severity) for i in items}
    rows = db.session.execute(
        select(InspectionUptake).where(
            tuple_(InspectionUptake.item_key, InspectionUptake.severity).in_(list(keys))
        )
    ).scalars()
    counts = {(r.item_key, r.severity): (r.approved, r.decided) for r in rows}
    minimum = current_app.config["MAINTENANCE_MIN_SAMPLE"]
    found = {}
    for i in items:
        approved, decided = counts.get((i.uptake_key, i.severity), (0, 0))
        found[i.id] = Choice(
            approved, decided, decided >= minimum, maintenance.get(i.plan_item_code)
        )
    return found


def _reminder_text(owner: User, item: InspectionItem, store_tz: str) -> str:
    locale = owner.locale or current_app.config["DEFAULT_LOCALE"]
    with force_locale(locale):
        from flask_babel import format_date

        day = format_date(to_local(item.inspection.sent_at or item.decided_at, store_tz).date())
        name = item.name_en if locale.startswith("en") else item.name_zh
        if item.severity == "red":
            return _("Your %(item)s was red on %(day)s. Book it in soon.", item=name, day=day)
        return _("Your %(item)s was amber on %(day)s. Time to look again?", item=name, day=day)


def send_declined_reminders(limit: int = 500) -> int:
    """Remind owners of recommendations they declined M4S_INSPECTION_REMINDER_DAYS ago, once.

    Each item is claimed by a conditional UPDATE before its message is queued, so two workers
    never both remind it. Returns how many reminders were queued."""
    from portal.services.notify import notify

    days = current_app.config["INSPECTION_REMINDER_DAYS"]
    cutoff = now() - timedelta(days=days)
    due = and_(
        InspectionItem.decision == DECLINED,
        InspectionItem.reminded_at.is_(None),
        InspectionItem.decided_at <= cutoff,
    )
    ids = db.session.scalars(select(InspectionItem.id).where(due).limit(limit)).all()
    sent = 0
    for item_id in ids:
        claimed = db.session.execute(
            update(InspectionItem)
            .where(InspectionItem.id == item_id, due)
            .values(reminded_at=now())
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        item = db.session.get(InspectionItem, item_id)
        booking = item.inspection.booking
        owner = booking.owner
        text = _reminder_text(owner, item, booking.store.timezone)
        notify(owner, text, "/bookings/new", subject=text[:80], kind="reminder")
        sent += 1
    return sent
