"""Staff sessions end when idle or old; owners list and end their own login sessions."""

from __future__ import annotations

from sqlalchemy import select

from portal.models import LoginSession
from tests.factories import PASSWORD


def login(client, user):
    r = client.post("/login", data={"login": user.login, "password": PASSWORD})
    assert r.status_code == 303
    return r


def test_a_staff_session_ends_after_30_idle_minutes(f, app, db, clock):
    adv = f.advisor(f.store())
    c = app.test_client()
    login(c, adv)
    clock.advance(minutes=29)
    assert c.get("/admin/").status_code == 200
    clock.advance(minutes=29)  # 29 minutes since the last request: still alive
    assert c.get("/admin/").status_code == 200
    clock.advance(minutes=31)
    r = c.get("/admin/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert db.session.scalar(select(LoginSession.revoked_at)) is not None
    assert c.get("/admin/").status_code == 302  # and stays ended


def test_a_busy_staff_session_still_ends_after_12_hours(f, app, db, clock):
    adv = f.advisor(f.store())
    c = app.test_client()
    login(c, adv)
    for _ in range(35):  # a request every 20 minutes for 11 h 40 min
        clock.advance(minutes=20)
        assert c.get("/admin/").status_code == 200
    clock.advance(minutes=21)
    r = c.get("/admin/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_timeouts_are_configurable(f, make_app, db, clock):
    adv = f.advisor(f.store())
    c = make_app(STAFF_SESSION_IDLE_MINUTES=5).test_client()
    login(c, adv)
    clock.advance(minutes=6)
    assert c.get("/admin/").status_code == 302


def test_owner_sessions_keep_the_long_lifetime(f, app, db, clock):
    owner = f.owner()
    c = app.test_client()
    login(c, owner)
    clock.advance(days=3)
    assert c.get("/account").status_code == 200


def test_my_devices_lists_and_ends_a_session_at_once(f, app, db, clock):
    owner = f.owner()
    phone, laptop = app.test_client(), app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = "Phone Browser/1.0"
    laptop.environ_base["HTTP_USER_AGENT"] = "Laptop Browser/2.0"
    login(phone, owner)
    clock.advance(minutes=5)
    login(laptop, owner)
    page = phone.get("/account/devices").get_data(as_text=True)
    assert "Phone Browser/1.0" in page and "Laptop Browser/2.0" in page
    assert page.index("Phone Browser/1.0") < page.index("This device") < page.index("Laptop")
    laptop_key = db.session.scalar(
        select(LoginSession.id).where(LoginSession.user_agent == "Laptop Browser/2.0")
    )
    r = phone.post(f"/account/devices/{laptop_key}/revoke")
    assert r.status_code == 303
    assert laptop.get("/account").status_code == 302  # ended at once
    assert phone.get("/account").status_code == 200
    page = phone.get("/account/devices").get_data(as_text=True)
    assert "Laptop Browser/2.0" not in page


def test_last_seen_is_recorded(f, app, db, clock):
    owner = f.owner()
    c = app.test_client()
    login(c, owner)
    start = clock.now
    clock.advance(minutes=10)
    c.get("/account")
    seen = db.session.scalar(select(LoginSession.last_seen_at))
    assert seen is not None and (seen - start).total_seconds() == 600


def test_nobody_ends_another_users_session(f, app, db):
    alice, bob = f.owner(), f.owner()
    a, b = app.test_client(), app.test_client()
    login(a, alice)
    login(b, bob)
    bob_key = db.session.scalar(select(LoginSession.id).where(LoginSession.user_id == bob.id))
    r = a.post(f"/account/devices/{bob_key}/revoke")
    assert r.status_code == 303 and "already ended" in a.get("/account/devices").get_data(
        as_text=True
    )
    assert b.get("/account").status_code == 200
    assert a.post("/account/devices/not-a-key/revoke").status_code == 404


def test_ending_this_device_logs_out(f, app, db):
    owner = f.owner()
    c = app.test_client()
    login(c, owner)
    key = db.session.scalar(select(LoginSession.id))
    r = c.post(f"/account/devices/{key}/revoke")
    assert r.status_code == 303 and r.headers["Location"].endswith("/login")
    assert c.get("/account").status_code == 302


def test_my_devices_needs_a_login(client):
    r = client.get("/account/devices")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
