"""Mileage readings through the API: the owners' service and its rule, scopes, store limits."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.models import MileageReading


def _readings(db, vehicle) -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(MileageReading.km, MileageReading.source)
        .where(MileageReading.vehicle_id == vehicle.id)
        .order_by(MileageReading.id)
    )
    return [(km, source) for km, source in rows]


def test_a_reading_moves_the_odometer_once_per_key(api, f, db):
    car = f.vehicle(f.owner(f.store("A")), current_km=10_000)
    db.session.commit()
    before = _readings(db, car)
    r = api.post(f"/api/v1/vehicles/{car.id}/mileage", json={"km": 12_345}, key="dms-1")
    assert r.status_code == 200 and r.get_json()["current_km"] == 12_345
    again = api.post(f"/api/v1/vehicles/{car.id}/mileage", json={"km": 12_345}, key="dms-1")
    assert again.status_code == 200 and again.get_json() == r.get_json()
    assert _readings(db, car) == [*before, (12_345, "api")]  # the replay wrote nothing


def test_a_lower_or_malformed_reading_is_refused_and_changes_nothing(api, f, db):
    car = f.vehicle(f.owner(f.store("A")), current_km=10_000)
    db.session.commit()
    count = db.session.scalar(select(func.count(MileageReading.id)))
    lower = api.post(f"/api/v1/vehicles/{car.id}/mileage", json={"km": 9_999})
    assert lower.status_code == 422 and lower.content_type == "application/problem+json"
    assert "lower than the last one" in lower.get_data(as_text=True)
    for body in ({"km": -1}, {"km": "many"}, {}, {"km": 10, "note": "x"}, {"km": 10**12}):
        assert api.post(f"/api/v1/vehicles/{car.id}/mileage", json=body).status_code == 422, body
    assert db.session.scalar(select(func.count(MileageReading.id))) == count
    db.session.refresh(car)
    assert car.current_km == 10_000


def test_scopes_and_store_limits_hold(api_as, f, db):
    store_a, store_b = f.store("A"), f.store("B")
    car = f.vehicle(f.owner(store_a), current_km=100)
    db.session.commit()
    url = f"/api/v1/vehicles/{car.id}/mileage"
    assert api_as(scopes=["customers:read"]).post(url, json={"km": 200}).status_code == 403
    assert api_as(store=store_b).post(url, json={"km": 200}).status_code == 404
    assert api_as(store=store_a).post(url, json={"km": 200}).status_code == 200
    assert api_as().post("/api/v1/vehicles/999999/mileage", json={"km": 1}).status_code == 404
