"""Rescue locations past their retention period: rounded to ~1 km, once, audited."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from portal.models import AuditEvent, Rescue
from portal.services import rescue as svc
from portal.services.rescue.retention import coarsen_expired_locations
from portal.worker import jobs

LAT, LNG = 22.543219, 113.953171


@pytest.fixture
def scene(f):
    store = f.store()
    return store, f.advisor(store), f.owner(store)


def _closed(scene, f, db, **kw):
    _store, advisor, owner = scene
    r = f.rescue(owner, **kw)
    svc.claim(advisor, r)
    svc.dispatch(advisor, r, 30)
    svc.arrive(advisor, r)
    svc.resolve(advisor, r, "换上备胎")
    db.session.commit()
    return r


def _coarsened_audits(db) -> list[AuditEvent]:
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "rescue_location_coarsened")
    ).all()


def test_a_closed_rescue_is_coarsened_once_after_the_retention_period(scene, f, db, clock):
    closed = _closed(scene, f, db, latitude=LAT, longitude=LNG, address="", accuracy_m=12)
    still_open = f.rescue(scene[2], latitude=LAT, longitude=LNG, address="")
    typed = _closed(scene, f, db, address="京港澳高速 K2345")
    cancelled = f.rescue(scene[2], latitude=30.123456, longitude=120.654321, address="")
    svc.cancel(scene[2], cancelled, "已自行解决")
    db.session.commit()

    clock.advance(days=179)
    assert coarsen_expired_locations() == {"coarsened": 0}
    clock.advance(days=2)
    job = next(j for j in jobs.JOBS if j.name == "rescue-location-coarsening")
    run = jobs.run_job(job)
    assert (run.status, run.result) == ("ok", "coarsened=2")

    db.session.expire_all()
    closed, cancelled = db.session.get(Rescue, closed.id), db.session.get(Rescue, cancelled.id)
    assert (closed.latitude, closed.longitude, closed.accuracy_m) == (22.54, 113.95, None)
    assert (cancelled.latitude, cancelled.longitude) == (30.12, 120.65)
    assert closed.location_coarsened_at == clock.now
    precise = db.session.get(Rescue, still_open.id)  # open rescues keep their location
    assert (precise.latitude, precise.longitude, precise.location_coarsened_at) == (LAT, LNG, None)
    assert db.session.get(Rescue, typed.id).location_coarsened_at is None  # nothing to coarsen
    # Still encrypted at rest after coarsening.
    raw = db.session.execute(
        text("SELECT latitude FROM rescues WHERE id = :id"), {"id": closed.id}
    ).scalar()
    assert raw.startswith("gAAAAA") and "22.54" not in raw
    audits = _coarsened_audits(db)
    assert sorted(a.target_id for a in audits) == sorted([closed.id, cancelled.id])
    assert {(a.target_type, a.store_id, a.detail["retention_days"]) for a in audits} == {
        ("Rescue", scene[0].id, 180)
    }
    clock.advance(days=30)
    assert coarsen_expired_locations() == {"coarsened": 0}  # once only
    assert len(_coarsened_audits(db)) == 2


def test_the_retention_period_is_a_setting(scene, f, db, clock, app, monkeypatch):
    monkeypatch.setitem(app.config, "RESCUE_LOCATION_RETENTION_DAYS", 30)
    r = _closed(scene, f, db, latitude=LAT, longitude=LNG, address="")
    clock.advance(days=29)
    assert coarsen_expired_locations() == {"coarsened": 0}
    clock.advance(days=2)
    assert coarsen_expired_locations() == {"coarsened": 1}
    db.session.expire_all()
    assert db.session.get(Rescue, r.id).latitude == 22.54
    assert _coarsened_audits(db)[0].detail["retention_days"] == 30


def test_the_closing_time_counts_not_the_request_time(scene, f, db, clock):
    _store, advisor, owner = scene
    r = f.rescue(owner, latitude=LAT, longitude=LNG, address="")
    clock.advance(days=100)  # a rescue left open for 100 days, then closed
    svc.claim(advisor, r)
    svc.dispatch(advisor, r, 30)
    svc.arrive(advisor, r)
    svc.resolve(advisor, r, "拖车回店")
    db.session.commit()
    clock.advance(days=179)
    assert coarsen_expired_locations() == {"coarsened": 0}
    clock.advance(days=2)
    assert coarsen_expired_locations() == {"coarsened": 1}


def test_two_workers_coarsen_each_rescue_once(scene, f, db, clock, app):
    ids = [
        _closed(scene, f, db, latitude=LAT + i / 1000, longitude=LNG, address="").id
        for i in range(6)
    ]
    clock.advance(days=181)
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def work():
        with app.app_context():
            barrier.wait()
            counts.append(coarsen_expired_locations()["coarsened"])
            db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 6  # SKIP LOCKED and the conditional UPDATE: each rescue once
    db.session.commit()  # end the test's read snapshot: see what the workers wrote
    assert len(_coarsened_audits(db)) == 6
    db.session.expire_all()
    coarse = db.session.scalars(select(Rescue).where(Rescue.id.in_(ids))).all()
    assert all(r.latitude == round(r.latitude, 2) and r.location_coarsened_at for r in coarse)
    assert db.session.scalar(select(func.count(Rescue.id))) == 6


def test_the_demo_shows_an_old_rescue_already_coarsened(db):
    from portal.demo import load_demo

    load_demo(owners=12)
    db.session.commit()
    old = db.session.scalars(select(Rescue).where(Rescue.location_coarsened_at.is_not(None))).all()
    assert [(r.latitude, r.longitude, r.status) for r in old] == [(22.55, 113.94, "resolved")]
    assert [a.target_id for a in _coarsened_audits(db)] == [old[0].id]
    assert coarsen_expired_locations() == {"coarsened": 0}  # nothing else is past retention
