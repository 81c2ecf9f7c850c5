"""The maker's warranty end, entered by the store's staff and read by the trade-in rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from crm import rules
from crm.models import Task
from portal.errors import NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.models import AuditEvent, Vehicle
from portal.services import vehicles

# Thursday 3 December 2026, 10:00 in Shanghai.
MORNING = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
TODAY = date(2026, 12, 3)


@pytest.fixture
def morning(clock):
    clock.now = MORNING
    return clock


@pytest.fixture
def shop(f):
    store = f.store()
    advisor = f.advisor(store)
    owner = f.owner(store, advisor_id=advisor.id)
    car = f.vehicle(owner, purchase_date=date(2023, 5, 10))  # statutory end: 2026-05-10
    return store, advisor, owner, car


def _warranty_calls() -> list[Task]:
    return list(db.session.scalars(select(Task).where(Task.rule == "trade_in_warranty")))


def test_staff_enter_the_makers_warranty_end_and_it_is_audited(shop, morning):
    store, advisor, _owner, car = shop
    vehicles.set_warranty(advisor, car, date(2031, 5, 10))
    db.session.commit()
    assert db.session.get(Vehicle, car.id).warranty_ends_on == date(2031, 5, 10)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "vehicle_warranty_set"))
    assert event.actor_id == advisor.id and event.target_id == car.id
    assert event.detail == {"before": "2026-05-10", "after": "2031-05-10"}
    assert event.store_id == store.id


@pytest.mark.parametrize(
    "ends_on, message",
    [
        (date(2023, 5, 9), "before the car was bought"),
        (date(2038, 5, 11), "within 15 years"),
        (None, "Enter the day"),
    ],
)
def test_a_warranty_end_outside_the_cars_life_is_refused(shop, morning, ends_on, message):
    _store, advisor, _owner, car = shop
    with pytest.raises(ValidationError, match=message):
        vehicles.set_warranty(advisor, car, ends_on)
    db.session.rollback()
    assert db.session.get(Vehicle, car.id).warranty_ends_on == date(2026, 5, 10)


def test_a_car_with_no_purchase_date_is_bounded_around_today(f, shop, morning):
    _store, advisor, owner, _car = shop
    car = f.vehicle(owner, purchase_date=None)
    for wrong in (date(1990, 1, 1), date(2042, 1, 1)):
        with pytest.raises(ValidationError, match="within 15 years"):
            vehicles.set_warranty(advisor, car, wrong)
    vehicles.set_warranty(advisor, car, date(2025, 1, 1))


def test_only_the_cars_store_staff_but_agents_enter_it(f, shop, morning):
    store, _advisor, owner, car = shop
    with pytest.raises(NotFound):
        vehicles.set_warranty(f.advisor(f.store("B")), car, date(2030, 1, 1))
    with pytest.raises(NotFound):
        vehicles.set_warranty(owner, car, date(2030, 1, 1))
    with pytest.raises(NotAllowed):
        vehicles.set_warranty(f.agent(store), car, date(2030, 1, 1))
    vehicles.set_warranty(f.manager(store), car, date(2030, 1, 1))


def test_an_entered_date_the_rule_already_looked_past_is_called_about_at_once(shop, morning):
    store, advisor, owner, car = shop
    rules.generate_tasks()  # the warranty rule now covers the dates through 60 days ahead
    db.session.commit()
    assert _warranty_calls() == []
    from crm import trade_ins
    from portal.timeutil import now

    vehicles.set_warranty(advisor, car, TODAY + timedelta(days=20))
    assert trade_ins.warranty_entered(car, now()) == 1
    (task,) = _warranty_calls()
    assert task.customer_id == owner.id and task.owner_id == advisor.id
    assert task.cause == f"warranty:{car.id}:2026-12-23"
    assert rules.generate_tasks()["trade_in"] == 0  # once per cause
    vehicles.set_warranty(advisor, car, TODAY + timedelta(days=200))  # far: the rule will
    assert trade_ins.warranty_entered(car, now()) == 0


def test_the_rule_reads_the_entered_date_when_it_comes_round(shop, morning):
    _store, advisor, _owner, car = shop
    rules.generate_tasks()
    db.session.commit()
    vehicles.set_warranty(advisor, car, TODAY + timedelta(days=75))
    db.session.commit()
    morning.advance(days=14)  # the rule looks 74 days ahead: not yet
    assert rules.generate_tasks()["trade_in"] == 0
    morning.advance(days=1)
    assert rules.generate_tasks()["trade_in"] == 1
    assert _warranty_calls()[0].cause.endswith(":2027-02-16")


# -- the pages ---------------------------------------------------------------------------


def test_an_advisor_sets_the_warranty_from_the_vehicle_page(client, auth, shop, morning):
    _store, advisor, _owner, car = shop
    auth.login(advisor)
    page = client.get(f"/admin/vehicles_admin/details/?id={car.id}").get_data(as_text=True)
    assert f"/admin/vehicles_admin/warranty/{car.id}" in page
    form = client.get(f"/admin/vehicles_admin/warranty/{car.id}")
    assert form.status_code == 200 and 'value="2026-05-10"' in form.get_data(as_text=True)
    saved = client.post(f"/admin/vehicles_admin/warranty/{car.id}", data={"ends_on": "2030-05-10"})
    assert saved.status_code == 303 and "/details/" in saved.headers["Location"]
    assert db.session.get(Vehicle, car.id).warranty_ends_on == date(2030, 5, 10)


@pytest.mark.parametrize("raw", ["2020-01-01", "not a date", "", "99999-01-01"])
def test_bad_warranty_input_is_a_clear_422_and_changes_nothing(client, auth, shop, morning, raw):
    _store, advisor, _owner, car = shop
    auth.login(advisor)
    answer = client.post(f"/admin/vehicles_admin/warranty/{car.id}", data={"ends_on": raw})
    assert answer.status_code == 422
    assert "is-invalid" in answer.get_data(as_text=True) or "error" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Vehicle, car.id).warranty_ends_on == date(2026, 5, 10)


def test_the_customer_page_lists_the_cars_and_saves_a_warranty_back_to_it(
    client, auth, shop, morning
):
    _store, advisor, owner, car = shop
    auth.login(advisor)
    page = client.get(f"/admin/crm_customers/{owner.id}").get_data(as_text=True)
    assert f'id="customer-vehicle-{car.id}"' in page and 'name="ends_on"' in page
    saved = client.post(
        f"/admin/vehicles_admin/warranty/{car.id}",
        data={"ends_on": "2029-05-10", "back": "customer"},
    )
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(f"/admin/crm_customers/{owner.id}")
    assert "2029" in client.get(saved.headers["Location"]).get_data(as_text=True)


def test_the_owner_sees_the_warranty_end_on_their_car_page(client, auth, shop, morning):
    _store, _advisor, owner, car = shop
    auth.login(owner)
    page = client.get(f"/vehicles/{car.id}", headers={"Accept-Language": "zh-CN"})
    assert "质保至" in page.get_data(as_text=True)
    assert "2026年5月10日" in page.get_data(as_text=True)
