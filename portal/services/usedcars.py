"""Used cars: owners' sell requests, the vetting workflow, plausibility flags and buyer leads.

Every status change is one conditional UPDATE (``WHERE status = <expected>``), so when two
staff members act on the same request at once exactly one of them wins; the loser gets a
Conflict. Each change appends a transition (who, when, why) and an event for the owner.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from portal import access
from portal.errors import Conflict, NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.models import (
    MileageReading,
    Store,
    UsedCarEvent,
    UsedCarFlag,
    UsedCarLead,
    UsedCarPhoto,
    UsedCarRequest,
    UsedCarTransition,
    User,
    Vehicle,
)
from portal.models.accounts import ADVISOR, MANAGER, OWNER
from portal.models.usedcars import (
    ACTIVE,
    APPROVED,
    CHANGES_REQUESTED,
    GRADES,
    LISTED,
    MAX_PHOTOS,
    REJECTED,
    SOLD,
    SUBMITTED,
    UNDER_REVIEW,
    WITHDRAWN,
)
from portal.services import audit
from portal.services.media import ProcessedImage, store_image
from portal.timeutil import now
from portal.validation import InvalidIdentifier, normalize_vin

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


# ---------------------------------------------------------------- owner: submit and edit


def _clean(
    *,
    vin: str,
    brand: str,
    series: str,
    model_year: int | None,
    mileage_km: int | None,
    first_registered_on: date | None,
    asking_price_fen: int | None,
) -> str:
    try:
        vin = normalize_vin(vin)
    except InvalidIdentifier as exc:
        raise ValidationError(_(str(exc)), field="vin") from exc
    if not (brand or "").strip():
        raise ValidationError(_("Give the brand."), field="brand")
    if not (series or "").strip():
        raise ValidationError(_("Give the series."), field="series")
    this_year = now().year
    if model_year is None or not 1980 <= model_year <= this_year + 1:
        raise ValidationError(
            _("Model year must be between 1980 and %(y)d.", y=this_year + 1), field="model_year"
        )
    if mileage_km is None or not 0 <= mileage_km <= 3_000_000:
        raise ValidationError(_("Give the mileage in km."), field="mileage_km")
    if first_registered_on is None or first_registered_on > now().date():
        raise ValidationError(
            _("The first registration date cannot be in the future."),
            field="first_registered_on",
        )
    if first_registered_on.year < model_year - 1:
        raise ValidationError(
            _("The car cannot be registered before its model year."),
            field="first_registered_on",
        )
    if asking_price_fen is None or asking_price_fen <= 0:
        raise ValidationError(_("Give an asking price above zero."), field="asking_price")
    return vin


def _add_photos(owner: User, req: UsedCarRequest, photos: list[bytes | ProcessedImage]) -> None:
    photos = [p for p in photos if p]
    taken = {p.position for p in req.photos}
    if len(taken) + len(photos) > MAX_PHOTOS:
        raise ValidationError(_("Up to %(n)d photos per car.", n=MAX_PHOTOS), field="photos")
    free = (i for i in range(MAX_PHOTOS) if i not in taken)
    for data in photos:
        image = store_image(data, owner=owner, field="photos")
        req.photos.append(UsedCarPhoto(image_id=image.id, position=next(free)))


def submit_request(
    owner: User,
    *,
    vehicle: Vehicle | None = None,
    vin: str = "",
    brand: str = "",
    series: str = "",
    model_year: int | None = None,
    mileage_km: int | None,
    first_registered_on: date | None,
    asking_price_fen: int | None,
    condition: str = "",
    accident_history: str = "",
    photos: list[bytes | ProcessedImage] = (),
) -> UsedCarRequest:
    """Create a sell request (from one of the owner's vehicles or a new car) with photos."""
    if owner.role != OWNER:
        raise NotAllowed(_("Only owners sell their cars here."))
    if owner.store_id is None:
        raise ValidationError(_("Choose your store in your profile first."), field="vin")
    if vehicle is not None:
        access.require_owner(owner, vehicle, _("Vehicle not found."))
        vin, brand, series = vehicle.vin, vehicle.brand, vehicle.series
        model_year = vehicle.model_year
    vin = _clean(
        vin=vin,
        brand=brand,
        series=series,
        model_year=model_year,
        mileage_km=mileage_km,
        first_registered_on=first_registered_on,
        asking_price_fen=asking_price_fen,
    )
    req = UsedCarRequest(
        owner_id=owner.id,
        store_id=owner.store_id,
        vehicle_id=vehicle.id if vehicle else None,
        vin=vin,
        brand=brand.strip(),
        series=series.strip(),
        model_year=model_year,
        mileage_km=mileage_km,
        first_registered_on=first_registered_on,
        asking_price_fen=asking_price_fen,
        condition=(condition or "").strip(),
        accident_history=(accident_history or "").strip(),
        status=SUBMITTED,
        created_at=now(),
        updated_at=now(),
    )
    db.session.add(req)
    db.session.flush()
    _add_photos(owner, req, list(photos))
    db.session.add(
        UsedCarTransition(
            request_id=req.id, from_status=None, to_status=SUBMITTED, actor_id=owner.id, at=now()
        )
    )
    _notify(req, SUBMITTED)
    check_plausibility(req)
    return req


def edit_and_resubmit(
    owner: User,
    req: UsedCarRequest,
    *,
    mileage_km: int | None,
    first_registered_on: date | None,
    asking_price_fen: int | None,
    condition: str,
    accident_history: str,
    photos: list[bytes | ProcessedImage] = (),
    remove_photo_ids: list[int] = (),
) -> UsedCarRequest:
    """Apply the owner's changes to a request the expert sent back, and resubmit it."""
    access.require_owner(owner, req, _("Request not found."))
    if req.status != CHANGES_REQUESTED:
        raise NotAllowed(_("You can edit a request only when the expert asks for changes."))
    _clean(
        vin=req.vin,
        brand=req.brand,
        series=req.series,
        model_year=req.model_year,
        mileage_km=mileage_km,
        first_registered_on=first_registered_on,
        asking_price_fen=asking_price_fen,
    )
    for photo in [p for p in req.photos if p.id in set(remove_photo_ids)]:
        req.photos.remove(photo)
    db.session.flush()
    _add_photos(owner, req, list(photos))
    req.mileage_km = mileage_km
    req.first_registered_on = first_registered_on
    req.asking_price_fen = asking_price_fen
    req.condition = (condition or "").strip()
    req.accident_history = (accident_history or "").strip()
    db.session.flush()
    _move(req, UNDER_REVIEW, owner, _("Resubmitted with changes."))
    check_plausibility(req)
    return req


def withdraw(actor: User, req: UsedCarRequest, reason: str = "") -> None:
    """Withdraw a request or take a listing down (the owner, or staff of the store)."""
    if actor.role == OWNER:
        access.require_owner(actor, req, _("Request not found."))
    else:
        _require_staff(actor, req)
        if not reason.strip():
            raise ValidationError(_("Give a reason."), field="reason")
    _move(req, WITHDRAWN, actor, reason)


# ---------------------------------------------------------------- plausibility flags


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
    try:
        with db.session.begin_nested():
            db.session.add(flag)
            db.session.flush()
    except IntegrityError:  # the same flag raised concurrently
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


def _require_staff(actor: User, req: UsedCarRequest) -> None:
    access.require_store(actor, req.store_id, _("Request not found."))


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
    text = str(EVENT_TEXT.get(kind, kind)) + (f" {reason}" if reason else "")
    owner = db.session.get(User, req.owner_id)
    notify.notify(owner, text, f"/used-cars/{req.id}")


# ---------------------------------------------------------------- public list and leads


def search_listed(
    *,
    brand: str | None = None,
    price_min_fen: int | None = None,
    price_max_fen: int | None = None,
    year_min: int | None = None,
    year_max: int | None = None,
    km_max: int | None = None,
    page: int = 1,
) -> tuple[list[UsedCarRequest], int]:
    """Return one page of listed cars matching the filters, and the total count."""
    conds = [UsedCarRequest.status == LISTED]
    if brand:
        conds.append(UsedCarRequest.brand == brand)
    if price_min_fen is not None:
        conds.append(UsedCarRequest.asking_price_fen >= price_min_fen)
    if price_max_fen is not None:
        conds.append(UsedCarRequest.asking_price_fen <= price_max_fen)
    if year_min is not None:
        conds.append(UsedCarRequest.model_year >= year_min)
    if year_max is not None:
        conds.append(UsedCarRequest.model_year <= year_max)
    if km_max is not None:
        conds.append(UsedCarRequest.mileage_km <= km_max)
    total = db.session.scalar(select(func.count(UsedCarRequest.id)).where(*conds))
    rows = db.session.scalars(
        select(UsedCarRequest)
        .where(*conds)
        .order_by(UsedCarRequest.listed_at.desc(), UsedCarRequest.id.desc())
        .limit(PAGE_SIZE)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
    ).all()
    return list(rows), total


def listed_brands() -> list[str]:
    """Return the brands that have a listed car, for the filter."""
    stmt = select(UsedCarRequest.brand).where(UsedCarRequest.status == LISTED).distinct()
    return sorted(db.session.scalars(stmt))


def next_lead_advisor(store_id: int) -> User | None:
    """Return the store's active advisor who got a lead least recently (round robin)."""
    # Serialise assignments per store (row lock on PostgreSQL; BEGIN IMMEDIATE on SQLite).
    db.session.execute(select(Store.id).where(Store.id == store_id).with_for_update())
    last = (
        select(UsedCarLead.advisor_id, func.max(UsedCarLead.id).label("last_id"))
        .where(UsedCarLead.store_id == store_id)
        .group_by(UsedCarLead.advisor_id)
        .subquery()
    )
    return db.session.scalar(
        select(User)
        .outerjoin(last, last.c.advisor_id == User.id)
        .where(User.role == ADVISOR, User.store_id == store_id, User.is_active.is_(True))
        .order_by(func.coalesce(last.c.last_id, 0), User.id)
        .limit(1)
    )


def add_lead(
    req: UsedCarRequest, *, name: str, phone: str | None, message: str, ip: str = ""
) -> UsedCarLead:
    """Record a buyer's inquiry about a listed car and assign it to an advisor."""
    if req.status != LISTED:
        raise NotFound(_("This car is not for sale."))
    if not (name or "").strip():
        raise ValidationError(_("Give your name."), field="name")
    if not phone:
        raise ValidationError(_("Enter an 11-digit mainland mobile number."), field="phone")
    advisor = next_lead_advisor(req.store_id)
    lead = UsedCarLead(
        request_id=req.id,
        store_id=req.store_id,
        advisor_id=advisor.id if advisor else None,
        name=name.strip()[:80],
        phone=phone,
        message=(message or "").strip()[:2000],
        ip=(ip or "")[:64],
        created_at=now(),
    )
    db.session.add(lead)
    db.session.flush()
    _notify(req, "lead")
    return lead
