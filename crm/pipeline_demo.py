"""Demo records of the sales pipeline: the store's demo cars, drives, quotes, orders, a delivery.

Called by crm.demo for each demo lead, after the lead has been walked to "visited"; the later
stages are reached through the pipeline's own verbs, as an advisor would."""

from __future__ import annotations

import random
from datetime import timedelta
from zoneinfo import ZoneInfo

from crm import delivery
from crm import leads as lead_svc
from crm import orders as order_svc
from crm import quotes as quote_svc
from crm.models import ORDER, QUOTE, STAGES, TEST_DRIVE, Lead, LeadEvent
from crm.pipeline_models import BOOKED, DRIVEN, DemoCar, DriveBooking, Quote, SalesOrder
from crm.test_drives import slots
from portal.demo import make_plate, make_vin
from portal.extensions import db
from portal.models import Store, User
from portal.timeutil import now
from shop.models import Product

# (brand, zh name, en name, plate)
DEMO_CARS = [
    ("丰田", "丰田 凯美瑞 双擎", "Toyota Camry Hybrid", "粤B·D1234"),
    ("本田", "本田 CR-V 锐·混动", "Honda CR-V e:HEV", "粤B·D5678"),
    ("比亚迪", "比亚迪 汉EV", "BYD Han EV", "粤B·D9012"),
]
LICENCE = "110101199003074477"  # a well-formed demo licence number (check character 7)


def demo_cars(store: Store) -> list[DemoCar]:
    """Add the store's demo cars once and return them."""
    cars = list(db.session.query(DemoCar).filter(DemoCar.store_id == store.id))
    if cars:
        return cars
    for brand, zh, en, plate in DEMO_CARS:
        cars.append(
            DemoCar(
                store_id=store.id,
                brand=brand,
                model_zh=zh,
                model_en=en,
                plate=plate.replace("·", ""),
            )
        )
    db.session.add_all(cars)
    db.session.flush()
    return cars


def walk(
    rng: random.Random, worker: User, lead: Lead, stages: list[str], cars: list[DemoCar], i: int
):
    """Take the lead through the pipeline stages after "visited" with real records."""
    if TEST_DRIVE not in stages:
        return
    car = cars[i % len(cars)]
    # An hour after now, on the hour; backdate() then moves it with the lead into the past.
    start = now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    day = start.date()
    db.session.add(
        DriveBooking(
            lead_id=lead.id,
            car_id=car.id,
            store_id=lead.store_id,
            advisor_id=lead.advisor_id,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            status=DRIVEN,
            licence_no=LICENCE,
            licence_valid_until=day.replace(year=day.year + 4),
            licence_checked_by_id=worker.id,
            outcome="客户很满意加速和静音",
        )
    )
    lead_svc.advance(worker, lead, TEST_DRIVE, car.model_zh)
    db.session.add(LeadEvent(lead_id=lead.id, kind="drive_booked", actor_id=worker.id))
    if QUOTE not in stages:
        return
    brand, _sep, series = lead.model_interest.partition(" ")
    products = list(db.session.query(Product).filter(Product.is_active.is_(True)).limit(3))
    price = rng.choice([159_800, 189_800, 219_800, 249_800]) * 100
    big_discount = ORDER not in stages and i % 2 == 0  # one quote waits for the manager
    quote = quote_svc.make_quote(
        worker,
        lead,
        quote_svc.Draft(
            brand=brand or "丰田",
            series=series or "凯美瑞",
            vehicle_fen=price,
            insurance_fen=5_600_00,
            registration_fen=500_00,
            discount_fen=12_000_00 if big_discount else 3_000_00,
            accessories=tuple((p.id, 1) for p in products[:2]),
            note="含首保，送贴膜",
        ),
    )
    if ORDER not in stages:
        return
    quote_svc.accept(worker, quote)
    order = order_svc.sign(worker, quote, 20_000_00, None)
    if STAGES[-1] not in stages:
        return
    order_svc.allocate(worker, order, make_vin(rng, "LVG", now().year))
    order_svc.invoice(worker, order, f"FP{rng.randrange(10**8):08d}")
    delivery.tick_all(worker, order)
    order_svc.deliver(worker, order, make_plate(rng))


def backdate(lead: Lead, delta: timedelta) -> None:
    """Move the lead's drives, quotes and order back in time with the lead."""
    for drive in db.session.query(DriveBooking).filter(DriveBooking.lead_id == lead.id):
        drive.starts_at -= delta
        drive.ends_at -= delta
        drive.licence_checked_at -= delta
        drive.created_at -= delta
    for quote in db.session.query(Quote).filter(Quote.lead_id == lead.id):
        quote.created_at -= delta
    for order in db.session.query(SalesOrder).filter(SalesOrder.lead_id == lead.id):
        for name in ("signed_at", "allocated_at", "invoiced_at", "delivered_at", "created_at"):
            if getattr(order, name) is not None:
                setattr(order, name, getattr(order, name) - delta)


def upcoming_drive(worker: User, lead: Lead, cars: list[DemoCar]) -> None:
    """Book tomorrow's third slot of the first car for a lead in the test-drive stage."""
    day = now().astimezone(ZoneInfo(lead.store.timezone)).date() + timedelta(days=1)
    start = slots(lead.store, day)[2].starts_at
    db.session.add(
        DriveBooking(
            lead_id=lead.id,
            car_id=cars[0].id,
            store_id=lead.store_id,
            advisor_id=lead.advisor_id,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            status=BOOKED,
            licence_no=LICENCE,
            licence_valid_until=day.replace(year=day.year + 4),
            licence_checked_by_id=worker.id,
        )
    )
