"""Booking writes through the API: the owners' services, Idempotency-Key, races."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from api.models import IdempotencyKey
from portal.models import Booking, SlotUsage
from portal.models.bookings import ACCEPTED, CANCELLED
from tests.api.conftest import ApiClient


def _body(owner, vehicle, store, slot, **kw):
    return {
        "customer_id": owner.id,
        "vehicle_id": vehicle.id,
        "store_id": store.id,
        "slot_start": slot.isoformat(),
        "service_types": ["maintenance"],
        **kw,
    }


def _count(db, model=Booking):
    db.session.commit()
    return db.session.scalar(select(func.count(model.id)))


def test_book_through_the_api_and_replay_the_same_key(api, f, db):
    store = f.store("A")
    owner = f.owner(store)
    vehicle = f.vehicle(owner)
    db.session.commit()
    body = _body(owner, vehicle, store, f.slot(store, 2), description="保养")
    first = api.post("/api/v1/bookings", json=body, key="order-1")
    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.get_json()["status"] == "submitted"
    again = api.post("/api/v1/bookings", json=body, key="order-1")
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(db) == 1
    assert db.session.scalar(select(SlotUsage.used)) == 1


def test_same_key_with_another_body_is_422_and_writes_nothing(api, f, db):
    store = f.store("A")
    owner = f.owner(store)
    vehicle = f.vehicle(owner)
    db.session.commit()
    api.post("/api/v1/bookings", json=_body(owner, vehicle, store, f.slot(store, 2)), key="k")
    other = _body(owner, vehicle, store, f.slot(store, 3))
    r = api.post("/api/v1/bookings", json=other, key="k")
    assert r.status_code == 422 and r.content_type == "application/problem+json"
    assert r.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert _count(db) == 1


def test_a_refused_request_keeps_no_key(api, f, db):
    store = f.store("A", bays=1)
    owner, other = f.owner(store), f.owner(store)
    f.booking(other, store, days=2, hour=10)
    vehicle = f.vehicle(owner)
    db.session.commit()
    full = _body(owner, vehicle, store, f.slot(store, 2, 10))
    r = api.post("/api/v1/bookings", json=full, key="retry-me")
    assert r.status_code == 409 and r.content_type == "application/problem+json"
    assert _count(db, IdempotencyKey) == 0
    # The key is free again: the client may retry it once the slot is fixed.
    r = api.post(
        "/api/v1/bookings", json=_body(owner, vehicle, store, f.slot(store, 3)), key="retry-me"
    )
    assert r.status_code == 201


def test_every_post_needs_an_idempotency_key(api, f, db):
    store = f.store("A")
    owner = f.owner(store)
    vehicle = f.vehicle(owner)
    db.session.commit()
    r = api.client.post(
        "/api/v1/bookings",
        json=_body(owner, vehicle, store, f.slot(store, 2)),
        headers=api._headers(),
    )
    assert r.status_code == 422 and r.content_type == "application/problem+json"
    assert "Idempotency-Key" in r.get_data(as_text=True)
    assert _count(db) == 0


def test_malformed_json_is_400_and_other_media_415(api):
    r = api.post("/api/v1/bookings", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.content_type == "application/problem+json"
    r = api.post("/api/v1/bookings", data="a=b", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.content_type == "application/problem+json"


def test_a_slot_outside_the_grid_is_422_with_the_field(api, f, db):
    store = f.store("A")
    owner = f.owner(store)
    vehicle = f.vehicle(owner)
    db.session.commit()
    odd = f.slot(store, 2, 10, 7)
    r = api.post("/api/v1/bookings", json=_body(owner, vehicle, store, odd))
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["field"] == "slot"
    assert _count(db) == 0


def test_another_customers_vehicle_does_not_exist(api, f, db):
    store = f.store("A")
    owner, other = f.owner(store), f.owner(store)
    theirs = f.vehicle(other)
    db.session.commit()
    r = api.post("/api/v1/bookings", json=_body(owner, theirs, store, f.slot(store, 2)))
    assert r.status_code == 404
    assert _count(db) == 0


def test_reschedule_and_cancel_follow_the_owners_rules(api, f, db):
    from portal.services import bookings as svc

    store = f.store("A")
    advisor = f.advisor(store)
    owner = f.owner(store)
    booking = f.booking(owner, store, days=2, hour=10)
    r = api.post(
        f"/api/v1/bookings/{booking.id}/reschedule",
        json={"slot_start": f.slot(store, 3).isoformat()},
    )
    assert r.status_code == 422  # not accepted yet: the owner could not move it either
    svc.accept(advisor, booking)
    db.session.commit()
    new = f.slot(store, 3, 11)
    r = api.post(f"/api/v1/bookings/{booking.id}/reschedule", json={"slot_start": new.isoformat()})
    assert r.status_code == 200, r.get_data(as_text=True)
    db.session.expire_all()
    moved = db.session.get(Booking, booking.id)
    assert moved.status == ACCEPTED and moved.slot_start == new
    r = api.post(f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "客户改期"})
    assert r.status_code == 200 and r.get_json()["status"] == CANCELLED
    db.session.expire_all()
    assert db.session.scalar(select(func.sum(SlotUsage.used))) == 0


def test_rate_limit_per_token_answers_429_problem(make_app, make_token, db):
    app = make_app(RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per minute")
    _t1, first = make_token(name="one")
    _t2, second = make_token(name="two")
    one, two = ApiClient(app.test_client(), first), ApiClient(app.test_client(), second)
    codes = [one.get("/api/v1/products").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = one.get("/api/v1/products")
    assert r.content_type == "application/problem+json" and r.headers["Retry-After"]
    assert two.get("/api/v1/products").status_code == 200  # another token has its own count


def _threads(n, work):
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_racing_retries_with_one_key_book_once(app, api, f, db):
    store = f.store("A")
    owner = f.owner(store)
    vehicle = f.vehicle(owner)
    db.session.commit()
    body = _body(owner, vehicle, store, f.slot(store, 2))

    def post(_i):
        client = ApiClient(app.test_client(), api.secret)
        r = client.post("/api/v1/bookings", json=body, key="same")
        return r.status_code, r.get_json()

    results = _threads(8, post)
    ok = [b for code, b in results if code == 201]
    assert ok and all(b == ok[0] for b in ok)
    assert all(code in (201, 409) for code, _b in results), results
    assert _count(db) == 1
    assert db.session.scalar(select(SlotUsage.used)) == 1


def test_racing_integrations_cannot_overbook_a_slot(app, api, f, db):
    store = f.store("A", bays=2)
    owners = [f.owner(store) for _ in range(10)]
    vehicles = [f.vehicle(o) for o in owners]
    db.session.commit()
    start = f.slot(store, 2)
    bodies = [_body(o, v, store, start) for o, v in zip(owners, vehicles, strict=True)]

    def post(i):
        client = ApiClient(app.test_client(), api.secret)
        return client.post("/api/v1/bookings", json=bodies[i]).status_code

    results = _threads(10, post)
    assert sorted(results) == [201, 201] + [409] * 8
    assert _count(db) == 2
    assert db.session.scalar(select(SlotUsage.used)) == 2


def test_old_idempotency_keys_are_purged_by_the_worker_job(api, f, db, clock):

    from api.idempotency import purge_expired
    from portal.worker.jobs import JOBS

    assert "api.idempotency:purge_expired" in {job.path for job in JOBS}
    store = f.store("A")
    owner = f.owner(store)
    vehicle = f.vehicle(owner)
    db.session.commit()
    api.post("/api/v1/bookings", json=_body(owner, vehicle, store, f.slot(store, 2)), key="old")
    clock.advance(hours=23)
    api.post("/api/v1/bookings", json=_body(owner, vehicle, store, f.slot(store, 3)), key="new")
    clock.advance(hours=2)
    assert purge_expired() == 1
    keys = db.session.scalars(select(IdempotencyKey.key)).all()
    assert keys == ["new"]
    assert _count(db) == 2  # the bookings stay; only the remembered answers go
