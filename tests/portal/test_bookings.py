"""Repair bookings: capacity, the owner's verbs, the workshop's verbs, races."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from PIL import Image as PILImage
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from portal.errors import Conflict, NotFound, ValidationError
from portal.models import Booking, BookingEvent, MileageReading, Notification, SlotUsage, StoreDay
from portal.services import bookings as svc
from portal.services import capacity
from tests.factories import slot


@pytest.fixture
def shop(f):
    store = f.store(bays=3)
    advisor = f.advisor(store)
    owner = f.owner(store)
    vehicle = f.vehicle(owner)
    return store, advisor, owner, vehicle


def jpeg(size=(64, 48), exif=True) -> bytes:
    out = io.BytesIO()
    img = PILImage.new("RGB", size, (200, 30, 30))
    if exif:
        data = img.getexif()
        data[0x010F] = "SecretCamera"  # Make
        img.save(out, format="JPEG", exif=data)
    else:
        img.save(out, format="JPEG")
    return out.getvalue()


def test_slots_follow_hours_bays_and_exceptions(shop, db, f):
    store, *_ = shop
    day = capacity.bookable_days(store)[2]
    slots = capacity.slots_for_day(store, day)
    assert len(slots) == 9  # 08:30-18:00 in 60-minute slots
    assert all(s.capacity == 3 and s.free == 3 for s in slots)
    db.session.add(StoreDay(store_id=store.id, day=day, bays=1, opens_at=None, closes_at=None))
    db.session.commit()
    assert {s.capacity for s in capacity.slots_for_day(store, day)} == {1}
    db.session.execute(StoreDay.__table__.update().values(closed=True))
    db.session.commit()
    assert capacity.slots_for_day(store, day) == []


def test_slots_for_many_days_match_each_day_in_two_queries(shop, db, f):
    store, _adv, owner, vehicle = shop
    days = capacity.bookable_days(store)[:14]
    db.session.add(StoreDay(store_id=store.id, day=days[3], closed=True))
    db.session.add(StoreDay(store_id=store.id, day=days[4], bays=1, opens_at=None, closes_at=None))
    db.session.commit()
    svc.book_repair(owner, vehicle, store, slot(store, 2, 10), ["repair"])
    db.session.commit()
    assert store.timezone  # load the store before counting
    queries = []

    def count(_conn, _cursor, statement, *_args):
        if statement.startswith("SELECT"):
            queries.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        many = capacity.slots_for_days(store, days)
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert len(queries) == 2
    assert many == {d: capacity.slots_for_day(store, d) for d in days}
    assert many[days[3]] == [] and {s.capacity for s in many[days[4]]} == {1}
    assert sum(s.used for s in many[days[2]]) == 1


def test_booking_takes_a_place_and_the_picker_hides_full_slots(shop, db, f):
    store, _adv, owner, vehicle = shop
    start = slot(store, 2, 10)
    for _ in range(3):
        svc.book_repair(owner, vehicle, store, start, ["repair"])
    db.session.commit()
    day = start.astimezone(__import__("zoneinfo").ZoneInfo(store.timezone)).date()
    assert start not in [s.starts_at for s in capacity.free_slots(store, day)]
    with pytest.raises(Conflict, match="fully booked"):
        svc.book_repair(owner, vehicle, store, start, ["repair"])


@pytest.mark.parametrize(
    "when, message",
    [(-1, "in the past"), (60, "too far ahead"), ("closed", "closed"), ("odd", "not one of")],
)
def test_bad_slots_are_refused_and_change_nothing(shop, db, when, message):
    store, _adv, owner, vehicle = shop
    if when == "closed":
        start = slot(store, 3, 10)
        day = start.astimezone(__import__("zoneinfo").ZoneInfo(store.timezone)).date()
        db.session.add(StoreDay(store_id=store.id, day=day, closed=True))
        db.session.commit()
    elif when == "odd":
        start = slot(store, 2, 10, 17)
    else:
        start = slot(store, when, 10)
    with pytest.raises(ValidationError, match=message):
        svc.book_repair(owner, vehicle, store, start, ["repair"])
    db.session.rollback()
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    assert db.session.scalar(select(func.count(SlotUsage.id))) == 0


def test_foreign_vehicles_cannot_be_booked(shop, f):
    store, _adv, owner, _v = shop
    stranger_car = f.vehicle(f.owner())
    with pytest.raises(NotFound):
        svc.book_repair(owner, stranger_car, store, slot(store), ["repair"])


def test_photos_are_reencoded_without_exif_and_bad_files_refused(shop, db):
    store, _adv, owner, vehicle = shop
    b = svc.book_repair(owner, vehicle, store, slot(store), ["bodywork"], "划痕", [jpeg()])
    db.session.commit()
    data = b.photos[0].image.data
    with PILImage.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and not img.getexif()
    with pytest.raises(ValidationError, match="not a valid image"):
        svc.book_repair(owner, vehicle, store, slot(store, 1, 11), ["repair"], "", [b"not img"])
    db.session.rollback()
    with pytest.raises(ValidationError, match="at most 6"):
        svc.book_repair(owner, vehicle, store, slot(store, 1, 11), ["repair"], "", [jpeg()] * 7)
    db.session.rollback()
    with pytest.raises(ValidationError, match="larger than"):
        svc.book_repair(
            owner,
            vehicle,
            store,
            slot(store, 1, 11),
            ["repair"],
            "",
            [b"\xff" * (8 * 1024 * 1024 + 1)],
        )


def test_the_full_workshop_journey_builds_a_service_record(shop, db, smtp):
    store, advisor, owner, vehicle = shop
    b = svc.book_repair(owner, vehicle, store, slot(store), ["maintenance", "repair"])
    svc.accept(advisor, b, bay=2)
    svc.check_in(advisor, b, vehicle.current_km + 1500)
    svc.start_work(advisor, b)
    svc.add_progress(advisor, b, "更换刹车片中")
    svc.mark_ready(advisor, b)
    record = svc.complete(
        advisor,
        b,
        [
            {"kind": "labour", "description": "更换刹车片", "quantity": 1, "unit_price_fen": 20000},
            {
                "kind": "part",
                "description": "刹车片",
                "part_no": "BP-1",
                "quantity": 2,
                "unit_price_fen": 35050,
            },
        ],
        fault_category="brakes",
        technician_note="前刹车片磨损",
    )
    db.session.commit()
    assert record.total_fen == 90100 and record.mileage_km == b.checkin_km
    assert b.status == "completed"
    kinds = db.session.scalars(
        select(BookingEvent.kind).where(BookingEvent.booking_id == b.id).order_by(BookingEvent.id)
    ).all()
    assert kinds == [
        "submitted",
        "accepted",
        "checked_in",
        "in_progress",
        "progress",
        "ready",
        "completed",
    ]
    assert (
        db.session.scalar(select(MileageReading.source).where(MileageReading.km == b.checkin_km))
        == "staff"
    )
    assert db.session.scalar(select(func.count(Notification.id))) == 6
    assert len(smtp.deliver()) == 6
    rating = svc.rate(owner, b, 5, 4, "很好")
    db.session.commit()
    assert rating.advisor_id == advisor.id
    with pytest.raises(Conflict, match="already rated"):
        svc.rate(owner, b, 1, 1)


def test_checkin_mileage_lower_than_history_is_refused(shop, db):
    store, advisor, owner, vehicle = shop
    b = svc.book_repair(owner, vehicle, store, slot(store), ["repair"])
    svc.accept(advisor, b)
    db.session.commit()
    with pytest.raises(ValidationError, match="lower than the last one"):
        svc.check_in(advisor, b, vehicle.current_km - 1)


def test_reject_needs_a_reason_and_frees_the_place(shop, db):
    store, advisor, owner, vehicle = shop
    b = svc.book_repair(owner, vehicle, store, slot(store), ["repair"])
    db.session.commit()
    with pytest.raises(ValidationError):
        svc.reject(advisor, b, "", "")
    with pytest.raises(ValidationError, match="Explain"):
        svc.reject(advisor, b, "other", "")
    svc.reject(advisor, b, "parts_unavailable", "配件缺货")
    db.session.commit()
    assert db.session.scalar(select(SlotUsage.used)) == 0
    assert b.decision_reason == "parts_unavailable" and b.advisor_id == advisor.id


def test_proposal_accepted_moves_the_booking_and_the_place(shop, db):
    store, advisor, owner, vehicle = shop
    original, other = slot(store, 1, 10), slot(store, 1, 14)
    b = svc.book_repair(owner, vehicle, store, original, ["repair"])
    svc.propose(advisor, b, other, "下午有空位")
    db.session.commit()
    usage = dict(db.session.execute(select(SlotUsage.starts_at, SlotUsage.used)).all())
    assert usage == {original: 1, other: 1}
    svc.answer_proposal(owner, b, accept=True)
    db.session.commit()
    assert b.status == "accepted" and b.slot_start == other
    usage = dict(db.session.execute(select(SlotUsage.starts_at, SlotUsage.used)).all())
    assert usage == {original: 0, other: 1}


def test_proposal_declined_cancels_and_frees_both_places(shop, db):
    store, advisor, owner, vehicle = shop
    b = svc.book_repair(owner, vehicle, store, slot(store, 1, 10), ["repair"])
    svc.propose(advisor, b, slot(store, 1, 15))
    svc.answer_proposal(owner, b, accept=False)
    db.session.commit()
    assert b.status == "cancelled"
    assert set(db.session.scalars(select(SlotUsage.used))) == {0}


def test_cancel_cutoff(shop, db, clock):
    store, advisor, owner, vehicle = shop
    b = svc.book_repair(owner, vehicle, store, slot(store, 1, 10), ["repair"])
    svc.accept(advisor, b)
    db.session.commit()
    clock.now = b.slot_start - timedelta(hours=1, minutes=59)
    with pytest.raises(ValidationError, match="until 2 hours before"):
        svc.cancel_booking(owner, b)
    db.session.rollback()
    assert db.session.get(Booking, b.id).status == "accepted"
    clock.now = b.slot_start - timedelta(hours=2, minutes=1)
    svc.cancel_booking(owner, b)
    db.session.commit()
    assert b.status == "cancelled" and db.session.scalar(select(SlotUsage.used)) == 0


def test_reschedule_moves_the_place(shop, db):
    store, advisor, owner, vehicle = shop
    b = svc.book_repair(owner, vehicle, store, slot(store, 1, 10), ["repair"])
    svc.accept(advisor, b)
    svc.reschedule(owner, b, slot(store, 2, 9))
    db.session.commit()
    assert b.slot_start == slot(store, 2, 9) and b.status == "accepted"
    assert sorted(db.session.scalars(select(SlotUsage.used))) == [0, 1]


def test_edit_only_before_the_decision(shop, db):
    store, advisor, owner, vehicle = shop
    b = svc.book_repair(owner, vehicle, store, slot(store, 1, 10), ["repair"])
    svc.edit_booking(
        owner,
        b,
        service_types=["tyres"],
        description="换胎",
        slot_start=slot(store, 1, 11),
        vehicle=vehicle,
    )
    svc.accept(advisor, b)
    db.session.commit()
    assert b.service_types == ["tyres"] and b.slot_start == slot(store, 1, 11)
    with pytest.raises(Conflict):
        svc.edit_booking(
            owner,
            b,
            service_types=["repair"],
            description="",
            slot_start=b.slot_start,
            vehicle=vehicle,
        )


def test_staff_of_another_store_cannot_act(shop, f):
    store, _adv, owner, vehicle = shop
    b = svc.book_repair(owner, vehicle, store, slot(store), ["repair"])
    outsider = f.advisor(f.store())
    with pytest.raises(NotFound):
        svc.accept(outsider, b)


def _race(app, n, work):
    barrier = threading.Barrier(n)
    results: list = []

    def run(i):
        with app.test_request_context(method="POST"):
            from portal.extensions import db as tdb

            barrier.wait()
            try:
                work(i, tdb)
                tdb.session.commit()
                results.append("ok")
            except (Conflict, ValidationError) as exc:
                tdb.session.rollback()
                results.append(exc)
            finally:
                tdb.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_fifty_owners_race_for_three_places(app, db, f):
    store = f.store(bays=3)
    owners = [f.owner(store) for _ in range(50)]
    vehicles = [f.vehicle(o).id for o in owners]
    owner_ids, store_id, start = [o.id for o in owners], store.id, slot(store, 1, 10)
    db.session.commit()

    def book(i, tdb):
        from portal.models import Store, User, Vehicle

        svc.book_repair(
            tdb.session.get(User, owner_ids[i]),
            tdb.session.get(Vehicle, vehicles[i]),
            tdb.session.get(Store, store_id),
            start,
            ["repair"],
        )

    results = _race(app, 50, book)
    assert results.count("ok") == 3
    assert all(isinstance(r, Conflict) for r in results if r != "ok")
    db.session.commit()
    assert db.session.scalar(select(func.count(Booking.id))) == 3
    assert db.session.scalar(select(SlotUsage.used)) == 3


def test_twenty_decisions_on_one_booking_have_one_winner(app, db, f, shop):
    store, _adv, owner, vehicle = shop
    advisors = [f.advisor(store).id for _ in range(20)]
    b = svc.book_repair(owner, vehicle, store, slot(store), ["repair"])
    db.session.commit()
    booking_id = b.id

    def decide(i, tdb):
        from portal.models import User

        me = tdb.session.get(User, advisors[i])
        bk = tdb.session.get(Booking, booking_id)
        if i % 2:
            svc.accept(me, bk)
        else:
            svc.reject(me, bk, "no_capacity", "")

    results = _race(app, 20, decide)
    assert results.count("ok") == 1
    assert all(isinstance(r, Conflict) for r in results if r != "ok")
    db.session.commit()
    decisions = db.session.scalars(
        select(BookingEvent.kind).where(
            BookingEvent.booking_id == booking_id, BookingEvent.kind.in_(("accepted", "rejected"))
        )
    ).all()
    assert len(decisions) == 1
