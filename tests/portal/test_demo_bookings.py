"""The demo's year of repair history: every state, consistent capacity and mileage, idempotent."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import func, select

from portal.demo import load_demo, mileage_history
from portal.extensions import db
from portal.models import Booking, MileageReading, Rating, ServiceRecord, SlotUsage, Vehicle
from portal.models.bookings import HOLDING, STATUSES
from portal.services import booking_stats as stats
from portal.timeutil import now


def test_demo_history_has_every_state_and_stays_consistent():
    first = load_demo(owners=16)
    db.session.commit()
    assert first["bookings_created"] > 1000
    counts = dict(
        db.session.execute(select(Booking.status, func.count()).group_by(Booking.status)).all()
    )
    assert set(counts) == set(STATUSES)
    # Callers booked in by an advisor and a walk-in in the workshop sit beside app bookings.
    walk_ins = select(Booking.status).where(Booking.source == "walk_in")
    assert set(db.session.scalars(walk_ins)) == {"checked_in"}
    phoned = select(Booking.status).where(Booking.source == "phone")
    assert set(db.session.scalars(phoned)) == {"accepted"}
    assert counts["completed"] > counts["rejected"] > 0
    assert db.session.scalar(select(func.count(Rating.id))) > counts["completed"] // 2
    # Every place held in a future slot is one holding booking (proposals hold two places).
    for usage in db.session.scalars(select(SlotUsage)):
        holding = db.session.scalar(
            select(func.count(Booking.id)).where(
                Booking.store_id == usage.store_id,
                ((Booking.slot_start == usage.starts_at) & Booking.status.in_(HOLDING))
                | ((Booking.proposed_start == usage.starts_at) & (Booking.status == "proposed")),
            )
        )
        assert usage.used == holding and usage.starts_at > now()
    # The odometer never runs backwards and each booking's service record left a reading
    # (the maintenance history from before the portal has records without bookings).
    for vehicle in db.session.scalars(select(Vehicle)):
        kms = db.session.scalars(
            select(MileageReading.km)
            .where(MileageReading.vehicle_id == vehicle.id)
            .order_by(MileageReading.recorded_at, MileageReading.id)
        ).all()
        assert kms == sorted(kms) and vehicle.current_km == max(kms, default=0)
    # No reading is dated in the future (the owners' readings once ran up to 110 days ahead).
    future = select(func.count(MileageReading.id)).where(MileageReading.recorded_at > now())
    assert db.session.scalar(future) == 0
    records = db.session.scalar(
        select(func.count(ServiceRecord.id)).where(ServiceRecord.booking_id.isnot(None))
    )
    service_readings = select(func.count(MileageReading.id)).where(
        MileageReading.source == "service"
    )
    assert db.session.scalar(service_readings) == records
    year = (now() - timedelta(days=366), now())
    assert stats.repeat_repairs(None, *year, days=30)["count"] > 0

    again = load_demo(owners=16)
    db.session.commit()
    assert again["bookings_created"] == 0
    assert db.session.scalar(select(func.count(Booking.id))) == sum(counts.values())


def test_mileage_history_steps_forward_and_stops_before_the_limit():
    rng = random.Random(7)
    start, until = date(2020, 3, 1), date(2024, 3, 1)
    readings = list(mileage_history(rng, start, until))
    assert len(readings) >= 7  # four years at one reading per 60 to 200 days
    days = [start] + [day for day, _ in readings]
    kms = [0] + [km for _, km in readings]
    for k in range(1, len(days)):
        assert 60 <= (days[k] - days[k - 1]).days <= 200
        assert 2000 <= kms[k] - kms[k - 1] <= 9000
    assert days[-1] < until
    assert list(mileage_history(rng, until, until)) == []
