"""Write endpoint for customers' vehicles: a mileage reading, through the same service (and the
same rule: never below the last reading) as the owner's page and the advisor's check-in."""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from spectree import Response

from api import idempotency, schemas
from api.problems import Problem
from api.spec import spec
from api.views import bp, needs
from portal import access
from portal.extensions import db
from portal.models import Vehicle
from portal.services import vehicles as svc

ERRORS = {f"HTTP_{code}": Problem for code in (400, 401, 403, 404, 409, 415, 422, 429)}


@bp.post("/vehicles/<int:vehicle_id>/mileage")
@needs("customers:write")
@spec.validate(
    json=schemas.MileageReading,
    headers=schemas.IdempotencyHeaders,
    resp=Response(**ERRORS, HTTP_200=schemas.Vehicle),
    tags=["customers"],
)
def vehicle_mileage(
    vehicle_id: int, json: schemas.MileageReading, headers: schemas.IdempotencyHeaders
):
    """Record a mileage reading of a vehicle of the token's stores (a lower one is refused)."""

    def work():
        vehicle = access.store_record(g.api_actor, Vehicle, vehicle_id, _("Vehicle not found."))
        svc.record_mileage(vehicle, json.km, source="api")
        db.session.flush()
        return schemas.Vehicle.model_validate(vehicle).model_dump(mode="json"), 200

    return idempotency.once(g.api_token, headers.idempotency_key, work)
