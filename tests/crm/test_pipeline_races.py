"""Races in the sales pipeline with real threads, each in its own transaction (both engines):
one demo car slot booked by many advisors at once, and two managers deciding one discount."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from crm import leads as svc
from crm import quotes as quote_svc
from crm import test_drives as drive_svc
from crm.models import PHONE, Lead
from crm.pipeline_models import DemoCar, DriveBooking, Quote, SalesSettings
from portal.models import User
from tests.crm.test_races import _run

LICENCE = "110101199003074477"


def test_many_advisors_booking_one_car_slot_at_once_get_one_booking(app, f, db):
    store = f.store()
    advisors = [f.advisor(store) for _ in range(6)]
    leads = []
    for i, adv in enumerate(advisors):
        lead = svc.capture(
            svc.Inquiry(name=f"客户{i}", phone=f"1365555{i:04d}", store=store, source=PHONE)
        ).lead
        lead.advisor_id = adv.id  # each advisor books for their own customer
        leads.append(lead.id)
    car = drive_svc.add_car(f.manager(store), store, "比亚迪", "比亚迪 汉EV", "BYD Han EV", "")
    day = datetime.now(UTC).date() + timedelta(days=2)
    slot = drive_svc.slots(store, day)[3]
    ids = {"car": car.id, "advisors": [a.id for a in advisors]}
    db.session.commit()

    def work(i: int) -> None:
        drive_svc.book(
            db.session.get(User, ids["advisors"][i]),
            db.session.get(Lead, leads[i]),
            db.session.get(DemoCar, ids["car"]),
            slot.starts_at,
            licence_no=LICENCE,
            licence_valid_until=date(day.year + 3, 1, 1),
            licence_seen=True,
        )

    results = _run(app, 6, work)
    db.session.rollback()
    outcomes = Counter("ok" if r == "ok" else "conflict" if "Conflict" in r else r for r in results)
    assert outcomes == {"ok": 1, "conflict": 5}, results
    live = select(func.count(DriveBooking.id)).where(DriveBooking.status == "booked")
    assert db.session.scalar(live) == 1
    booked_lead = db.session.scalar(select(DriveBooking.lead_id))
    stages = dict(db.session.execute(select(Lead.id, Lead.stage)).all())
    assert [lid for lid, stage in stages.items() if stage == "test_drive"] == [booked_lead]


def test_two_managers_deciding_one_discount_at_once_give_one_decision(app, f, db):
    store = f.store()
    adv = f.advisor(store)
    managers = [f.manager(store) for _ in range(4)]
    lead = svc.capture(
        svc.Inquiry(name="郑先生", phone="13655556666", store=store, source=PHONE)
    ).lead
    db.session.add(SalesSettings(store_id=store.id, discount_limit_fen=1_000_00, slot_minutes=60))
    quote = quote_svc.make_quote(
        adv,
        lead,
        quote_svc.Draft(brand="本田", series="雅阁", vehicle_fen=179_800_00, discount_fen=9_000_00),
    )
    quote_id, manager_ids = quote.id, [m.id for m in managers]
    db.session.commit()
    assert quote.status == "awaiting_approval"

    def work(i: int) -> None:
        quote_svc.decide(
            db.session.get(User, manager_ids[i]),
            db.session.get(Quote, quote_id),
            approve=i % 2 == 0,
        )

    results = _run(app, 4, work)
    db.session.rollback()
    assert results.count("ok") == 1, results
    assert all("Conflict" in r for r in results if r != "ok")
    decided = db.session.get(Quote, quote_id)
    winner = manager_ids.index(decided.decided_by_id)
    assert decided.status == ("approved" if winner % 2 == 0 else "refused")
