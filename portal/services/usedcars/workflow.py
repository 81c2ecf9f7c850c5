"""Name used-car statuses, fetch requests by owner or store, and move them between statuses.

Every status change is one conditional UPDATE (``WHERE status = <expected>``), so when two
staff members act on the same request at once exactly one of them wins; the loser gets a
Conflict. Each change appends a transition (who, when, why) and an event for the owner.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from portal import access
from portal.errors import Conflict, NotAllowed, NotFound
from portal.extensions import db
from portal.i18n import in_language_of
from portal.models import (
    UsedCarEvent,
    UsedCarFlag,
    UsedCarRequest,
    UsedCarTransition,
    User,
)
from portal.models.usedcars import (
    APPROVED,
    CHANGES_REQUESTED,
    LISTED,
    REJECTED,
    SOLD,
    SUBMITTED,
    UNDER_REVIEW,
    WITHDRAWN,
)
from portal.services import audit
from portal.timeutil import now

STATUS_LABELS = {
    SUBMITTED: _l("Submitted"),
    UNDER_REVIEW: _l("Under review"),
    CHANGES_REQUESTED: _l("Changes requested"),
    REJECTED: _l("Rejected"),
    APPROVED: _l("Approved"),
    LISTED: _l("Listed"),
    SOLD: _l("Sold"),
    WITHDRAWN: _l("Withdrawn"),
}
# What the owner is told at each step (the event kind is the new status, or "lead").
EVENT_TEXT = {
    SUBMITTED: _l("Your request was received."),
    UNDER_REVIEW: _l("An expert is reviewing your car."),
    CHANGES_REQUESTED: _l("The expert asks you to change your request."),
    REJECTED: _l("Your request was rejected."),
    APPROVED: _l("Your car passed the inspection."),
    LISTED: _l("Your car is listed for sale."),
    SOLD: _l("Your car is sold."),
    WITHDRAWN: _l("Your request was withdrawn."),
    "lead": _l("A buyer asked about your car. The store will contact them."),
}
FLAG_LABELS = {
    "vin_active": _l("This VIN is already listed or under another active request."),
    "vin_other_owner": _l("This VIN is registered to another owner."),
    "mileage_low": _l("The mileage is lower than the store's own records for this VIN."),
}
CHECK_ITEMS = {
    "frame": _l("Frame and structure"),
    "engine": _l("Engine"),
    "transmission": _l("Transmission"),
    "electrics": _l("Electrics"),
    "interior": _l("Interior"),
    "paint": _l("Paint and body panels"),
    "tyres": _l("Tyres and brakes"),
    "flood_fire": _l("No flood or fire damage"),
}
# Allowed moves. Rejected, sold and withdrawn are final.
ALLOWED = {
    SUBMITTED: {UNDER_REVIEW, WITHDRAWN},
    UNDER_REVIEW: {CHANGES_REQUESTED, REJECTED, APPROVED, WITHDRAWN},
    CHANGES_REQUESTED: {UNDER_REVIEW, WITHDRAWN},
    APPROVED: {LISTED, WITHDRAWN},
    LISTED: {SOLD, WITHDRAWN},
}
PAGE_SIZE = 24


# ---------------------------------------------------------------- lookups


def owned_request(owner: User, request_id: int) -> UsedCarRequest:
    """Return the owner's request or raise NotFound (other owners' requests do not exist)."""
    return access.owned_record(owner, UsedCarRequest, request_id, _("Request not found."))


def staff_request(actor: User, request_id: int) -> UsedCarRequest:
    """Return a request of the staff member's store (any store for admins), else NotFound."""
    return access.store_record(actor, UsedCarRequest, request_id, _("Request not found."))


def listed_request(request_id: int) -> UsedCarRequest:
    """Return a listed car for the public pages, else NotFound."""
    req = db.session.get(UsedCarRequest, request_id)
    if req is None or req.status != LISTED:
        raise NotFound(_("This car is not for sale."))
    return req


def my_requests(owner: User) -> list[UsedCarRequest]:
    """Return the owner's sell requests, newest first."""
    stmt = access.owner_scope(select(UsedCarRequest), UsedCarRequest.owner_id, owner)
    return list(db.session.scalars(stmt.order_by(UsedCarRequest.id.desc())))


def _require_staff(actor: User, req: UsedCarRequest) -> None:
    access.require_store(actor, req.store_id, _("Request not found."))


def _move(
    req: UsedCarRequest,
    to: str,
    actor: User,
    reason: str,
    *,
    expected_open_flags: bool = False,
    **values,
) -> None:
    """Change the status if it is still the one we read; record who, when and why."""
    before = req.status
    _check_move(req, to)
    stmt = update(UsedCarRequest).where(
        UsedCarRequest.id == req.id, UsedCarRequest.status == before
    )
    if expected_open_flags:
        # Approval also requires that no flag was raised meanwhile, in the same statement.
        open_flag = select(UsedCarFlag.id).where(
            UsedCarFlag.request_id == req.id, UsedCarFlag.resolved_at.is_(None)
        )
        stmt = stmt.where(~open_flag.exists())
    res = db.session.execute(
        stmt.values(status=to, updated_at=now(), **values).execution_options(
            synchronize_session=False
        )
    )
    if res.rowcount != 1:
        db.session.expire(req)
        raise Conflict(_("Someone else changed this request first. Reload it and try again."))
    db.session.add(
        UsedCarTransition(
            request_id=req.id,
            from_status=before,
            to_status=to,
            actor_id=actor.id,
            at=now(),
            reason=reason or "",
        )
    )
    db.session.flush()
    db.session.expire(req)
    _notify(req, to, reason if to in (CHANGES_REQUESTED, REJECTED, WITHDRAWN) else "")
    if actor.is_staff:
        audit.record(f"usedcar_{to}", actor=actor, target=req, reason=reason or None)


def _check_move(req: UsedCarRequest, to: str) -> None:
    if to not in ALLOWED.get(req.status, set()):
        raise NotAllowed(
            _(
                "A request that is %(status)s cannot become %(to)s.",
                status=str(STATUS_LABELS[req.status]).lower(),
                to=str(STATUS_LABELS[to]).lower(),
            )
        )


def _notify(req: UsedCarRequest, kind: str, reason: str = "") -> None:
    """Record the step on the request's page and tell the owner in the notification centre."""
    from portal.services import notify

    db.session.add(
        UsedCarEvent(
            request_id=req.id, recipient_id=req.owner_id, kind=kind, at=now(), reason=reason
        )
    )
    owner = db.session.get(User, req.owner_id)
    with in_language_of(owner):  # the seller reads it, not the expert who clicked
        text = str(EVENT_TEXT.get(kind, kind)) + (f" {reason}" if reason else "")
    notify.notify(owner, text, f"/used-cars/{req.id}")
