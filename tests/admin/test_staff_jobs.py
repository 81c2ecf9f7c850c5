"""Jobs entered by staff: find the caller, or add them with consent and car; book a slot or
check a walk-in in now, in the same capacity as the owner portal."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crm.customers import find_or_add
from portal.extensions import db as _db
from portal.models import (
    Booking,
    BookingEvent,
    MileageReading,
    ServiceRecord,
    SlotUsage,
    Store,
    User,
    Vehicle,
)
from portal.models.consents import ConsentRecord
from portal.services import bookings as svc
from portal.services import consent
from portal.services.bookings.staff import vehicle_for
from portal.timeutil import set_clock
from tests.threads import at_once

URL = "/admin/staff_jobs/"


@pytest.fixture
def morning(db):
    """The clock at 10:45 tomorrow in Shanghai: the 10:30 slot is under way."""
    tz = ZoneInfo("Asia/Shanghai")
    day = datetime.now(tz).date() + timedelta(days=1)
    at = datetime(day.year, day.month, day.day, 10, 45, tzinfo=tz).astimezone(ZoneInfo("UTC"))
    set_clock(lambda: at)
    yield at
    set_clock(None)


def _new_customer_form(f, store, **over):
    data = {
        "source": "phone",
        "name": "王先生",
        "phone": "+86 139-1234-5678",
        "vehicle": "new",
        "plate": "粤b 12345",
        "vin": f.vin(),
        "brand": "丰田",
        "series": "凯美瑞",
        "model_year": "2020",
        "service_types": ["maintenance"],
        "description": "保养",
        "day": f.slot(store, 1).astimezone(ZoneInfo(store.timezone)).date().isoformat(),
        "slot": f.slot(store, 1).isoformat(),
        "consent_method": "phone_recording",
        "marketing_sms": "y",
    }
    data.update(over)
    return data


def test_find_by_phone_plate_or_vin_in_the_store_and_colleagues_customers_masked(
    client, auth, f, db
):
    store, other = f.store(), f.store()
    me, colleague = f.advisor(store), f.advisor(store)
    mine = f.owner(store, phone="13800001111", advisor_id=colleague.id)
    car = f.vehicle(mine, plate="粤B54321")
    stranger = f.owner(other, phone="13800002222")
    far_car = f.vehicle(stranger, plate="粤B99999")
    auth.login(me)
    for q in ("+86 138 0000 1111", "粤b 54321", car.vin.lower()):
        page = client.get(URL, query_string={"q": q}).get_data(as_text=True)
        assert mine.name in page, q
        assert "138****1111" in page and "13800001111" not in page
    for q in ("13800002222", "粤B99999", far_car.vin):
        page = client.get(URL, query_string={"q": q}).get_data(as_text=True)
        assert stranger.name not in page and 'id="no-customer"' in page
    # A colleague's customer can still be booked.
    page = client.get(URL + f"new?customer={mine.id}")
    assert page.status_code == 200
    assert client.get(URL + f"new?customer={stranger.id}").status_code == 404


def test_a_new_caller_is_added_with_consent_and_car_and_booked_into_the_workshop(
    client, auth, f, db
):
    store = f.store()
    me = f.advisor(store)
    auth.login(me)
    response = client.post(URL + "new", data=_new_customer_form(f, store))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    customer = db.session.scalar(select(User).where(User.phone == "13912345678"))
    assert customer.name == "王先生" and customer.store_id == store.id
    assert customer.advisor_id == me.id
    car = db.session.scalar(select(Vehicle).where(Vehicle.owner_id == customer.id))
    assert car.plate == "粤B12345"
    booking = db.session.scalar(select(Booking).where(Booking.owner_id == customer.id))
    assert (booking.status, booking.source, booking.advisor_id) == ("accepted", "phone", me.id)
    assert booking.slot_start == f.slot(store, 1)
    event = db.session.scalar(select(BookingEvent).where(BookingEvent.booking_id == booking.id))
    assert event.actor_id == me.id and event.to_status == "accepted"
    consents = db.session.scalars(
        select(ConsentRecord).where(ConsentRecord.user_id == customer.id)
    ).all()
    marketing = {(c.channel, c.granted) for c in consents if c.kind == "marketing"}
    assert marketing == {("sms", True)}  # only the ticked channel: a consent, recorded
    assert consent.consents(customer.id)["sms"] and not consent.consents(customer.id)["wechat"]
    assert all(c.source == "staff" and c.method == "phone_recording" for c in consents)
    board = client.get("/admin/workshop/").get_data(as_text=True)
    assert f'id="job-{booking.id}"' in board and "粤B12345" in board


def test_the_same_phone_twice_is_one_customer(client, auth, f, db):
    store = f.store()
    auth.login(f.advisor(store))
    first = _new_customer_form(f, store)
    assert client.post(URL + "new", data=first).status_code == 303
    again = _new_customer_form(f, store, name="王", phone="139 1234 5678", vin=first["vin"])
    again["plate"] = "粤B12345"
    response = client.post(URL + "new", data=again, follow_redirects=True)
    assert "already on record" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id)).where(User.phone == "13912345678")) == 1
    assert db.session.scalar(select(func.count(Vehicle.id))) == 1
    assert db.session.scalar(select(func.count(Booking.id))) == 2
    customer = db.session.scalar(select(User).where(User.phone == "13912345678"))
    assert customer.name == "王先生"  # the existing record is kept as it was


def test_a_walk_in_is_checked_in_now_in_the_slot_under_way(client, auth, f, db, morning):
    store = f.store()
    me = f.advisor(store)
    owner = f.owner(store)
    car = f.vehicle(owner, current_km=10_000)
    auth.login(me)
    response = client.post(
        URL + f"new?customer={owner.id}",
        data={
            "source": "walk_in",
            "vehicle": str(car.id),
            "service_types": ["repair"],
            "km": "12345",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    booking = db.session.scalar(select(Booking))
    assert (booking.status, booking.source, booking.checkin_km) == ("checked_in", "walk_in", 12345)
    assert booking.slot_start == morning - timedelta(minutes=15)
    assert db.session.scalar(select(SlotUsage.used).where(SlotUsage.store_id == store.id)) == 1
    reading = db.session.scalar(select(MileageReading).order_by(MileageReading.id.desc()))
    assert (reading.km, reading.source) == (12345, "staff")
    # The job then runs through the workshop like any other and joins the car's history.
    svc.start_work(me, booking)
    svc.complete(
        me,
        booking,
        [{"kind": "labour", "description": "换刹车片", "unit_price_fen": 30000}],
        fault_category="brakes",
    )
    db.session.commit()
    record = db.session.scalar(select(ServiceRecord).where(ServiceRecord.vehicle_id == car.id))
    assert record.mileage_km == 12345 and record.total_fen == 30000


def test_a_walk_in_while_closed_is_refused_with_a_clear_message(client, auth, f, db, clock):
    store = f.store()
    tz = ZoneInfo(store.timezone)
    day = datetime.now(tz).date() + timedelta(days=1)
    clock.now = datetime(day.year, day.month, day.day, 22, 0, tzinfo=tz)
    owner = f.owner(store)
    car = f.vehicle(owner)
    auth.login(f.advisor(store))
    response = client.post(
        URL + f"new?customer={owner.id}",
        data={
            "source": "walk_in",
            "vehicle": str(car.id),
            "service_types": ["repair"],
            "km": "99999",
        },
    )
    assert response.status_code == 422
    assert "The workshop is closed now" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_a_full_slot_is_refused_and_nothing_is_added(client, auth, f, db):
    store = f.store(bays=1)
    f.booking(f.owner(store), store, days=1, hour=10)  # takes the one place at 10:30
    auth.login(f.advisor(store))
    response = client.post(URL + "new", data=_new_customer_form(f, store))
    assert response.status_code == 422
    assert "fully booked" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.phone == "13912345678")) is None
    assert db.session.scalar(select(func.count(Booking.id))) == 1


def test_concurrent_staff_bookings_never_overfill_a_slot(app, f, db):
    store = f.store(bays=2)
    advisor = f.advisor(store)
    cars = []
    for _ in range(5):
        owner = f.owner(store)
        cars.append((owner.id, f.vehicle(owner).id))
    ids, slot = iter(cars), f.slot(store, 1)
    advisor_id = advisor.id

    def enter():
        owner_id, vehicle_id = next(ids)
        return svc.enter_job(
            _db.session.get(User, advisor_id),
            _db.session.get(User, owner_id),
            _db.session.get(Vehicle, vehicle_id),
            source="phone",
            service_types=["maintenance"],
            slot_start=slot,
        ).id

    results = at_once(app, enter, 5)
    assert sum(isinstance(r, int) for r in results) == 2, results
    assert all("fully booked" in r for r in results if not isinstance(r, int))
    assert db.session.scalar(select(func.count(Booking.id))) == 2
    assert db.session.scalar(select(SlotUsage.used).where(SlotUsage.starts_at == slot)) == 2


def test_the_same_new_caller_entered_by_two_advisors_at_once_is_one_customer(app, f, db):
    store = f.store()
    advisor_ids = iter([f.advisor(store).id, f.advisor(store).id])
    cars = iter([(f.vin(), f.plate()), (f.vin(), f.plate())])
    store_id, slot = store.id, f.slot(store, 1)

    def enter():
        me, shop = _db.session.get(User, next(advisor_ids)), _db.session.get(Store, store_id)
        customer, _created = find_or_add("李女士", "13733334444", None, None, shop, advisor=me)
        vin, plate = next(cars)
        car = vehicle_for(
            customer, vin=vin, plate=plate, brand="本田", series="雅阁", model_year=2019
        )
        return svc.enter_job(
            me, customer, car, source="phone", service_types=["repair"], slot_start=slot
        ).owner_id

    results = at_once(app, enter, 2)
    assert len(set(results)) == 1 and isinstance(results[0], int), results
    assert db.session.scalar(select(func.count(User.id)).where(User.role == "owner")) == 1
    assert db.session.scalar(select(func.count(Vehicle.id))) == 2


@pytest.mark.parametrize(
    "over",
    [
        {"slot": "not-a-time"},
        {"slot": ""},
        {"vin": "ABC"},
        {"plate": "12345"},
        {"model_year": "soon"},
        {"phone": "12"},
        {"source": "fax"},
        {"consent_method": ""},
        {"service_types": ["teleport"]},
        {"km": "-5", "source": "walk_in"},
        {"slot": "2099-01-01T10:30:00+08:00"},
    ],
)
def test_bad_input_is_a_clear_form_error_and_changes_nothing(client, auth, f, db, over):
    store = f.store()
    auth.login(f.advisor(store))
    response = client.post(URL + "new", data=_new_customer_form(f, store, **over))
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(User.id)).where(User.role == "owner")) == 0
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_showing_the_times_of_an_odd_day_adds_nothing(client, auth, f, db):
    store = f.store()
    auth.login(f.advisor(store))
    for day in ("2020-13-45", "", "2099-01-01"):
        form = _new_customer_form(f, store, day=day, show="1")
        assert client.post(URL + "new", data=form).status_code == 200
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_odd_customer_ids_are_not_found(client, auth, f, db):
    auth.login(f.manager(f.store()))
    for raw in ("abc", "-1", "99999999999999999999999", "0"):
        assert client.get(URL + f"new?customer={raw}").status_code == 404


def test_a_manager_enters_jobs_and_an_admin_has_no_store_to_enter_them_in(client, auth, f, db):
    store = f.store()
    auth.login(f.manager(store))
    assert client.get(URL + "new").status_code == 200
    auth.logout()
    auth.login(f.admin())
    assert client.get(URL).status_code == 403
    assert db.session.get(Store, store.id) is not None
