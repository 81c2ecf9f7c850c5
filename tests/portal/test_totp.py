"""The staff second factor: enrolment with a QR code, the code step, recovery codes."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from portal.models import StaffTotp, TotpRecoveryCode
from portal.timeutil import now
from tests.factories import PASSWORD


def login(client, user):
    return client.post("/login", data={"login": user.phone, "password": PASSWORD})


def code_for(db, user, offset_steps=0):
    secret = db.session.scalar(select(StaffTotp.secret).where(StaffTotp.user_id == user.id))
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(now()) + offset_steps)


def enrol(app, db, user):
    """Enrol the user through the pages; return (client, recovery codes)."""
    c = app.test_client()
    assert login(c, user).status_code == 303
    assert c.post("/account/second-factor", data={"action": "start"}).status_code == 303
    page = c.get("/account/second-factor").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    secret = db.session.scalar(select(StaffTotp.secret).where(StaffTotp.user_id == user.id))
    assert secret in page
    r = c.post("/account/second-factor", data={"code": "000000"})
    assert "not right" in r.get_data(as_text=True)
    r = c.post("/account/second-factor", data={"code": code_for(db, user)})
    page = r.get_data(as_text=True)
    assert 'id="totp-on"' in page
    codes = re.findall(r"<code>([0-9a-f]{6}-[0-9a-f]{6})</code>", page)
    assert len(codes) == 10
    c.post("/logout")
    return c, codes


def test_enrolled_staff_give_a_code_after_the_password(f, app, db, clock):
    adv = f.advisor(f.store())
    c, _codes = enrol(app, db, adv)
    clock.advance(seconds=31)  # the enrolment's own code cannot be used again anyway
    r = login(c, adv)
    assert r.status_code == 303 and r.headers["Location"].endswith("/login/code")
    assert c.get("/admin/").status_code == 302  # not logged in yet
    r = c.post("/login/code", data={"code": "123456"})
    assert "not right" in r.get_data(as_text=True)
    code = code_for(db, adv)
    r = c.post("/login/code", data={"code": code})
    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/today/")
    assert c.get("/admin/").status_code == 200
    # The same code cannot sign in a second time (replay).
    other = app.test_client()
    login(other, adv)
    assert "not right" in other.post("/login/code", data={"code": code}).get_data(as_text=True)


def test_a_recovery_code_works_once(f, app, db, clock):
    adv = f.advisor(f.store())
    c, codes = enrol(app, db, adv)
    login(c, adv)
    assert c.post("/login/code", data={"code": codes[0].upper()}).status_code == 303
    c.post("/logout")
    login(c, adv)
    assert "not right" in c.post("/login/code", data={"code": codes[0]}).get_data(as_text=True)
    stored = db.session.scalars(select(TotpRecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not any(code.replace("-", "") in stored for code in codes)


def test_five_wrong_codes_send_back_to_the_password(f, app, db):
    adv = f.advisor(f.store())
    c, _ = enrol(app, db, adv)
    login(c, adv)
    for _ in range(4):
        assert c.post("/login/code", data={"code": "000000"}).status_code == 200
    r = c.post("/login/code", data={"code": "000000"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/login")
    r = c.post("/login/code", data={"code": code_for(db, adv)})
    assert r.headers["Location"].endswith("/login")


def test_the_code_step_expires(f, app, db, clock):
    adv = f.advisor(f.store())
    c, _ = enrol(app, db, adv)
    login(c, adv)
    clock.advance(minutes=6)
    r = c.post("/login/code", data={"code": code_for(db, adv)})
    assert r.status_code == 303 and r.headers["Location"].endswith("/login")


def test_required_roles_are_sent_to_enrolment(f, make_app, db):
    store = f.store()
    mgr, adv = f.manager(store), f.advisor(store)
    app = make_app(STAFF_TOTP_REQUIRED_ROLES="manager,admin")
    c = app.test_client()
    assert login(c, mgr).status_code == 303
    r = c.get("/admin/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/second-factor")
    assert c.get("/account/second-factor").status_code == 200
    c.post("/account/second-factor", data={"action": "start"})
    c.post("/account/second-factor", data={"code": code_for(db, mgr)})
    assert c.get("/admin/").status_code == 200
    a = app.test_client()
    login(a, adv)
    assert a.get("/admin/").status_code == 200  # advisors are not required


def test_owners_have_no_second_factor_page(f, app, db):
    owner = f.owner()
    c = app.test_client()
    c.post("/login", data={"login": owner.login, "password": PASSWORD})
    assert c.get("/account/second-factor").status_code == 404


def test_a_code_step_without_a_password_goes_to_login(client):
    r = client.post("/login/code", data={"code": "123456"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/login")


def test_wrong_codes_are_counted_on_the_server_and_pause_the_code_step(f, app, db, clock):
    adv = f.advisor(f.store())
    c, _ = enrol(app, db, adv)
    for _ in range(5):  # a fresh browser (or a replayed cookie) each time
        guesser = app.test_client()
        login(guesser, adv)
        guesser.post("/login/code", data={"code": "000000"})
    clock.advance(seconds=31)
    login(c, adv)
    r = c.post("/login/code", data={"code": code_for(db, adv)})
    assert "not right" in r.get_data(as_text=True)  # paused, even for the right code
    clock.advance(minutes=16)
    login(c, adv)
    assert c.post("/login/code", data={"code": code_for(db, adv)}).status_code == 303


def test_the_operator_removes_a_lost_second_factor(f, app, db):
    adv = f.advisor(f.store())
    c, _ = enrol(app, db, adv)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["m4s", "reset-second-factor", f.owner().login]).exit_code != 0
    r = runner.invoke(args=["m4s", "reset-second-factor", adv.phone])
    assert r.exit_code == 0, r.output
    assert login(c, adv).headers["Location"].endswith("/admin/today/")  # no code step any more
    assert db.session.scalar(select(TotpRecoveryCode.id)) is None
