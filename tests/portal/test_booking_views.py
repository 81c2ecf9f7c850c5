"""The owner's booking pages and the back-office queue, through the client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.models import Booking, Notification, SlotUsage
from portal.services import bookings as svc
from tests.factories import slot
from tests.portal.test_bookings import jpeg


@pytest.fixture
def setup(f):
    store = f.store(bays=2)
    advisor = f.advisor(store)
    owner = f.owner(store)
    vehicle = f.vehicle(owner)
    return store, advisor, owner, vehicle


def form(store, car, start, **kw):
    data = {
        "vehicle": car.id,
        "store": store.id,
        "service_types": ["repair"],
        "description": "发动机异响",
        "day": start.date().isoformat(),
        "slot": start.isoformat(),
    }
    data.update(kw)
    return data


def test_owner_books_with_photos_and_follows_the_booking(setup, client, auth, db):
    store, _adv, owner, vehicle = setup
    auth.login(owner)
    page = client.get("/bookings/new")
    assert page.status_code == 200 and 'name="slot"' in page.get_data(as_text=True)
    start = slot(store, 2, 9)
    data = form(store, vehicle, start)
    data["photos"] = [(__import__("io").BytesIO(jpeg()), "scratch.jpg")]
    r = client.post("/bookings/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 303
    booking = db.session.scalar(select(Booking))
    assert booking.slot_start == start and len(booking.photos) == 1
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Submitted" in page and "发动机异响" in page
    status = client.get(f"/bookings/{booking.id}/status", headers={"HX-Request": "true"})
    html = status.get_data(as_text=True)
    assert "<html" not in html and 'hx-trigger="every 5s"' in html


def test_slot_fragment_lists_only_free_slots(setup, client, auth, db, f):
    store, _adv, owner, vehicle = setup
    start = slot(store, 2, 9)
    for _ in range(2):
        svc.book_repair(owner, vehicle, store, start, ["repair"])
    db.session.commit()
    auth.login(owner)
    day = start.astimezone(__import__("zoneinfo").ZoneInfo(store.timezone)).date()
    r = client.get(f"/bookings/slots?store={store.id}&day={day}", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert "<html" not in html and 'name="slot"' in html
    assert start.isoformat() not in html  # full
    assert slot(store, 2, 10).isoformat() in html


def test_full_slot_error_is_shown_next_to_the_picker(setup, client, auth, db):
    store, _adv, owner, vehicle = setup
    start = slot(store, 2, 9)
    for _ in range(2):
        svc.book_repair(owner, vehicle, store, start, ["repair"])
    db.session.commit()
    auth.login(owner)
    r = client.post("/bookings/new", data=form(store, vehicle, start))
    assert r.status_code == 422
    assert 'id="slot-error"' in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Booking.id))) == 2


@pytest.mark.parametrize(
    "field, value", [("slot", "not-a-time"), ("service_types", []), ("vehicle", 999999)]
)
def test_bad_booking_input_changes_nothing(setup, client, auth, db, field, value):
    store, _adv, owner, vehicle = setup
    auth.login(owner)
    r = client.post("/bookings/new", data=form(store, vehicle, slot(store), **{field: value}))
    assert r.status_code in (422, 200)
    assert "error" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    assert db.session.scalar(select(func.count(SlotUsage.id))) == 0


def test_cancel_after_cutoff_is_refused_with_a_message(setup, client, auth, db, clock):
    store, advisor, owner, vehicle = setup
    b = svc.book_repair(owner, vehicle, store, slot(store, 1, 9), ["repair"])
    svc.accept(advisor, b)
    db.session.commit()
    clock.now = b.slot_start - timedelta(minutes=90)
    auth.login(owner)
    r = client.post(f"/bookings/{b.id}/cancel", follow_redirects=True)
    assert "until 2 hours before" in r.get_data(as_text=True)
    db.session.refresh(b)
    assert b.status == "accepted"


def test_ics_for_an_accepted_booking_and_the_private_feed(setup, client, auth, db):
    store, advisor, owner, vehicle = setup
    b = svc.book_repair(owner, vehicle, store, slot(store, 1, 9), ["repair"])
    svc.accept(advisor, b)
    db.session.commit()
    auth.login(owner)
    r = client.get(f"/bookings/{b.id}.ics")
    body = r.get_data(as_text=True)
    assert r.mimetype == "text/calendar" and "BEGIN:VEVENT" in body
    assert f"DTSTART:{b.slot_start.strftime('%Y%m%dT%H%M%SZ')}" in body
    client.post("/bookings/calendar")
    page = client.get("/bookings/calendar").get_data(as_text=True)
    feed = re.search(r"(/calendar/[\w-]+\.ics)", page).group(1)
    anonymous = type(client)(client.application)
    assert f"booking-{b.id}@m4s" in anonymous.get(feed).get_data(as_text=True)
    client.post("/bookings/calendar")  # rotate: the old link dies
    assert anonymous.get(feed).status_code == 404


def test_notifications_count_and_read(setup, client, auth, db):
    store, advisor, owner, vehicle = setup
    b = svc.book_repair(owner, vehicle, store, slot(store, 1, 9), ["repair"])
    svc.accept(advisor, b)
    db.session.commit()
    auth.login(owner)
    badge = client.get("/notifications/badge", headers={"HX-Request": "true"})
    assert 'id="unread-count">1<' in badge.get_data(as_text=True)
    client.post("/notifications/read")
    assert (
        db.session.scalar(select(func.count(Notification.id)).where(Notification.read_at.is_(None)))
        == 0
    )


def test_rating_through_the_form_once(setup, client, auth, db):
    store, advisor, owner, vehicle = setup
    b = svc.book_repair(owner, vehicle, store, slot(store, 1, 9), ["repair"])
    svc.accept(advisor, b)
    svc.check_in(advisor, b, vehicle.current_km + 10)
    svc.start_work(advisor, b)
    svc.complete(
        advisor,
        b,
        [{"kind": "labour", "description": "检查", "quantity": 1, "unit_price_fen": 100}],
        fault_category="engine",
    )
    db.session.commit()
    auth.login(owner)
    r = client.post(f"/bookings/{b.id}/rate", data={"service_stars": 9, "advisor_stars": 5})
    assert r.status_code == 422
    r = client.post(
        f"/bookings/{b.id}/rate", data={"service_stars": 5, "advisor_stars": 4, "comment": "满意"}
    )
    assert r.status_code == 303
    assert client.get(f"/bookings/{b.id}/rate").status_code == 302  # rated: no second form


def test_queue_decides_in_place_and_the_loser_gets_a_clear_message(setup, app, db, f):
    store, advisor, owner, vehicle = setup
    other = f.advisor(store)
    b = svc.book_repair(owner, vehicle, store, slot(store, 1, 9), ["repair"])
    db.session.commit()
    hx = {"HX-Request": "true"}
    first, second = app.test_client(), app.test_client()
    for c, who in ((first, advisor), (second, other)):
        c.post("/login", data={"login": who.phone, "password": "correct horse battery staple"})
    page = first.get("/admin/queue/").get_data(as_text=True)
    assert f'id="queue-{b.id}"' in page
    r = first.post(f"/admin/queue/{b.id}/decide", data={"action": "accept", "bay": "2"}, headers=hx)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html and "status-accepted" in html
    r = second.post(
        f"/admin/queue/{b.id}/decide",
        data={"action": "reject", "reason": "no_capacity"},
        headers=hx,
    )
    assert r.status_code == 409 and "changed meanwhile" in r.get_data(as_text=True)
    db.session.refresh(b)
    assert b.status == "accepted" and b.bay == 2 and b.advisor_id == advisor.id


def test_queue_poller_brings_new_bookings(setup, client, auth, db):
    store, advisor, owner, vehicle = setup
    auth.login(advisor)
    page = client.get("/admin/queue/").get_data(as_text=True)
    after = re.search(r"/admin/queue/items\?after=(\d+)", page).group(1)
    b = svc.book_repair(owner, vehicle, store, slot(store, 1, 9), ["repair"])
    db.session.commit()
    r = client.get(f"/admin/queue/items?after={after}", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert "<html" not in html and f'id="queue-{b.id}"' in html
    assert f"after={b.id}" in html
    again = client.get(f"/admin/queue/items?after={b.id}").get_data(as_text=True)
    assert f'id="queue-{b.id}"' not in again


def test_workshop_board_check_in_to_completion(setup, client, auth, db):
    store, advisor, owner, vehicle = setup
    b = svc.book_repair(owner, vehicle, store, slot(store, 1, 9), ["repair"])
    svc.accept(advisor, b)
    db.session.commit()
    auth.login(advisor)
    step = f"/admin/workshop/{b.id}/step"
    client.post(step, data={"action": "check_in", "km": vehicle.current_km - 5})
    db.session.refresh(b)
    assert b.status == "accepted"  # lower mileage refused
    client.post(step, data={"action": "check_in", "km": vehicle.current_km + 5})
    client.post(step, data={"action": "start"})
    client.post(
        step,
        data={
            "action": "complete",
            "fault_category": "brakes",
            "item-0-kind": "part",
            "item-0-description": "刹车片",
            "item-0-quantity": "2",
            "item-0-price": "350.50",
        },
    )
    db.session.refresh(b)
    assert b.status == "completed" and b.record.total_fen == 70100


def test_manager_changes_bays_and_the_capacity_follows(setup, f, client, auth, db):
    store, *_ = setup
    manager = f.manager(store)
    auth.login(manager)
    r = client.post(
        "/admin/my_store/", data={"bays": "5", "opens_at": "09:00", "closes_at": "17:00"}
    )
    assert r.status_code == 303
    db.session.refresh(store)
    assert store.bays == 5
    r = client.post(
        "/admin/my_store/", data={"bays": "5", "opens_at": "18:00", "closes_at": "09:00"}
    )
    assert "must close after it opens" in r.get_data(as_text=True)
