"""Delete my account (PIPL): password again, sessions end at once, 7 days to cancel, then erased."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Notification, Rescue, User, Vehicle
from portal.models.channels import MarketingConsent
from portal.services import erasure
from tests import factories


def _ask(client, password=factories.PASSWORD):
    return client.post("/account/privacy/delete", data={"password": password})


def test_a_wrong_password_changes_nothing(f, client, auth):
    me = f.owner()
    auth.login(me)
    response = _ask(client, "not-my-password")
    assert response.status_code == 422
    assert "password-error" in response.get_data(as_text=True)
    db.session.refresh(me)
    assert me.erasure_requested_at is None
    assert client.get("/").status_code == 200  # still signed in


def test_asking_ends_every_session_and_signing_in_again_can_cancel(f, app, client, auth):
    me = f.owner()
    other_browser = app.test_client()
    factories_auth = type(auth)(other_browser)
    factories_auth.login(me)
    auth.login(me)
    response = _ask(client)
    assert response.status_code == 303 and "/login" in response.headers["Location"]
    db.session.refresh(me)
    assert me.erasure_requested_at is not None and me.is_active
    for browser in (client, other_browser):  # both sessions are over
        assert browser.get("/").status_code == 200
        assert b'id="vehicle-list"' not in browser.get("/").data
    assert (
        db.session.scalar(select(func.count()).where(AuditEvent.action == "erasure_requested")) == 1
    )
    assert (
        db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == me.id))
        == 1
    )

    auth.login(me)  # within the grace period
    assert b'id="home-erasure"' in client.get("/").data
    assert client.post("/account/privacy/keep").status_code == 303
    db.session.refresh(me)
    assert me.erasure_requested_at is None
    assert erasure.erase_due() == 0


def test_after_the_grace_period_the_person_is_erased_and_the_records_anonymised(
    f, client, auth, clock
):
    store = f.store()
    me = f.owner(store, name="王芳", phone="13711112222", email="wf@example.com")
    car = f.vehicle(me, plate="粤B7K8L9")
    vin = car.vin
    booking = f.booking(me, store, vehicle=car)
    rescue = f.rescue(me, car, latitude=22.543219, longitude=113.953171, address="")
    keep = f.owner(store, name="赵强")
    db.session.add(MarketingConsent(user_id=me.id, channel="sms"))
    db.session.commit()
    auth.login(me)
    assert _ask(client).status_code == 303

    clock.advance(days=6, hours=23)
    assert erasure.erase_due() == 0  # still within the grace period
    clock.advance(hours=2)
    assert erasure.erase_due() == 1
    assert erasure.erase_due() == 0  # once

    db.session.expire_all()
    me = db.session.get(User, me.id)
    assert (me.name, me.phone, me.is_active) == (erasure.ERASED_NAME, None, False)
    assert "wf@" not in me.email and me.calendar_token is None
    car = db.session.get(Vehicle, car.id)
    assert car.vin != vin and car.plate != "粤B7K8L9" and len(car.vin) == 17
    assert car.owner_id == me.id  # the service history stays, unlinked from the person
    assert db.session.get(type(booking), booking.id) is not None
    rescue = db.session.get(Rescue, rescue.id)
    assert (rescue.latitude, rescue.longitude, rescue.callback_phone) == (22.54, 113.95, "")
    assert (
        db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == me.id))
        == 0
    )
    assert (
        db.session.scalar(
            select(func.count(MarketingConsent.id)).where(MarketingConsent.user_id == me.id)
        )
        == 0
    )
    assert db.session.get(User, keep.id).name == "赵强"  # nobody else is touched
    login = client.post("/login", data={"login": "13711112222", "password": factories.PASSWORD})
    assert login.status_code != 303  # the account is gone
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "account_erased")) == 1


def test_two_workers_erase_an_account_once(f, app, clock):
    me = f.owner()
    f.vehicle(me)
    db.session.execute(
        User.__table__.update().where(User.id == me.id).values(erasure_requested_at=clock.now)
    )
    db.session.commit()
    clock.advance(days=8)
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def work():
        with app.app_context():
            barrier.wait()
            counts.append(erasure.erase_due())
            db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(counts) == [0, 1]  # row lock (SKIP LOCKED) or, on SQLite, the second sees it done
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "account_erased")) == 1


def test_staff_cannot_use_the_owner_erasure(f, client, auth):
    store = f.store()
    advisor = f.advisor(store)
    auth.login(advisor)
    assert _ask(client).status_code in (302, 403)
    db.session.refresh(advisor)
    assert advisor.erasure_requested_at is None and advisor.is_active
