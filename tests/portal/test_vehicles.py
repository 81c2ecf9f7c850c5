"""Vehicles: registration rules, ownership, mileage history, htmx fragments."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.errors import NotFound, ValidationError
from portal.models import MileageReading, Vehicle
from portal.services import vehicles as svc
from tests import factories


def form(**kw):
    data = {
        "vin": factories.vin(),
        "plate": "粤B1K234",
        "brand": "大众",
        "series": "帕萨特",
        "model_year": "2021",
        "purchase_date": "2021-05-01",
        "km": "1200",
    }
    data.update(kw)
    return data


def test_add_vehicle_records_the_first_reading(f, db):
    owner = f.owner()
    v = svc.add_vehicle(
        owner,
        vin=factories.vin().lower(),
        plate="粤b1k234",
        brand="丰田",
        series="凯美瑞",
        model_year=2020,
        km=500,
    )
    db.session.commit()
    assert v.vin.isupper() and v.plate == "粤B1K234"
    assert [r.km for r in v.readings] == [500]


def test_one_vin_belongs_to_one_owner(f, db):
    a, b = f.owner(), f.owner()
    vin = factories.vin()
    svc.add_vehicle(a, vin=vin, plate="粤B1K234", brand="丰田", series="凯美瑞", model_year=2020)
    db.session.commit()
    with pytest.raises(ValidationError, match="already registered") as err:
        svc.add_vehicle(
            b, vin=vin, plate="粤B9K999", brand="丰田", series="凯美瑞", model_year=2020
        )
    assert err.value.field == "vin"


def test_mileage_never_goes_down(f, db):
    v = f.vehicle(f.owner(), current_km=10_000)
    svc.record_mileage(v, 12_000)
    db.session.commit()
    with pytest.raises(ValidationError, match="lower than the last one"):
        svc.record_mileage(v, 11_999)
    db.session.rollback()
    assert db.session.get(Vehicle, v.id).current_km == 12_000


def test_other_owners_vehicles_do_not_exist(f):
    v = f.vehicle(f.owner())
    with pytest.raises(NotFound):
        svc.owned_vehicle(f.owner(), v.id)


def test_add_through_the_form(f, client, auth, db):
    owner = f.owner()
    auth.login(owner)
    r = client.post("/vehicles/new", data=form())
    assert r.status_code == 303
    assert db.session.scalar(select(func.count(Vehicle.id))) == 1
    assert "粤B1K234" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("vin", "LSVAU2180N218329", "exactly 17"),
        ("vin", "LSVAU2180N218329O", "I, O or Q"),
        ("plate", "B12345", "province"),
        ("model_year", "1900", "Model year"),
        ("km", "-5", ""),
    ],
)
def test_bad_input_shows_next_to_the_field_and_changes_nothing(
    f, client, auth, db, field, value, message
):
    auth.login(f.owner())
    r = client.post("/vehicles/new", data=form(**{field: value}))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    assert db.session.scalar(select(func.count(Vehicle.id))) == 0


def test_htmx_add_returns_a_fragment_that_appends_the_row(f, client, auth):
    auth.login(f.owner())
    r = client.post("/vehicles/new", data=form(), headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html
    assert 'hx-swap-oob="beforeend:#vehicle-list"' in html and 'id="vehicle-' in html


def test_htmx_edit_and_mileage(f, client, auth, db):
    owner = f.owner()
    v = f.vehicle(owner, current_km=5000)
    auth.login(owner)
    hx = {"HX-Request": "true"}
    r = client.get(f"/vehicles/{v.id}/edit", headers=hx)
    assert r.status_code == 200 and "<html" not in r.get_data(as_text=True)
    r = client.post(
        f"/vehicles/{v.id}/edit",
        headers=hx,
        data={"plate": "粤BD12345", "brand": "比亚迪", "series": "汉EV", "model_year": "2023"},
    )
    assert r.status_code == 200 and "粤BD12345" in r.get_data(as_text=True)
    r = client.post(f"/vehicles/{v.id}/mileage", headers=hx, data={"km": 4000})
    assert r.status_code == 422 and "lower than the last one" in r.get_data(as_text=True)
    r = client.post(f"/vehicles/{v.id}/mileage", headers=hx, data={"km": 6000})
    assert r.status_code == 200 and "6,000" in r.get_data(as_text=True)
    kms = db.session.scalars(
        select(MileageReading.km).where(MileageReading.vehicle_id == v.id)
    ).all()
    assert kms == [6000]


def test_other_owner_gets_404_and_nothing_changes(f, client, auth, db):
    v = f.vehicle(f.owner(), current_km=5000)
    auth.login(f.owner())
    assert client.get(f"/vehicles/{v.id}/edit").status_code == 404
    assert client.post(f"/vehicles/{v.id}/mileage", data={"km": 9000}).status_code == 404
    db.session.refresh(v)
    assert v.current_km == 5000


def test_a_purchase_date_of_today_in_shanghai_is_not_the_future_before_8_in_the_morning(f):
    from datetime import UTC, date, datetime

    from portal.timeutil import set_clock

    owner = f.owner(f.store())
    set_clock(lambda: datetime(2026, 12, 3, 17, 0, tzinfo=UTC))  # 01:00 on 4 December there
    car = dict(brand="丰田", series="凯美瑞", model_year=2026)
    svc.add_vehicle(owner, vin=f.vin(), plate=f.plate(), purchase_date=date(2026, 12, 4), **car)
    with pytest.raises(ValidationError):  # a day that has not begun anywhere yet
        svc.add_vehicle(owner, vin=f.vin(), plate=f.plate(), purchase_date=date(2026, 12, 5), **car)
