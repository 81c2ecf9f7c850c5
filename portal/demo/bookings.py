"""Demo repair history: a year of bookings, service records, ratings and mileage per demo store.

Past rows are written straight into the tables (bulk inserts, no capacity checks: those slots
are gone). Upcoming bookings go through portal.services.capacity.take_place, so that the
places they hold in SlotUsage match what the slot picker shows.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from portal.demo.repair_year import DESCRIPTIONS, ELECTRIC, Car, History, event_row
from portal.extensions import db
from portal.models import (
    Booking,
    BookingEvent,
    MileageReading,
    Store,
    User,
    Vehicle,
)
from portal.models.accounts import ADVISOR, OWNER
from portal.services import brands, capacity
from portal.timeutil import now


def _slot_starts(store: Store, day) -> list[datetime]:
    tz, utc = ZoneInfo(store.timezone), ZoneInfo("UTC")
    start = datetime.combine(day, store.opens_at, tzinfo=tz)
    end = datetime.combine(day, store.closes_at, tzinfo=tz)
    out = []
    while start + timedelta(hours=1) <= end:
        out.append(start.astimezone(utc))
        start += timedelta(hours=1)
    return out


def _has_history(store_ids: list[int]) -> bool:
    return bool(db.session.scalar(select(Booking.id).where(Booking.store_id.in_(store_ids))))


def _cars(store: Store) -> list[Car]:
    rows = db.session.execute(
        select(Vehicle.id, Vehicle.owner_id, Vehicle.series)
        .join(User, User.id == Vehicle.owner_id)
        .where(User.store_id == store.id, User.role == OWNER)
        .order_by(Vehicle.id)
    ).all()
    cars = {vid: Car(vid, oid, series in ELECTRIC) for vid, oid, series in rows}
    for vid, km, at in db.session.execute(
        select(MileageReading.vehicle_id, MileageReading.km, MileageReading.recorded_at)
        .where(MileageReading.vehicle_id.in_(cars))
        .order_by(MileageReading.recorded_at)
    ):
        cars[vid].readings.append((at, km))
    return list(cars.values())


def _past_year(history: History, today) -> None:
    """Fill the 365 days before today; some repairs come back within a few weeks."""
    rng, store = history.rng, history.store
    tz = ZoneInfo(store.timezone)
    comebacks: dict = {}
    for offset in range(365, 0, -1):
        day = today - timedelta(days=offset)
        slots = _slot_starts(store, day)
        todo = [(None, None)] * (rng.randint(4, 9) if day.weekday() >= 5 else rng.randint(2, 6))
        for car, fault in todo + comebacks.pop(day, []):
            extra = history.add(rng.choice(slots), car, fault)
            if "comeback" in extra:
                when, again, category = extra.pop("comeback")
                if when.astimezone(tz).date() < today:
                    comebacks.setdefault(when.astimezone(tz).date(), []).append((again, category))


def _upcoming(history: History, owner_ids: list[int]) -> int:
    """Book the next days through the capacity service: the queue and board have work today."""
    from portal.services import bookings as svc

    rng, store = history.rng, history.store
    advisors = [db.session.get(User, a) for a in history.advisors]
    made = 0
    plan = ["submitted"] * 6 + ["accepted"] * 10 + ["proposed"] * 2 + ["phone"] * 2
    for i, status in enumerate(plan):
        car = history.cars[(i * 7 + 3) % len(history.cars)]
        if car.owner_id in owner_ids:
            continue  # the demo owner's own bookings are left to the person trying the demo
        days = capacity.bookable_days(store)[: 1 + i % 6]
        free = capacity.free_slots(store, days[-1]) or capacity.free_slots(store, days[0])
        if not free:
            continue
        owner, vehicle = db.session.get(User, car.owner_id), db.session.get(Vehicle, car.id)
        job = history.job()
        if status == "phone":  # a customer who rang the store; the advisor booked them in
            svc.enter_job(
                rng.choice(advisors),
                owner,
                vehicle,
                source="phone",
                service_types=[job[1]],
                description=DESCRIPTIONS[job[2]],
                slot_start=rng.choice(free).starts_at,
            )
            made += 1
            continue
        booking = svc.book_repair(owner, vehicle, store, rng.choice(free).starts_at, [job[1]])
        booking.description = DESCRIPTIONS[job[2]]
        booking.created_at = now() - timedelta(hours=rng.randint(1, 30))
        staff = rng.choice(advisors)
        if status == "accepted":
            svc.accept(staff, booking, bay=rng.randint(1, store.bays))
        elif status == "proposed":
            later = [
                s for s in capacity.free_slots(store, days[-1]) if s.starts_at != booking.slot_start
            ]
            if later:
                svc.propose(staff, booking, later[-1].starts_at, "原时段已满，可否改到这个时间？")
        made += 1
    return made


def _in_workshop(history: History, today) -> None:
    """Put three cars in the workshop right now: checked in (a walk-in), in progress, ready."""
    rng, store = history.rng, history.store
    past = [
        s for d in (today - timedelta(days=1), today) for s in _slot_starts(store, d) if s < now()
    ]
    for i, status in enumerate(("checked_in", "in_progress", "ready")):
        car = history.cars[-1 - i]
        slot = past[-1 - i % 2]
        _, stype, fault, *_ = history.job()
        advisor = rng.choice(history.advisors)
        km = car.km_at(slot)
        walk_in = status == "checked_in"  # came in without booking; checked in on arrival
        booking = Booking(
            owner_id=car.owner_id,
            vehicle_id=car.id,
            store_id=store.id,
            brand_id=brands.vehicle_brand(car.id),
            slot_start=slot,
            status=status,
            source="walk_in" if walk_in else "app",
            service_types=[stype],
            description=DESCRIPTIONS[fault],
            created_at=slot - timedelta(days=2),
            updated_at=slot,
            advisor_id=advisor,
            decided_at=slot - timedelta(days=2) + timedelta(hours=1),
            bay=i + 1,
            checkin_km=km,
            # The advisor promised the car back later today (the status link shows it).
            promised_at=now() + timedelta(hours=2 + i),
        )
        db.session.add(booking)
        db.session.flush()
        steps = ["submitted", "accepted", "checked_in", "in_progress", "ready"]
        steps = steps[: steps.index(status) + 1]
        times = [booking.created_at, booking.decided_at] + [
            slot + timedelta(minutes=10 + 20 * k) for k in range(len(steps) - 2)
        ]
        if walk_in:
            booking.created_at = booking.decided_at = times[-1]
            steps, times = steps[-1:], times[-1:]
        prev = None
        for kind, at in zip(steps, times, strict=True):
            actor = car.owner_id if kind == "submitted" else advisor
            db.session.add(BookingEvent(**event_row(booking.id, kind, at, actor, "", prev)))
            prev = kind
        if status == "in_progress":  # a note for the owner, which the status link shows
            note = "已拆检，正在更换零件，预计按时交车。"
            row = event_row(
                booking.id,
                "progress",
                min(times[-1] + timedelta(minutes=15), now()),
                advisor,
                note,
                None,
            )
            db.session.add(BookingEvent(**dict(row, to_status=None)))
        db.session.add(MileageReading(vehicle_id=car.id, km=km, source="staff", recorded_at=slot))


def _demo_owner_next(rng: random.Random, owner_id: int | None) -> int:
    """Give the demo owner's last car an accepted oil service in a few days, so the home's
    dashboard shows a next booking beside what is still due (the air filter, say)."""
    from portal.services import bookings as svc

    owner = db.session.get(User, owner_id) if owner_id else None
    if owner is None or not owner.vehicles or owner.store_id is None:
        return 0
    store, vehicle = db.session.get(Store, owner.store_id), owner.vehicles[-1]
    days = capacity.bookable_days(store)[2:5]
    free = [s for d in days for s in capacity.free_slots(store, d)]
    advisor = db.session.scalar(
        select(User).where(User.store_id == store.id, User.role == ADVISOR).order_by(User.id)
    )
    if not free or advisor is None:
        return 0
    booking = svc.book_repair(
        owner,
        vehicle,
        store,
        free[min(len(free) - 1, 3)].starts_at,
        ["maintenance"],
        "按保养计划更换机油和机油滤清器",
        maintenance_items=["engine_oil", "oil_filter"],
    )
    svc.accept(advisor, booking, bay=rng.randint(1, store.bays))
    return 1


def load_booking_history(rng: random.Random, demo_owner_phone: str = "13800000001") -> int:
    """Add a year of repair history and some upcoming bookings; nothing if they exist already."""
    stores = list(db.session.scalars(select(Store).order_by(Store.id)))
    if not stores or _has_history([s.id for s in stores]):
        return 0
    demo_owner = db.session.scalar(select(User.id).where(User.phone == demo_owner_phone))
    today = now().astimezone(ZoneInfo(stores[0].timezone)).date()
    made = 0
    for store in stores:
        advisors = list(
            db.session.scalars(
                select(User.id).where(User.store_id == store.id, User.role == ADVISOR)
            )
        )
        cars = _cars(store)
        if not advisors or not cars:
            continue
        history = History(rng, store, advisors, cars)
        _past_year(history, today)
        made += history.write()
        _in_workshop(history, today)
        made += 3
        made += _upcoming(history, [demo_owner])
    made += _demo_owner_next(rng, demo_owner)
    top = select(MileageReading.vehicle_id, func.max(MileageReading.km)).group_by(
        MileageReading.vehicle_id
    )
    for vehicle_id, km in db.session.execute(top).all():
        db.session.get(Vehicle, vehicle_id).current_km = km
    db.session.flush()
    return made
