"""Submit, correct and withdraw an owner's request to sell a car."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from portal import access
from portal.errors import NotAllowed, ValidationError
from portal.extensions import db
from portal.models import (
    UsedCarPhoto,
    UsedCarRequest,
    UsedCarTransition,
    User,
    Vehicle,
)
from portal.models.accounts import OWNER
from portal.models.usedcars import (
    CHANGES_REQUESTED,
    MAX_PHOTOS,
    SUBMITTED,
    UNDER_REVIEW,
    WITHDRAWN,
)
from portal.services.brands import brand_of
from portal.services.media import ProcessedImage, store_image
from portal.services.usedcars.vetting import check_plausibility
from portal.services.usedcars.workflow import (
    _move,
    _notify,
    _require_staff,
)
from portal.services.vehicles import store_today
from portal.timeutil import now
from portal.validation import InvalidIdentifier, normalize_vin


def _clean(
    *,
    store_id: int | None,
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
    if first_registered_on is None or first_registered_on > store_today(store_id):
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
        store_id=owner.store_id,
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
        brand_id=brand_of(brand),
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
        store_id=req.store_id,
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
