"""Roadside rescue: labels, reading, and the timeline every step writes."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from portal import transitions
from portal.extensions import db
from portal.i18n import in_language_of
from portal.models import Rescue, RescueEvent, User
from portal.models.rescue import CANCELLED, CLAIMED, DISPATCHED, ON_SITE, OPEN, RECEIVED, RESOLVED
from portal.services import notify
from portal.timeutil import now

STATUS_LABELS = {
    RECEIVED: _l("Received"),
    CLAIMED: _l("An advisor is on it"),
    DISPATCHED: _l("Help is on the way"),
    ON_SITE: _l("Help is on site"),
    RESOLVED: _l("Resolved"),
    CANCELLED: _l("Cancelled"),
}
PROBLEM_LABELS = {
    "breakdown": _l("Breakdown"),
    "flat_tyre": _l("Flat tyre"),
    "battery": _l("Flat battery"),
    "accident": _l("Accident"),
    "locked_out": _l("Locked out"),
    "fuel": _l("Out of fuel or charge"),
    "other": _l("Other"),
}


def status_label(status: str) -> str:
    """Return the translated name of a rescue status."""
    return transitions.label(STATUS_LABELS, status)


def problem_label(problem: str) -> str:
    """Return the translated name of a problem type."""
    return transitions.label(PROBLEM_LABELS, problem)


# --- reading: the owner's rescue, or one of the staff member's store (else NotFound) -------

owned_rescue, store_rescue = transitions.lookups(Rescue, _l("Rescue not found."))


def open_rescues(store_id: int | None, limit: int | None = None) -> list[Rescue]:
    """Return the open rescues of a store (all stores for None): unclaimed first, oldest first;
    the first `limit` of them when given, with what a queue row shows loaded alongside."""
    stmt = select(Rescue).where(Rescue.status.in_(OPEN))
    if store_id is not None:
        stmt = stmt.where(Rescue.store_id == store_id)
    # Unclaimed ones first: nobody is on them yet.
    unclaimed_first = case((Rescue.status == RECEIVED, 0), else_=1)
    stmt = stmt.order_by(unclaimed_first, Rescue.created_at, Rescue.id).options(
        selectinload(Rescue.owner),
        selectinload(Rescue.advisor),
        selectinload(Rescue.vehicle),
        selectinload(Rescue.store),
    )
    return list(db.session.scalars(stmt.limit(limit) if limit else stmt))


def open_count(store_id: int | None) -> int:
    """Return how many rescues are open in a store (all stores for None), counted in SQL."""
    stmt = select(func.count(Rescue.id)).where(Rescue.status.in_(OPEN))
    if store_id is not None:
        stmt = stmt.where(Rescue.store_id == store_id)
    return db.session.scalar(stmt) or 0


def escalation(rescue: Rescue, at: datetime | None = None) -> str | None:
    """Return "unclaimed" or "unresolved" when the rescue is overdue, else None."""
    if rescue.status not in OPEN:
        return None
    age = (at or now()) - rescue.created_at
    cfg = current_app.config
    if rescue.status == RECEIVED and age >= timedelta(minutes=cfg["RESCUE_CLAIM_MINUTES"]):
        return "unclaimed"
    if age >= timedelta(minutes=cfg["RESCUE_RESOLVE_MINUTES"]):
        return "unresolved"
    return None


def can_cancel(rescue: Rescue) -> bool:
    """Return whether the owner may still cancel: until help is dispatched."""
    return rescue.status in (RECEIVED, CLAIMED)


def transition(
    rescue: Rescue,
    allowed_from: tuple[str, ...],
    to_status: str | None,
    actor: User | None,
    note: str = "",
    *,
    kind: str | None = None,
    **values,
) -> None:
    """Change the rescue with a conditional UPDATE: of concurrent callers exactly one wins.

    to_status None keeps the status (a reassignment); the WHERE still checks it."""
    if to_status is not None:
        values["status"] = to_status
    before = transitions.move(rescue, allowed_from, values, _conflict)
    db.session.refresh(rescue)
    event(rescue, actor, kind or to_status, note, from_status=before, to_status=rescue.status)
    db.session.flush()


def _conflict(status: str) -> str:
    return _(
        "This rescue was changed meanwhile (it is now: %(status)s).", status=status_label(status)
    )


def event(
    rescue: Rescue,
    actor: User | None,
    kind: str,
    note: str = "",
    *,
    from_status: str | None = None,
    to_status: str | None = None,
) -> None:
    """Add an entry to the rescue's timeline."""
    transitions.add_event(
        RescueEvent,
        "rescue_id",
        rescue,
        actor,
        kind,
        note=note,
        from_status=from_status,
        to_status=to_status,
    )


def tell_owner(rescue: Rescue, message) -> None:
    """Notify the rescue's owner in the owner's language, linking to the rescue page.

    `message` is a lazy string (`_l(...)`): it is rendered here, under the owner's locale,
    not in the language of the staff member who clicked."""
    owner = db.session.get(User, rescue.owner_id)
    link = f"/rescue/{rescue.id}"  # services run outside requests too (CLI, jobs)
    with in_language_of(owner):
        text = str(message)
        subject = _("Roadside rescue #%(id)d", id=rescue.id)
    notify.notify(owner, text, link, subject=subject, kind="rescue")


def store_staff(store_id: int, roles: tuple[str, ...]) -> list[User]:
    """Return the active staff of a store with the given roles."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.store_id == store_id, User.role.in_(roles), User.is_active.is_(True))
            .order_by(User.id)
        )
    )
