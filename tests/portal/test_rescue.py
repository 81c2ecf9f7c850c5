"""Roadside rescue: the owner's request (idempotent, durable), the steps, races, escalation."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.errors import Conflict, NotAllowed, NotFound, ValidationError
from portal.models import AuditEvent, Notification, Rescue, RescueEvent
from portal.services import rescue as svc
from tests.portal.test_bookings import _race


@pytest.fixture
def scene(f):
    store = f.store()
    advisor = f.advisor(store)
    manager = f.manager(store)
    owner = f.owner(store)
    vehicle = f.vehicle(owner)
    return store, advisor, manager, owner, vehicle


def _count(db, model=Rescue) -> int:
    db.session.commit()
    return db.session.scalar(select(func.count(model.id)))


# --- the request ----------------------------------------------------------------------


def test_request_stores_a_received_rescue_with_its_first_event(scene, db):
    store, advisor, _m, owner, vehicle = scene
    r, created = svc.request_rescue(
        owner,
        vehicle,
        problem="battery",
        callback_phone="13800138000",
        idempotency_key="k" * 20,
        latitude=22.54,
        longitude=113.93,
        accuracy_m=12,
    )
    db.session.commit()
    assert created and r.status == "received" and r.store_id == store.id
    assert [e.kind for e in r.events] == ["received"]
    # The store's advisors see it in their in-app inbox.
    assert (
        db.session.scalar(
            select(func.count(Notification.id)).where(Notification.user_id == advisor.id)
        )
        == 1
    )


def test_the_same_key_returns_the_first_rescue(scene, db):
    *_, owner, vehicle = scene
    kw = dict(problem="fuel", callback_phone="13800138000", idempotency_key="same-key-0123456789")
    first, new1 = svc.request_rescue(owner, vehicle, address="S9 出口", **kw)
    second, new2 = svc.request_rescue(owner, vehicle, address="另一个地址", **kw)
    assert (new1, new2) == (True, False)
    assert first.id == second.id and second.address == "S9 出口"
    assert _count(db) == 1


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"problem": "meteor"}, "problem"),
        ({"callback_phone": "call me"}, "callback_phone"),
        ({"address": ""}, "address"),  # no coordinates and no address: nowhere to go
        ({"address": "", "latitude": 22.5}, "address"),  # half a coordinate
        ({"address": "", "latitude": 95.0, "longitude": 113.0}, "address"),
        ({"idempotency_key": "short"}, None),
    ],
)
def test_bad_requests_are_refused_and_store_nothing(scene, db, kw, field):
    *_, owner, vehicle = scene
    args = dict(
        problem="other",
        callback_phone="13800138000",
        idempotency_key="x" * 24,
        address="南山区科技园",
    )
    args.update(kw)
    with pytest.raises(ValidationError) as err:
        svc.request_rescue(owner, vehicle, **args)
    assert err.value.field == field
    db.session.rollback()
    assert _count(db) == 0


def test_another_owners_car_does_not_exist(scene, db, f):
    *_, vehicle = scene
    stranger = f.owner()
    with pytest.raises(NotFound):
        svc.request_rescue(
            stranger,
            vehicle,
            problem="other",
            callback_phone="13800138000",
            idempotency_key="y" * 24,
            address="x",
        )


def test_database_refuses_an_unplaced_rescue(scene, db):
    *_, owner, vehicle = scene
    from sqlalchemy.exc import IntegrityError

    db.session.add(
        Rescue(
            owner_id=owner.id,
            vehicle_id=vehicle.id,
            store_id=owner.store_id,
            problem="other",
            callback_phone="1",
            idempotency_key="z" * 20,
            address="",
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_two_concurrent_submits_with_one_key_create_one_rescue(app, db, scene):
    *_, owner, vehicle = scene
    owner_id, vehicle_id = owner.id, vehicle.id
    db.session.commit()
    ids: list[int] = []

    def submit(i, tdb):
        from portal.models import User, Vehicle

        r, _new = svc.request_rescue(
            tdb.session.get(User, owner_id),
            tdb.session.get(Vehicle, vehicle_id),
            problem="accident",
            callback_phone="13800138000",
            idempotency_key="race-key-0123456789",
            address="滨海大道",
        )
        tdb.session.flush()
        ids.append(r.id)

    results = _race(app, 2, submit)
    assert results == ["ok", "ok"]
    assert len(set(ids)) == 1
    assert _count(db) == 1
    assert _count(db, RescueEvent) == 1


# --- the steps ------------------------------------------------------------------------


def test_full_journey_keeps_a_timeline_and_tells_the_owner(scene, db, f):
    _s, advisor, _m, owner, _v = scene
    r = f.rescue(owner)
    svc.claim(advisor, r)
    svc.dispatch(advisor, r, 25)
    svc.update_eta(advisor, r, 10)
    svc.arrive(advisor, r)
    svc.resolve(advisor, r, "换上备胎")
    db.session.commit()
    assert r.status == "resolved" and r.advisor_id == advisor.id
    assert r.claimed_at and r.dispatched_at and r.on_site_at and r.resolved_at
    assert [e.kind for e in r.events] == [
        "received",
        "claimed",
        "dispatched",
        "eta",
        "on_site",
        "resolved",
    ]
    told = db.session.scalars(
        select(Notification.link).where(Notification.user_id == owner.id)
    ).all()
    assert len(told) == 5 and set(told) == {f"/rescue/{r.id}"}


def test_steps_out_of_order_conflict(scene, db, f):
    _s, advisor, _m, owner, _v = scene
    r = f.rescue(owner)
    with pytest.raises(Conflict):
        svc.dispatch(advisor, r, 10)
    svc.claim(advisor, r)
    with pytest.raises(ValidationError):
        svc.dispatch(advisor, r, 0)
    with pytest.raises(ValidationError):
        svc.resolve(advisor, r, "  ")


def test_another_advisor_cannot_work_a_claimed_rescue_but_the_manager_can(scene, db, f):
    store, advisor, manager, owner, _v = scene
    r = f.rescue(owner)
    svc.claim(advisor, r)
    with pytest.raises(NotAllowed):
        svc.dispatch(f.advisor(store), r, 10)
    svc.dispatch(manager, r, 10)
    other = f.advisor(f.store())
    with pytest.raises(NotFound):
        svc.resolve(other, r, "done")


def test_owner_cancels_before_dispatch_only(scene, db, f):
    _s, advisor, _m, owner, vehicle = scene
    r = f.rescue(owner)
    svc.claim(advisor, r)
    svc.cancel(owner, r, "已自行解决")
    assert r.status == "cancelled" and r.cancelled_at
    r2 = f.rescue(owner, vehicle)
    svc.claim(advisor, r2)
    svc.dispatch(advisor, r2, 20)
    assert not svc.can_cancel(r2)
    with pytest.raises(Conflict):
        svc.cancel(owner, r2)


def test_twenty_concurrent_claims_have_one_winner(app, db, scene, f):
    store, _a, _m, owner, _v = scene
    advisors = [f.advisor(store).id for _ in range(20)]
    rescue_id = f.rescue(owner).id
    db.session.commit()

    def claim(i, tdb):
        from portal.models import User

        svc.claim(tdb.session.get(User, advisors[i]), tdb.session.get(Rescue, rescue_id))

    results = _race(app, 20, claim)
    assert results.count("ok") == 1
    assert all(isinstance(r, Conflict) for r in results if r != "ok")
    db.session.commit()
    r = db.session.get(Rescue, rescue_id)
    assert r.status == "claimed" and r.advisor_id in advisors
    claims = db.session.scalar(
        select(func.count(RescueEvent.id)).where(RescueEvent.kind == "claimed")
    )
    assert claims == 1


def test_manager_reassigns_and_it_is_audited(scene, db, f):
    store, advisor, manager, owner, _v = scene
    other = f.advisor(store)
    r = f.rescue(owner)
    with pytest.raises(NotAllowed):
        svc.reassign(advisor, r, other)
    svc.reassign(manager, r, other)  # unclaimed: reassigning assigns it
    assert r.status == "claimed" and r.advisor_id == other.id
    svc.reassign(manager, r, advisor)
    assert r.advisor_id == advisor.id
    with pytest.raises(ValidationError):
        svc.reassign(manager, r, f.advisor(f.store()))
    db.session.commit()
    audits = db.session.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "rescue_reassigned")
    ).all()
    assert [a["to"] for a in audits] == [other.id, advisor.id]


def test_map_links_use_the_coordinates(scene, db, f):
    *_, owner, vehicle = scene
    r = f.rescue(owner, vehicle, latitude=22.543096, longitude=114.057865, address="")
    links = dict(svc.map_links(r))
    assert links["Amap"] == (
        "https://uri.amap.com/marker?position=114.057865,22.543096&coordinate=wgs84"
    )
    assert "mlat=22.543096&mlon=114.057865" in links["OpenStreetMap"]
    # A typed address gets search links instead (tests/portal/test_rescue_help.py).
    assert [n for n, _u in svc.map_links(f.rescue(owner, vehicle))] == ["Amap", "Baidu Maps"]


# --- escalation -----------------------------------------------------------------------


def _manager_notes(db, manager) -> list[str]:
    db.session.commit()
    return db.session.scalars(
        select(Notification.text).where(Notification.user_id == manager.id)
    ).all()


def test_unclaimed_rescue_escalates_after_n_minutes_once(scene, db, f, clock, app):
    _s, advisor, manager, owner, _v = scene
    r = f.rescue(owner)
    clock.advance(minutes=app.config["RESCUE_CLAIM_MINUTES"], seconds=-1)
    assert svc.escalation(r) is None
    assert svc.escalate() == 0
    clock.advance(seconds=1)
    assert svc.escalation(r) == "unclaimed"
    assert svc.escalate() == 1
    assert svc.escalate() == 0  # the second run finds the marker set
    notes = _manager_notes(db, manager)
    assert len(notes) == 1 and f"#{r.id}" in notes[0]
    db.session.refresh(r)
    assert r.unclaimed_escalated_at == clock.now


def test_unresolved_rescue_escalates_after_m_minutes(scene, db, f, clock, app):
    _s, advisor, manager, owner, _v = scene
    r = f.rescue(owner)
    svc.claim(advisor, r)
    db.session.commit()
    clock.advance(minutes=app.config["RESCUE_RESOLVE_MINUTES"] - 1)
    assert svc.escalate() == 0 and svc.escalation(r) is None
    clock.advance(minutes=1)
    assert svc.escalation(r) == "unresolved"
    assert svc.escalate() == 1
    assert svc.escalate() == 0
    assert len(_manager_notes(db, manager)) == 1


def test_resolved_in_time_never_escalates(scene, db, f, clock):
    _s, advisor, manager, owner, _v = scene
    r = f.rescue(owner)
    svc.claim(advisor, r)
    svc.resolve(advisor, r, "电话指导重启")
    db.session.commit()
    clock.advance(hours=5)
    assert svc.escalate() == 0 and _manager_notes(db, manager) == []


def test_two_concurrent_escalation_runs_notify_once(app, db, scene, f, clock):
    store, _a, manager, owner, vehicle = scene
    manager2 = f.manager(store)
    for _ in range(5):
        f.rescue(owner, vehicle)
    clock.advance(minutes=10)
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def run():
        with app.app_context():
            from portal.extensions import db as tdb

            barrier.wait()
            try:
                counts.append(svc.escalate())
            finally:
                tdb.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 5
    assert len(_manager_notes(db, manager)) == 5
    assert len(_manager_notes(db, manager2)) == 5


def test_send_reminders_runs_the_escalation_job(app, db, scene, f, clock):
    *_, manager, owner, _v = scene
    f.rescue(owner)
    clock.advance(minutes=6)
    db.session.commit()
    out = app.test_cli_runner().invoke(args=["m4s", "send-reminders"])
    assert "portal.services.rescue:escalate: 1" in out.output
    assert len(_manager_notes(db, manager)) == 1


# --- the owner's pages ----------------------------------------------------------------


def _form_token(html: str) -> str:
    import re

    return re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)


def test_home_and_nav_lead_to_the_sos_form_with_a_fresh_token(scene, client, auth):
    *_, owner, vehicle = scene
    auth.login(owner)
    home = client.get("/").get_data(as_text=True)
    assert 'id="sos-button"' in home and 'id="nav-sos"' in home
    page = client.get("/rescue/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'src="/static/js/rescue.js?v=' in html and "<script>" not in html
    assert f'value="{owner.phone}"' in html  # the callback phone is prefilled
    assert _form_token(html) != _form_token(client.get("/rescue/new").get_data(as_text=True))


def test_post_commits_before_answering_and_a_retry_creates_nothing(scene, client, auth, db):
    *_, owner, vehicle = scene
    auth.login(owner)
    token = _form_token(client.get("/rescue/new").get_data(as_text=True))
    form = {
        "vehicle": vehicle.id,
        "problem": "flat_tyre",
        "callback_phone": "13800138000",
        "latitude": "22.5431",
        "longitude": "113.9345",
        "accuracy": "20",
        "token": token,
    }
    first = client.post("/rescue/new", data=form)
    assert first.status_code == 303
    # Durability: the row is in the database (another session reads it) once the POST returns.
    db.session.commit()
    r = db.session.scalar(select(Rescue))
    assert r is not None and first.headers["Location"].endswith(f"/rescue/{r.id}")
    assert (r.latitude, r.longitude, r.accuracy_m) == (22.5431, 113.9345, 20)
    again = client.post("/rescue/new", data=form)
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    assert _count(db) == 1
    show = client.get(first.headers["Location"]).get_data(as_text=True)
    assert f'id="rescue-status-{r.id}"' in show and "hx-trigger" in show


def test_no_location_and_no_address_is_a_field_error(scene, client, auth, db):
    *_, owner, vehicle = scene
    auth.login(owner)
    page = client.post(
        "/rescue/new",
        data={
            "vehicle": vehicle.id,
            "problem": "battery",
            "callback_phone": "13800138000",
            "token": "t" * 24,
        },
    )
    assert page.status_code == 422
    assert 'id="address-error"' in page.get_data(as_text=True)
    assert _count(db) == 0


def test_status_fragment_polls_until_the_end_and_shows_the_advisor(scene, client, auth, db, f):
    _s, advisor, _m, owner, _v = scene
    r = f.rescue(owner)
    auth.login(owner)
    frag = client.get(f"/rescue/{r.id}/status", headers={"HX-Request": "true"})
    html = frag.get_data(as_text=True)
    assert frag.status_code == 200 and "<html" not in html and "every 3s" in html
    svc.claim(advisor, r)
    db.session.commit()
    html = client.get(f"/rescue/{r.id}/status", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert 'id="rescue-advisor"' in html and f"tel:{advisor.phone}" in html
    svc.dispatch(advisor, r, 20)
    db.session.commit()
    html = client.get(f"/rescue/{r.id}/status").get_data(as_text=True)
    assert 'id="rescue-eta"' in html and 'id="rescue-cancel"' not in html
    svc.arrive(advisor, r)
    svc.resolve(advisor, r, "搭电成功")
    db.session.commit()
    html = client.get(f"/rescue/{r.id}/status").get_data(as_text=True)
    assert "hx-trigger" not in html and "搭电成功" in html


def test_owner_cancels_from_the_status_page(scene, client, auth, db, f):
    *_, owner, _v = scene
    r = f.rescue(owner)
    auth.login(owner)
    assert client.post(f"/rescue/{r.id}/cancel").status_code == 303
    db.session.commit()
    db.session.refresh(r)
    assert r.status == "cancelled"
    html = client.get(f"/rescue/{r.id}/status").get_data(as_text=True)
    assert "hx-trigger" not in html
