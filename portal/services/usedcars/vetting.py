"""Flag implausible requests and move them through the staff's review to the market."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from portal import transitions
from portal.errors import Conflict, NotAllowed, ValidationError
from portal.extensions import db
from portal.models import (
    MileageReading,
    UsedCarFlag,
    UsedCarRequest,
    User,
    Vehicle,
)
from portal.models.accounts import ADVISOR, MANAGER
from portal.models.usedcars import (
    ACTIVE,
    APPROVED,
    CHANGES_REQUESTED,
    GRADES,
    LISTED,
    REJECTED,
    SOLD,
    UNDER_REVIEW,
)
from portal.services import audit
from portal.services.usedcars.workflow import (
    CHECK_ITEMS,
    _check_move,
    _move,
    _require_staff,
)
from portal.timeutil import now


def check_plausibility(req: UsedCarRequest) -> list[UsedCarFlag]:
    """Flag a VIN that is active elsewhere or owned by someone else, and a rolled-back odometer."""
    raised = []
    others = db.session.scalars(
        select(UsedCarRequest.id).where(
            UsedCarRequest.vin == req.vin,
            UsedCarRequest.id != req.id,
            UsedCarRequest.status.in_(ACTIVE),
        )
    ).all()
    if others:
        raised.append(_raise_flag(req, "vin_active", requests=list(others)))
    vehicle = db.session.scalar(select(Vehicle).where(Vehicle.vin == req.vin))
    if vehicle is not None:
        if vehicle.owner_id != req.owner_id:
            raised.append(_raise_flag(req, "vin_other_owner", vehicle_id=vehicle.id))
        highest = db.session.scalar(
            select(func.max(MileageReading.km)).where(MileageReading.vehicle_id == vehicle.id)
        )
        known = max(vehicle.current_km, highest or 0)
        if req.mileage_km < known:
            raised.append(_raise_flag(req, "mileage_low", recorded_km=known))
    return [f for f in raised if f is not None]


def _raise_flag(req: UsedCarRequest, kind: str, **detail) -> UsedCarFlag | None:
    if any(f.kind == kind and f.resolved_at is None for f in req.flags):
        return None
    flag = UsedCarFlag(request_id=req.id, kind=kind, detail=detail, raised_at=now())
    if not transitions.insert_unique(flag):  # the same flag raised concurrently
        return None
    db.session.refresh(req, ["flags"])
    return flag


def resolve_flag(actor: User, flag: UsedCarFlag, note: str) -> None:
    """Mark a flag as checked and resolved, with the staff member's note."""
    _require_staff(actor, flag.request)
    if not (note or "").strip():
        raise ValidationError(_("Say how the flag was resolved."), field="note")
    res = db.session.execute(
        update(UsedCarFlag)
        .where(UsedCarFlag.id == flag.id, UsedCarFlag.resolved_at.is_(None))
        .values(resolved_at=now(), resolved_by_id=actor.id, resolution=note.strip())
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        raise Conflict(_("This flag is already resolved."))
    db.session.expire(flag)
    db.session.expire(flag.request, ["flags"])
    audit.record("usedcar_flag_resolved", actor=actor, target=flag.request, kind=flag.kind)


# ---------------------------------------------------------------- staff workflow


def _require_expert(actor: User, req: UsedCarRequest, to: str) -> None:
    _require_staff(actor, req)
    _check_move(req, to)
    if actor.role == ADVISOR and req.expert_id != actor.id:
        raise NotAllowed(_("Only the assigned expert or a manager can decide on this request."))


def start_review(actor: User, req: UsedCarRequest, expert: User) -> None:
    """Assign an expert; the request goes under review. Advisors can only take it themselves."""
    _require_staff(actor, req)
    if actor.role == ADVISOR and expert.id != actor.id:
        raise NotAllowed(_("Advisors can only take a request themselves."))
    if expert.role not in (ADVISOR, MANAGER) or not expert.is_active:
        raise ValidationError(_("Choose an active advisor or manager."), field="expert")
    if expert.store_id != req.store_id:
        raise ValidationError(_("The expert must work at this store."), field="expert")
    _move(req, UNDER_REVIEW, actor, "", expert_id=expert.id)


def request_changes(actor: User, req: UsedCarRequest, reason: str) -> None:
    """Send the request back to the owner with what to change."""
    _require_expert(actor, req, CHANGES_REQUESTED)
    if not (reason or "").strip():
        raise ValidationError(_("Say what the owner should change."), field="reason")
    _move(req, CHANGES_REQUESTED, actor, reason.strip())


def reject(actor: User, req: UsedCarRequest, reason: str) -> None:
    """Refuse the car, with the reason the owner will read."""
    _require_expert(actor, req, REJECTED)
    if not (reason or "").strip():
        raise ValidationError(_("Give the reason for the rejection."), field="reason")
    _move(req, REJECTED, actor, reason.strip())


def approve(
    actor: User,
    req: UsedCarRequest,
    *,
    grade: str,
    checked_items: list[str],
    valuation_low_fen: int | None,
    valuation_high_fen: int | None,
    notes: str = "",
) -> None:
    """Approve the car with the expert's report; every plausibility flag must be resolved."""
    _require_expert(actor, req, APPROVED)
    if req.open_flags:
        raise NotAllowed(_("Resolve the flags before approving this car."))
    if grade not in GRADES:
        raise ValidationError(_("Choose a condition grade."), field="grade")
    items = [i for i in checked_items if i in CHECK_ITEMS]
    if not items:
        raise ValidationError(_("Tick the items you checked."), field="checked_items")
    if not valuation_low_fen or valuation_low_fen <= 0:
        raise ValidationError(_("Give the valuation range."), field="valuation_low")
    if not valuation_high_fen or valuation_high_fen < valuation_low_fen:
        raise ValidationError(
            _("The top of the range must not be below its bottom."), field="valuation_high"
        )
    _move(
        req,
        APPROVED,
        actor,
        (notes or "").strip(),
        grade=grade,
        checked_items=items,
        valuation_low_fen=valuation_low_fen,
        valuation_high_fen=valuation_high_fen,
        report_notes=(notes or "").strip(),
        expected_open_flags=True,
    )


def list_car(actor: User, req: UsedCarRequest) -> None:
    """Put an approved car on the public list."""
    _require_expert(actor, req, LISTED)
    try:
        with db.session.begin_nested():
            _move(req, LISTED, actor, "", listed_at=now())
    except IntegrityError as exc:  # uq_used_car_requests_listed_vin
        raise Conflict(_("A car with this VIN is already listed.")) from exc


def mark_sold(actor: User, req: UsedCarRequest, reason: str = "") -> None:
    """Record that a listed car is sold."""
    _require_staff(actor, req)
    _move(req, SOLD, actor, (reason or "").strip())
