"""Small tests for rows of the README's ASVS 5.0 checklist that had no test of their own.

Each test names the requirement it backs; the behaviour was already there.
"""

from __future__ import annotations

import io
import random
import re

import pyotp.compat
from flask import url_for
from PIL import Image as PILImage

from portal.services import accounts, passwords, sessions, sms_login, totp
from portal.services.media import store_image
from tests.factories import PASSWORD
from tests.portal.test_auth import _reset_link
from tests.portal.test_totp import enrol

NEW = "a brand new passphrase"


def _login(client, user, password=PASSWORD):
    return client.post("/login", data={"login": user.login, "password": password})


def _change(client, current, new=NEW):
    return client.post(
        "/password/change", data={"current_password": current, "new_password": new, "confirm": new}
    )


def test_a_password_change_needs_the_current_password(f, client, db):
    """6.2.2, 6.2.3: users change their password, and only by giving the current one."""
    owner = f.owner()
    assert _login(client, owner).status_code == 303
    r = _change(client, "not my password at all")
    assert r.status_code == 200 and "current password is not correct" in r.get_data(as_text=True)
    db.session.refresh(owner)
    assert passwords.verify_password(owner.password_hash, PASSWORD)
    assert _change(client, PASSWORD).status_code == 303
    db.session.refresh(owner)
    assert passwords.verify_password(owner.password_hash, NEW)


def _password_inputs(page: str) -> list[str]:
    return re.findall(
        r"<input[^>]*name=\"(?:password|confirm|current_password|new_password)\"[^>]*>", page
    )


def test_password_fields_are_masked_and_open_to_password_managers(f, client):
    """6.2.6, 6.2.7: type=password; no autocomplete=off and no paste blocking."""
    pages = [client.get(url).get_data(as_text=True) for url in ("/login", "/register")]
    pages.append(client.get("/password/reset/some-token").get_data(as_text=True))
    assert _login(client, f.owner()).status_code == 303
    pages.append(client.get("/password/change").get_data(as_text=True))
    for page in pages:
        inputs = _password_inputs(page)
        assert inputs
        for tag in inputs:
            assert 'type="password"' in tag
            assert 'autocomplete="off"' not in tag and "onpaste" not in tag
        assert "onpaste" not in page and "oncopy" not in page


def test_the_password_is_checked_exactly_as_typed(f, client):
    """6.2.8: no case folding, trimming or truncation before the check."""
    owner = f.owner()
    for variant in (PASSWORD.upper(), PASSWORD + " ", " " + PASSWORD, PASSWORD[:-1]):
        assert _login(client, owner, variant).status_code == 200, variant
    assert _login(client, owner).status_code == 303


def test_passwords_of_64_and_128_characters_work(f, app, db):
    """6.2.9: at least 64 characters are accepted (we take up to 128), and used in full."""
    owner = f.owner()
    for length in (64, 128):
        long = ("purple tractor sings at dawn " * 5)[: length - 1] + str(length % 10)
        assert len(long) == length
        accounts.set_password(owner, long, reason="test")
        db.session.commit()
        client = app.test_client()
        assert _login(client, owner, long[:-1]).status_code == 200
        assert _login(client, owner, long).status_code == 303


def test_an_initial_staff_password_is_random_and_only_leads_to_changing_it(f, app, db):
    """6.4.1: a new staff account gets a random initial password (secrets, 96 bits) that
    opens only the change-password page and cannot be kept as the password."""
    store = f.store()
    manager = f.manager(store)
    made = [
        accounts.create_staff(
            manager,
            name=f"顾问{i}",
            role="advisor",
            store=store,
            phone=f"1365550000{i}",
            email=None,
        )
        for i in (1, 2)
    ]
    db.session.commit()
    (user, initial), (_other, other_initial) = made
    assert len(initial) >= 16 and initial != other_initial
    client = app.test_client()
    assert _login(client, user, initial).status_code == 303
    r = client.get("/admin/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/password/change")
    r = _change(client, initial, initial)
    assert r.status_code == 200 and "used this password recently" in r.get_data(as_text=True)
    assert _change(client, initial).status_code == 303
    assert client.get("/admin/").status_code == 200


def test_a_password_reset_does_not_skip_the_second_factor(f, app, db, smtp, clock):
    """6.4.3: after a reset by email, an enrolled staff member still gives a TOTP code."""
    adv = f.advisor(f.store())
    c, _codes = enrol(app, db, adv)
    assert c.post("/password/forgot", data={"login": adv.email}).status_code == 303
    smtp.deliver()
    link = _reset_link(smtp.messages[-1])
    assert c.post(link, data={"password": NEW, "confirm": NEW}).status_code == 303
    r = _login(c, adv, NEW)
    assert r.status_code == 303 and r.headers["Location"].endswith("/login/code")
    assert c.get("/admin/").status_code == 302  # not signed in without the code


def test_one_time_codes_and_seeds_come_from_the_csprng(f, app, db, monkeypatch):
    """6.5.3, 6.5.4: SMS codes are 6 digits from secrets.randbelow (about 20 bits) and TOTP
    seeds 32 base32 characters (160 bits) from pyotp's SystemRandom."""
    assert isinstance(pyotp.compat.random, random.SystemRandom)
    asked = []
    real = sms_login.secrets.randbelow
    monkeypatch.setattr(sms_login.secrets, "randbelow", lambda n: asked.append(n) or real(n))
    with app.test_request_context():
        sms_login.request_code("13900001111")
    assert asked == [10**6]
    row = totp.start_enrolment(f.advisor(f.store()))
    assert len(row.secret) == 32 and row.secret != totp.start_enrolment(f.advisor(f.store())).secret


def test_session_tokens_come_from_the_csprng_with_at_least_128_bits(f, app, monkeypatch):
    """7.2.3: login session tokens are secrets.token_urlsafe(32) (256 bits) and unique."""
    asked = []
    real = sessions.secrets.token_urlsafe

    def spy(nbytes=None):
        asked.append(nbytes)
        return real(nbytes)

    monkeypatch.setattr(sessions.secrets, "token_urlsafe", spy)
    owner = f.owner()
    with app.test_request_context():
        tokens = {sessions.start(owner) for _ in range(100)}
    assert len(tokens) == 100 and asked == [32] * 100  # 32 bytes = 256 bits


def test_a_password_change_ends_the_other_sessions(f, app):
    """7.4.3: changing the password ends every other session; this one continues."""
    owner = f.owner()
    here, there = app.test_client(), app.test_client()
    assert _login(here, owner).status_code == 303 and _login(there, owner).status_code == 303
    assert there.get("/account/devices").status_code == 200
    assert _change(here, PASSWORD).status_code == 303
    assert there.get("/account/devices").status_code == 302
    assert here.get("/account/devices").status_code == 200


def test_signed_in_pages_offer_log_out(f, app):
    """7.4.4: staff pages carry a Log out button; every owner page has the "Me" tab,
    whose page has Log out."""
    store = f.store()
    owner, advisor = f.owner(store), f.advisor(store)
    client = app.test_client()
    assert _login(client, advisor).status_code == 303
    for url in ("/admin/", "/account/devices", "/password/change"):
        r = client.get(url)
        assert r.status_code == 200 and 'action="/logout"' in r.get_data(as_text=True), url
    client = app.test_client()
    assert _login(client, owner).status_code == 303
    for url in ("/", "/bookings/calendar", "/account/devices", "/password/change"):
        r = client.get(url)
        assert r.status_code == 200 and 'id="nav-account" href="/account"' in r.get_data(
            as_text=True
        ), url
    assert 'action="/logout"' in client.get("/account").get_data(as_text=True)


def test_downloads_name_their_file_on_the_server(f, client):
    """5.4.1, 5.4.2: the calendar download sets its own fixed filename, never one from input."""
    assert _login(client, f.owner()).status_code == 303
    client.post("/bookings/calendar")
    page = client.get("/bookings/calendar").get_data(as_text=True)
    feed = re.search(r"(/calendar/[\w-]+\.ics)", page).group(1)
    r = client.get(feed + "?filename=evil.html")
    assert r.mimetype == "text/calendar"
    assert r.headers["Content-Disposition"] == 'attachment; filename="m4s.ics"'


def test_uploads_are_served_back_as_re_encoded_jpeg_data_never_run(f, app, db):
    """5.3.1, 5.3.2: images live in the database as re-encoded JPEG (no upload path or
    filename is kept) and are sent as image/jpeg with nosniff."""
    owner = f.owner()
    out = io.BytesIO()
    PILImage.new("RGB", (32, 24), (200, 10, 10)).save(out, format="PNG")
    image = store_image(out.getvalue() + b"<?php system($_GET['c']); ?>", owner=owner)
    db.session.commit()
    assert image.data[:3] == b"\xff\xd8\xff" and b"<?php" not in image.data
    with app.test_request_context():
        url = url_for("media.image_show", image_id=image.id)
    client = app.test_client()
    assert _login(client, owner).status_code == 303
    r = client.get(url)
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.data == image.data
