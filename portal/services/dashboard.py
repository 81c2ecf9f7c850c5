"""The owner home's dashboard: per car, what matters now.

A job in the workshop, the next booking, maintenance items due or overdue, an open rescue. One
query for the bookings, one for the rescues, and the car's schedule (one query per car, the
same statement the schedule page runs), whatever the number of bookings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import access
from portal.extensions import db
from portal.models import Booking, Rescue, User, Vehicle
from portal.models.bookings import (
    ACCEPTED,
    CHECKED_IN,
    IN_PROGRESS,
    PROPOSED,
    READY,
    SUBMITTED,
)
from portal.models.rescue import OPEN as RESCUE_OPEN
from portal.services.bookings import status_label as booking_label
from portal.services.maintenance.due import DUE, OVERDUE
from portal.services.maintenance.schedule import ScheduleRow, load_schedule

IN_WORKSHOP = (CHECKED_IN, IN_PROGRESS, READY)
UPCOMING = (SUBMITTED, PROPOSED, ACCEPTED)


@dataclass
class CarNow:
    """What the owner should see first on one car's card."""

    job: Booking | None = None
    next_booking: Booking | None = None
    due: list[ScheduleRow] = field(default_factory=list)
    rescue: Rescue | None = None

    @property
    def overdue(self) -> bool:
        return any(row.status == OVERDUE for row in self.due)

    @property
    def due_codes(self) -> list[str]:
        return [row.item.code for row in self.due]

    @property
    def quiet(self) -> bool:
        return not (self.job or self.next_booking or self.due or self.rescue)


def cars_now(owner: User, vehicles: list[Vehicle]) -> dict[int, CarNow]:
    """Return each of the owner's cars' dashboard, by vehicle id."""
    board = {v.id: CarNow() for v in vehicles}
    if board:
        _place_bookings(owner, board)
        _place_rescues(owner, board)
        for vehicle_id, car in board.items():
            if car.job is None:  # in the workshop, the job card says what is being done
                car.due = _due(vehicle_id, car.next_booking)
    return board


def _place_bookings(owner: User, board: dict[int, CarNow]) -> None:
    bookings = db.session.scalars(
        access.owner_scope(select(Booking), Booking.owner_id, owner)
        .where(Booking.status.in_(IN_WORKSHOP + UPCOMING))
        .options(selectinload(Booking.store))
        .order_by(Booking.slot_start, Booking.id)
    )
    for b in bookings:
        car = board.get(b.vehicle_id)
        if car is None:
            continue
        if b.status in IN_WORKSHOP:
            car.job = car.job or b
        elif car.next_booking is None:
            car.next_booking = b


def _place_rescues(owner: User, board: dict[int, CarNow]) -> None:
    rescues = db.session.scalars(
        access.owner_scope(select(Rescue), Rescue.owner_id, owner)
        .where(Rescue.status.in_(RESCUE_OPEN))
        .order_by(Rescue.created_at.desc())
    )
    for r in rescues:
        car = board.get(r.vehicle_id)
        if car is not None and car.rescue is None:
            car.rescue = r


def _due(vehicle_id: int, next_booking: Booking | None) -> list[ScheduleRow]:
    """The car's items due or overdue, less those its next booking already covers."""
    found = load_schedule(vehicle_id)
    if found is None:
        return []
    booked = set(next_booking.maintenance_items or ()) if next_booking else set()
    return [r for r in found.rows if r.status in (DUE, OVERDUE) and r.item.code not in booked]


def card_context(owner: User, vehicles: list[Vehicle]) -> dict:
    """Return what templates/vehicles/_vehicle.html needs to show each card's dashboard."""
    from portal.services.rescue import status_label as rescue_label

    return {
        "board": cars_now(owner, vehicles),
        "booking_label": booking_label,
        "rescue_label": rescue_label,
    }
