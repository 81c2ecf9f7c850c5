"""Roadside rescue, the owner's side: request help, cancel it."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import access
from portal.errors import NotAllowed, ValidationError
from portal.extensions import db
from portal.i18n import in_language_of
from portal.models import Notification, Rescue, Store, User, Vehicle
from portal.models.accounts import ADVISOR, OWNER
from portal.models.rescue import CANCELLED, CLAIMED, PROBLEMS, RECEIVED
from portal.services import notify, webhooks
from portal.services.rescue.core import event, problem_label, store_staff, transition
from portal.timeutil import now

PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{5,18}[0-9]$")


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
    event(rescue, owner, RECEIVED, to_status=RECEIVED)
    _tell_staff(rescue)
    db.session.flush()
    webhooks.emit_rescue("rescue.created", rescue)
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
    transition(rescue, (RECEIVED, CLAIMED), CANCELLED, owner, reason[:200], cancelled_at=now())
    if rescue.advisor_id:
        advisor = db.session.get(User, rescue.advisor_id)
        with in_language_of(advisor):  # the advisor reads it, not the owner who cancelled
            text = _("Rescue #%(id)d was cancelled by the owner.", id=rescue.id)
        notify.notify(advisor, text)


# --- the advisor's steps --------------------------------------------------------------


def _tell_staff(rescue: Rescue) -> None:
    """Put the new request in the in-app inbox of the store's advisors (the queue shows it)."""
    for advisor in store_staff(rescue.store_id, (ADVISOR,)):
        with in_language_of(advisor):  # each advisor reads it in their own language
            text = _(
                "New roadside rescue #%(id)d: %(problem)s.",
                id=rescue.id,
                problem=problem_label(rescue.problem),
            )
        # In-app only: email would hold up the owner's request on a slow mail server.
        db.session.add(
            Notification(
                user_id=advisor.id, text=text, link="/admin/rescue_queue/", created_at=now()
            )
        )
