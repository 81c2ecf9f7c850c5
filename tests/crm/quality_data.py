"""Shared test data of service quality: a finished job of a store, its owner and advisor."""

from __future__ import annotations

from portal.extensions import db
from portal.services import bookings as svc
from tests import factories


def finished_job(store, advisor, owner=None):
    """Book, accept, check in, work and complete a job at the store; return the booking."""
    owner = owner or factories.owner(store)
    vehicle = factories.vehicle(owner)
    booking = svc.book_repair(owner, vehicle, store, factories.slot(store), ["repair"])
    svc.accept(advisor, booking, bay=1)
    svc.check_in(advisor, booking, vehicle.current_km + 100)
    svc.start_work(advisor, booking)
    svc.complete(
        advisor,
        booking,
        [{"kind": "labour", "description": "更换刹车片", "quantity": 1, "unit_price_fen": 20000}],
        fault_category="brakes",
    )
    db.session.commit()
    return booking
