"""The owner home as a dashboard: per car, what matters now; orders and messages on top."""

from __future__ import annotations

import re

from portal.extensions import db
from portal.models import MaintenancePlan, PlanItem
from portal.models.bookings import IN_PROGRESS
from portal.services import notify


def _home(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _strip(html: str, vehicle_id: int) -> str:
    found = re.search(rf'<ul class="car-now" id="now-{vehicle_id}">(.*?)</ul>', html, re.S)
    return found.group(1) if found else ""


def test_a_quiet_car_shows_no_dashboard_and_the_mileage_form_is_folded(f, client, auth):
    owner = f.owner()
    car = f.vehicle(owner)
    auth.login(owner)
    html = _home(client)
    assert f'id="now-{car.id}"' not in html
    assert re.search(rf'<details class="mileage-update" id="mileage-{car.id}">', html)
    assert "home-unread" not in html


def test_a_job_in_the_workshop_offers_its_status_and_the_live_video(f, client, auth):
    store = f.store()
    owner = f.owner(store)
    car = f.vehicle(owner)
    job = f.booking(owner, store, vehicle=car)
    auth.login(owner)
    strip = _strip(_home(client), car.id)
    assert f"/bookings/{job.id}" in strip and "now-next" in strip  # submitted: the next booking
    assert f"/bookings/{job.id}/video" not in strip

    job.status = IN_PROGRESS
    db.session.commit()
    strip = _strip(_home(client), car.id)
    assert "now-job" in strip and "now-next" not in strip
    assert f'href="/bookings/{job.id}/video"' in strip


def test_the_next_booking_is_the_earliest_and_other_owners_never_show(f, client, auth):
    store = f.store()
    owner, other = f.owner(store), f.owner(store)
    car = f.vehicle(owner)
    later = f.booking(owner, store, vehicle=car, days=5)
    sooner = f.booking(owner, store, vehicle=car, days=2)
    theirs = f.booking(other, store, vehicle=f.vehicle(other), days=1)
    auth.login(owner)
    html = _home(client)
    strip = _strip(html, car.id)
    assert f"/bookings/{sooner.id}" in strip
    assert f"/bookings/{later.id}" not in strip
    assert f"/bookings/{theirs.id}" not in html


def test_an_open_rescue_links_to_its_live_status(f, client, auth):
    store = f.store()
    owner = f.owner(store)
    car = f.vehicle(owner)
    rescue = f.rescue(owner, car)
    auth.login(owner)
    strip = _strip(_home(client), car.id)
    assert f"/rescue/{rescue.id}" in strip and "now-rescue" in strip


def test_overdue_maintenance_is_named_with_one_tap_to_book_it(f, client, auth):
    plan = MaintenancePlan(name="默认", is_default=True)
    plan.items.append(PlanItem(code="engine_oil", name="机油", interval_km=5_000, severity="must"))
    plan.items.append(
        PlanItem(code="coolant", name="冷却液", interval_km=60_000, severity="recommended")
    )
    db.session.add(plan)
    db.session.commit()
    owner = f.owner()
    car = f.vehicle(owner, current_km=12_000)  # oil never done: due at 5,000, long past
    auth.login(owner)
    strip = _strip(_home(client), car.id)
    assert "机油" in strip and "冷却液" not in strip
    assert "now-due overdue" in strip
    assert f"/bookings/new?vehicle={car.id}&amp;items=engine_oil&amp;type=maintenance" in strip


def test_unread_messages_are_counted_on_the_home(f, client, auth):
    owner = f.owner()
    f.vehicle(owner)
    notify.notify(owner, "预约已确认")
    notify.notify(owner, "车辆已完工")
    db.session.commit()
    auth.login(owner)
    html = _home(client)
    unread = re.search(r'id="home-unread"[^>]*>(.*?)</a>', html, re.S)
    assert unread and unread.group(1).split() == ["Unread", "messages:", "2"]


def test_items_already_booked_are_not_asked_for_again(f, client, auth):
    from portal.services import bookings as svc

    plan = MaintenancePlan(name="默认", is_default=True)
    plan.items.append(PlanItem(code="engine_oil", name="机油", interval_km=5_000))
    plan.items.append(PlanItem(code="air_filter", name="空气滤清器", interval_km=10_000))
    db.session.add(plan)
    db.session.commit()
    store = f.store()
    owner = f.owner(store)
    car = f.vehicle(owner, current_km=12_000)
    svc.book_repair(
        owner, car, store, f.slot(store, 2), ["maintenance"], maintenance_items=["engine_oil"]
    )
    db.session.commit()
    auth.login(owner)
    strip = _strip(_home(client), car.id)
    assert "now-next" in strip
    assert "空气滤清器" in strip and "机油" not in strip
