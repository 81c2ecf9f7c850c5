"""Write endpoints: book, reschedule and cancel through the services the owner's pages use."""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from spectree import Response

from api import idempotency, schemas
from api.problems import Problem
from api.spec import spec
from api.views import bp, needs
from portal import access
from portal.errors import NotFound
from portal.extensions import db
from portal.models import Booking, Store, User, Vehicle
from portal.models.accounts import OWNER
from portal.services import bookings as svc

ERRORS = {f"HTTP_{code}": Problem for code in (400, 401, 403, 404, 409, 415, 429)}


def _answers(status: str) -> Response:
    return Response(**ERRORS, **{status: schemas.Booking})


def _answer(booking: Booking, status: int) -> tuple[dict, int]:
    db.session.flush()
    db.session.refresh(booking)
    return schemas.Booking.model_validate(booking).model_dump(mode="json"), status


def _customer(customer_id: int) -> User:
    """Return a customer the token may book for: a car owner of one of its stores."""
    user = access.store_record(g.api_actor, User, customer_id, _("Customer not found."))
    if user.role != OWNER:
        raise NotFound(_("Customer not found."))
    return user


def _booking(booking_id: int) -> Booking:
    return access.store_record(g.api_actor, Booking, booking_id, _("Booking not found."))


@bp.post("/bookings")
@needs("bookings:write")
@spec.validate(
    json=schemas.BookingCreate,
    headers=schemas.IdempotencyHeaders,
    resp=_answers("HTTP_201"),
    tags=["bookings"],
)
def booking_create(json: schemas.BookingCreate, headers: schemas.IdempotencyHeaders):
    """Book a repair for a customer's vehicle into a free slot (the store's capacity holds)."""

    def work():
        owner = _customer(json.customer_id)
        access.require_store(g.api_actor, json.store_id, _("Store not found."))
        store = db.session.get(Store, json.store_id)
        if store is None:
            raise NotFound(_("Store not found."))
        vehicle = db.session.get(Vehicle, json.vehicle_id)
        if vehicle is None:
            raise NotFound(_("Vehicle not found."))
        booking = svc.book_repair(
            owner, vehicle, store, json.slot_start, list(json.service_types), json.description
        )
        return _answer(booking, 201)

    return idempotency.once(g.api_token, headers.idempotency_key, work)


@bp.post("/bookings/<int:booking_id>/reschedule")
@needs("bookings:write")
@spec.validate(
    json=schemas.BookingReschedule,
    headers=schemas.IdempotencyHeaders,
    resp=_answers("HTTP_200"),
    tags=["bookings"],
)
def booking_reschedule(
    booking_id: int, json: schemas.BookingReschedule, headers: schemas.IdempotencyHeaders
):
    """Move an accepted booking into another free slot, up to the store's cut-off."""

    def work():
        booking = _booking(booking_id)
        svc.reschedule(booking.owner, booking, json.slot_start)
        return _answer(booking, 200)

    return idempotency.once(g.api_token, headers.idempotency_key, work)


@bp.post("/bookings/<int:booking_id>/cancel")
@needs("bookings:write")
@spec.validate(
    json=schemas.BookingCancel,
    headers=schemas.IdempotencyHeaders,
    resp=_answers("HTTP_200"),
    tags=["bookings"],
)
def booking_cancel(
    booking_id: int, json: schemas.BookingCancel, headers: schemas.IdempotencyHeaders
):
    """Cancel a booking for its owner, as the owner could (before the store's cut-off)."""

    def work():
        booking = _booking(booking_id)
        svc.cancel_booking(booking.owner, booking, json.reason)
        return _answer(booking, 200)

    return idempotency.once(g.api_token, headers.idempotency_key, work)
