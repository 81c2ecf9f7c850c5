"""The demo's technicians: four per store, assigned to today's jobs with job cards (the first
one also to a car in the workshop waiting for its inspection), and named on the past year's
jobs so that the repeat-repair attribution has something to show."""

from __future__ import annotations

import random

from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    Booking,
    BookingTechnician,
    JobLabourLine,
    JobPartLine,
    ServiceItem,
    ServiceRecord,
    Store,
    User,
)
from portal.models.accounts import TECHNICIAN
from portal.models.bookings import ACCEPTED, CHECKED_IN, IN_PROGRESS, READY
from portal.timeutil import now

# (name) per store; the first store's first technician has the demo login.
NAMES = (("陈建军", "刘师傅", "黄志强", "吴海涛"), ("杨国平", "郑晓东", "徐师傅", "马永刚"))
LABOUR = (("更换前刹车片", 15, 12000), ("四轮定位", 10, 15000), ("更换机油机滤", 5, 10000))
PARTS = (("BP-FRONT-01", "前刹车片（套）", 1, 38000), ("OF-TY-05", "机油滤芯", 1, 4500))


def _technicians(store: Store, si: int, pw_hash: str) -> list[User]:
    techs = []
    for ti, name in enumerate(NAMES[si % len(NAMES)]):
        login = f"1390000{si}{300 + ti}"
        user = db.session.scalar(select(User).where(User.phone == login))
        if user is None:
            user = User(
                role=TECHNICIAN,
                name=name,
                phone=login,
                password_hash=pw_hash,
                store_id=store.id,
                password_changed_at=now(),
            )
            db.session.add(user)
            db.session.flush()
        techs.append(user)
    return techs


def _job_cards(rng: random.Random, store: Store, techs: list[User]) -> None:
    """Give the store's open jobs technicians, and the ones in the workshop a job card."""
    open_jobs = db.session.scalars(
        select(Booking)
        .where(Booking.store_id == store.id)
        .where(Booking.status.in_((ACCEPTED, CHECKED_IN, IN_PROGRESS, READY)))
        .order_by(Booking.slot_start)
        .limit(8)
    ).all()
    for i, booking in enumerate(open_jobs):
        if booking.assignments:
            continue
        crew = [techs[i % len(techs)]] + ([techs[(i + 1) % len(techs)]] if i % 3 == 0 else [])
        booking.assignments = [BookingTechnician(technician_id=t.id) for t in crew]
        if booking.status == ACCEPTED:
            continue
        operation, tenths, rate = rng.choice(LABOUR)
        booking.labour_lines = [
            JobLabourLine(
                operation=operation, hours_tenths=tenths, rate_fen=rate, technician_id=crew[0].id
            )
        ]
        part_no, description, qty, price = rng.choice(PARTS)
        booking.part_lines = [
            JobPartLine(
                part_no=part_no, description=description, quantity=qty, unit_price_fen=price
            )
        ]
    _car_to_inspect(open_jobs, techs[0])


def _car_to_inspect(open_jobs: list[Booking], tech: User) -> None:
    """Put the store's first technician (the demo login's, in the first store) on a car in the
    workshop not inspected yet, so that they have an inspection to record."""
    waiting = [
        b for b in open_jobs if b.status in (CHECKED_IN, IN_PROGRESS) and b.inspection is None
    ]
    if not waiting or any(a.technician_id == tech.id for b in waiting for a in b.assignments):
        return
    waiting[0].assignments.append(BookingTechnician(technician_id=tech.id))


def _history(store: Store, techs: list[User]) -> None:
    """Name technicians on the store's completed jobs: the first one does the brake jobs, so
    the brakes that came back point at one person."""
    rows = db.session.execute(
        select(ServiceRecord.id, ServiceRecord.booking_id, ServiceRecord.fault_category)
        .where(ServiceRecord.store_id == store.id, ServiceRecord.booking_id.is_not(None))
        .order_by(ServiceRecord.completed_at)
    ).all()
    done = set(
        db.session.scalars(
            select(BookingTechnician.booking_id).where(
                BookingTechnician.booking_id.in_([r.booking_id for r in rows])
            )
        )
    )
    for i, (record_id, booking_id, fault) in enumerate(rows):
        if booking_id in done:
            continue
        tech = techs[0] if fault == "brakes" else techs[1 + i % (len(techs) - 1)]
        db.session.add(BookingTechnician(booking_id=booking_id, technician_id=tech.id))
        labour = db.session.scalars(
            select(ServiceItem).where(
                ServiceItem.record_id == record_id, ServiceItem.kind == "labour"
            )
        ).all()
        for item in labour:
            item.technician_id = tech.id


def load_technician_demo(pw_hash: str, seed: int = 19) -> int:
    """Create the technicians of every demo store and their jobs; returns how many exist."""
    rng = random.Random(seed)
    stores = db.session.scalars(select(Store).order_by(Store.id)).all()
    count = 0
    for si, store in enumerate(stores):
        techs = _technicians(store, si, pw_hash)
        _job_cards(rng, store, techs)
        _history(store, techs)
        count += len(techs)
    db.session.flush()
    return count
