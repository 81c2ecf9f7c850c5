"""Roadside rescue: the owner's request, the advisor's steps, escalation to the managers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError

from portal import access
from portal.errors import Conflict, NotAllowed, ValidationError
from portal.extensions import db
from portal.models import Notification, Rescue, RescueEvent, Store, User, Vehicle
from portal.models.accounts import ADMIN, ADVISOR, MANAGER, OWNER
from portal.models.rescue import (
    CANCELLED,
    CLAIMED,
    DISPATCHED,
    ON_SITE,
    OPEN,
    PROBLEMS,
    RECEIVED,
    RESOLVED,
)
from portal.services import audit, notify
from portal.services.rescue_help import call_lines, map_links, tel_href  # noqa: F401 (templates)
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
PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{5,18}[0-9]$")
MAX_ETA_MINUTES = 24 * 60


def status_label(status: str) -> str:
    """Return the translated name of a rescue status."""
    return str(STATUS_LABELS.get(status, status))


def problem_label(problem: str) -> str:
    """Return the translated name of a problem type."""
    return str(PROBLEM_LABELS.get(problem, problem))


# --- reading --------------------------------------------------------------------------


def owned_rescue(owner: User, rescue_id: int) -> Rescue:
    """Return the owner's rescue or raise NotFound (others' rescues do not exist)."""
    return access.owned_record(owner, Rescue, rescue_id, _("Rescue not found."))


def store_rescue(staff: User, rescue_id: int) -> Rescue:
    """Return a rescue of the staff member's store (any store for admins), else NotFound."""
    return access.store_record(staff, Rescue, rescue_id, _("Rescue not found."))


def open_rescues(store_id: int | None) -> list[Rescue]:
    """Return the open rescues of a store (all stores for None): unclaimed first, oldest first."""
    stmt = select(Rescue).where(Rescue.status.in_(OPEN))
    if store_id is not None:
        stmt = stmt.where(Rescue.store_id == store_id)
    # Unclaimed ones first: nobody is on them yet.
    unclaimed_first = case((Rescue.status == RECEIVED, 0), else_=1)
    return list(db.session.scalars(stmt.order_by(unclaimed_first, Rescue.created_at, Rescue.id)))


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


# --- the owner's request --------------------------------------------------------------


def _clean_location(latitude, longitude, address: str) -> tuple[float | None, float | None]:
    if (latitude is None) != (longitude is None):
        raise ValidationError(_("The location is incomplete; type the address."), field="address")
    if latitude is not None and not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValidationError(_("The location is not valid; type the address."), field="address")
    if latitude is None and not address:
        raise ValidationError(
            _("We could not locate you: type where you are (road, landmark, exit)."),
            field="address",
        )
    return latitude, longitude


def request_rescue(
    owner: User,
    vehicle: Vehicle,
    *,
    problem: str,
    callback_phone: str,
    idempotency_key: str,
    note: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    accuracy_m: int | None = None,
    address: str = "",
) -> tuple[Rescue, bool]:
    """Store a rescue request; the same key again returns the first one. Returns (rescue, new)."""
    if owner.role != OWNER:
        raise NotAllowed(_("Only car owners call roadside rescue."))
    access.require_owner(owner, vehicle, _("Vehicle not found."))
    key = (idempotency_key or "").strip()
    if not 16 <= len(key) <= 64:
        raise ValidationError(_("The form expired; send it again."))
    existing = _by_key(owner, key)
    if existing is not None:
        return existing, False
    if problem not in PROBLEMS:
        raise ValidationError(_("Choose what happened."), field="problem")
    phone = (callback_phone or "").strip()
    if not PHONE_RE.match(phone):
        raise ValidationError(_("Enter a phone number we can call back."), field="callback_phone")
    address = (address or "").strip()[:255]
    latitude, longitude = _clean_location(latitude, longitude, address)
    rescue = Rescue(
        owner_id=owner.id,
        vehicle_id=vehicle.id,
        store_id=_home_store(owner).id,
        status=RECEIVED,
        problem=problem,
        note=(note or "").strip()[:1000],
        callback_phone=phone,
        latitude=latitude,
        longitude=longitude,
        accuracy_m=accuracy_m if latitude is not None else None,
        address=address,
        idempotency_key=key,
        created_at=now(),
        updated_at=now(),
    )
    try:
        with db.session.begin_nested():  # a concurrent twin wins the UNIQUE: return its row
            db.session.add(rescue)
    except IntegrityError:
        existing = _by_key(owner, key)
        if existing is None:
            raise
        return existing, False
    _event(rescue, owner, RECEIVED, to_status=RECEIVED)
    _tell_staff(rescue)
    db.session.flush()
    return rescue, True


def _by_key(owner: User, key: str) -> Rescue | None:
    return db.session.scalar(
        select(Rescue).where(Rescue.owner_id == owner.id, Rescue.idempotency_key == key)
    )


def _home_store(owner: User) -> Store:
    """Return the owner's store, or the first active store for owners without one."""
    store = db.session.get(Store, owner.store_id) if owner.store_id else None
    if store is None:
        store = db.session.scalar(select(Store).where(Store.is_active.is_(True)).order_by(Store.id))
    if store is None:
        raise ValidationError(_("No store can take rescue requests right now."))
    return store


def cancel(owner: User, rescue: Rescue, reason: str = "") -> None:
    """Cancel a rescue before help is dispatched."""
    access.require_owner(owner, rescue, _("Rescue not found."))
    _transition(rescue, (RECEIVED, CLAIMED), CANCELLED, owner, reason[:200], cancelled_at=now())
    if rescue.advisor_id:
        advisor = db.session.get(User, rescue.advisor_id)
        notify.notify(advisor, _("Rescue #%(id)d was cancelled by the owner.", id=rescue.id))


# --- the advisor's steps --------------------------------------------------------------


def _staff_check(staff: User, rescue: Rescue, *, assignee: bool = True) -> None:
    access.require_store(staff, rescue.store_id, _("Rescue not found."))
    if assignee and staff.role == ADVISOR and rescue.advisor_id not in (None, staff.id):
        raise NotAllowed(_("Another advisor handles this rescue."))


def claim(staff: User, rescue: Rescue) -> None:
    """Take a received rescue; when several advisors click at once exactly one wins."""
    _staff_check(staff, rescue, assignee=False)  # the conditional UPDATE picks the winner
    _transition(rescue, (RECEIVED,), CLAIMED, staff, advisor_id=staff.id, claimed_at=now())
    audit.record("rescue_claimed", actor=staff, target=rescue)
    name = staff.profile.display_name if staff.profile else staff.name
    _tell_owner(rescue, _("%(name)s is handling your rescue request.", name=name))


def _eta_minutes(minutes: int | None) -> int:
    if minutes is None or not 1 <= minutes <= MAX_ETA_MINUTES:
        raise ValidationError(_("Enter the minutes until help arrives (1 to 1440)."), field="eta")
    return minutes


def dispatch(staff: User, rescue: Rescue, eta_minutes: int | None, note: str = "") -> None:
    """Send help with an estimated time of arrival."""
    _staff_check(staff, rescue)
    eta = now() + timedelta(minutes=_eta_minutes(eta_minutes))
    _transition(rescue, (CLAIMED,), DISPATCHED, staff, note, dispatched_at=now(), eta_at=eta)
    audit.record("rescue_dispatched", actor=staff, target=rescue, eta_minutes=eta_minutes)
    _tell_owner(rescue, _("Help is on the way, arriving in about %(n)d minutes.", n=eta_minutes))


def update_eta(staff: User, rescue: Rescue, eta_minutes: int | None, note: str = "") -> None:
    """Change the estimated time of arrival of dispatched help."""
    _staff_check(staff, rescue)
    eta = now() + timedelta(minutes=_eta_minutes(eta_minutes))
    _transition(rescue, (DISPATCHED,), DISPATCHED, staff, note, kind="eta", eta_at=eta)
    _tell_owner(rescue, _("New arrival estimate: about %(n)d minutes.", n=eta_minutes))


def arrive(staff: User, rescue: Rescue) -> None:
    """Record that help has reached the car."""
    _staff_check(staff, rescue)
    _transition(rescue, (DISPATCHED,), ON_SITE, staff, on_site_at=now())
    _tell_owner(rescue, _("Help has arrived."))


def resolve(staff: User, rescue: Rescue, note: str) -> None:
    """Close a rescue with a note of what was done."""
    _staff_check(staff, rescue)
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("Write what was done."), field="note")
    _transition(
        rescue,
        (CLAIMED, DISPATCHED, ON_SITE),
        RESOLVED,
        staff,
        note[:2000],
        resolved_at=now(),
        resolution_note=note[:2000],
    )
    audit.record("rescue_resolved", actor=staff, target=rescue)
    _tell_owner(rescue, _("Your rescue request is resolved: %(note)s", note=note[:200]))


def reassign(manager: User, rescue: Rescue, advisor: User) -> None:
    """Give an open rescue to another advisor of the store (managers); audited."""
    if manager.role not in (MANAGER, ADMIN):
        raise NotAllowed(_("Only managers reassign rescues."))
    _staff_check(manager, rescue, assignee=False)
    if (
        advisor.role not in (ADVISOR, MANAGER)
        or not advisor.is_active
        or advisor.store_id != rescue.store_id
    ):
        raise ValidationError(_("Choose an advisor of this store."), field="advisor")
    before = rescue.advisor_id
    if rescue.status == RECEIVED:
        _transition(
            rescue,
            (RECEIVED,),
            CLAIMED,
            manager,
            advisor.name,
            kind="reassigned",
            advisor_id=advisor.id,
            claimed_at=now(),
        )
    else:
        _transition(
            rescue,
            (CLAIMED, DISPATCHED, ON_SITE),
            None,
            manager,
            advisor.name,
            kind="reassigned",
            advisor_id=advisor.id,
        )
    audit.record(
        "rescue_reassigned", actor=manager, target=rescue, from_advisor=before, to=advisor.id
    )
    notify.notify(
        advisor,
        _("Rescue #%(id)d is now yours.", id=rescue.id),
        "/admin/rescue_queue/",
        subject=_("Roadside rescue #%(id)d", id=rescue.id),
    )
    name = advisor.profile.display_name if advisor.profile else advisor.name
    _tell_owner(rescue, _("%(name)s is handling your rescue request.", name=name))


# --- the timeline ---------------------------------------------------------------------


def _transition(
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
    before = rescue.status
    if to_status is not None:
        values["status"] = to_status
    result = db.session.execute(
        update(Rescue)
        .where(Rescue.id == rescue.id, Rescue.status.in_(allowed_from))
        .values(updated_at=now(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(rescue)
        raise Conflict(
            _(
                "This rescue was changed meanwhile (it is now: %(status)s).",
                status=status_label(rescue.status),
            )
        )
    db.session.refresh(rescue)
    _event(rescue, actor, kind or to_status, note, from_status=before, to_status=rescue.status)
    db.session.flush()


def _event(
    rescue: Rescue,
    actor: User | None,
    kind: str,
    note: str = "",
    *,
    from_status: str | None = None,
    to_status: str | None = None,
) -> None:
    db.session.add(
        RescueEvent(
            rescue_id=rescue.id,
            at=now(),
            actor_id=actor.id if actor else None,
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            note=note,
        )
    )


def _tell_owner(rescue: Rescue, text: str) -> None:
    owner = db.session.get(User, rescue.owner_id)
    link = f"/rescue/{rescue.id}"  # services run outside requests too (CLI, jobs)
    notify.notify(
        owner, text, link, subject=_("Roadside rescue #%(id)d", id=rescue.id), kind="rescue"
    )


def _store_staff(store_id: int, roles: tuple[str, ...]) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.store_id == store_id, User.role.in_(roles), User.is_active.is_(True))
            .order_by(User.id)
        )
    )


def _tell_staff(rescue: Rescue) -> None:
    """Put the new request in the in-app inbox of the store's advisors (the queue shows it)."""
    text = _(
        "New roadside rescue #%(id)d: %(problem)s.",
        id=rescue.id,
        problem=problem_label(rescue.problem),
    )
    for advisor in _store_staff(rescue.store_id, (ADVISOR,)):
        # In-app only: email would hold up the owner's request on a slow mail server.
        db.session.add(
            Notification(
                user_id=advisor.id, text=text, link="/admin/rescue_queue/", created_at=now()
            )
        )


# --- escalation -----------------------------------------------------------------------

ESCALATIONS = (
    # (marker column, statuses it applies to, config key of the minutes, message)
    (
        "unclaimed_escalated_at",
        (RECEIVED,),
        "RESCUE_CLAIM_MINUTES",
        _l("Rescue #%(id)d has not been claimed for %(n)d minutes."),
    ),
    (
        "unresolved_escalated_at",
        OPEN,
        "RESCUE_RESOLVE_MINUTES",
        _l("Rescue #%(id)d is still not resolved after %(n)d minutes."),
    ),
)


def escalate() -> int:
    """Notify the store's managers of overdue rescues, once each; commits; returns how many.

    Safe under concurrent runs: the marker is set by a conditional UPDATE before anyone is
    told, so of two runs exactly one sees rowcount 1 and notifies."""
    sent = 0
    for column, statuses, key, message in ESCALATIONS:
        minutes = current_app.config[key]
        marker = getattr(Rescue, column)
        cutoff = now() - timedelta(minutes=minutes)
        ids = db.session.scalars(
            select(Rescue.id).where(
                Rescue.status.in_(statuses), Rescue.created_at <= cutoff, marker.is_(None)
            )
        ).all()
        db.session.commit()
        for rescue_id in ids:
            won = db.session.execute(
                update(Rescue)
                .where(Rescue.id == rescue_id, Rescue.status.in_(statuses), marker.is_(None))
                .values({column: now()})
                .execution_options(synchronize_session=False)
            ).rowcount
            if won == 1:
                rescue = db.session.get(Rescue, rescue_id)
                _event(rescue, None, "escalated", column.split("_")[0])
                text = str(message) % {"id": rescue_id, "n": minutes}
                for manager in _store_staff(rescue.store_id, (MANAGER,)):
                    notify.notify(
                        manager,
                        text,
                        "/admin/rescue_queue/",
                        subject=_("Roadside rescue #%(id)d", id=rescue_id),
                        kind="rescue",
                    )
                sent += 1
            db.session.commit()
    return sent
