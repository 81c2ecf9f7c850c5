"""The session cookie: Flask's own signed cookie, checked for tampering and age."""

from __future__ import annotations

import time
from datetime import timedelta

from flask.sessions import SecureCookieSessionInterface


def _cookie(app, data: dict) -> str:
    return app.session_interface.get_signing_serializer(app).dumps(data)


def _open(app, cookie: str):
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}) as ctx:
        return app.session_interface.open_session(app, ctx.request)


def test_the_app_uses_flasks_own_cookie_session(app):
    assert type(app.session_interface) is SecureCookieSessionInterface


def test_a_cookie_opens_to_a_fresh_copy_each_time(app):
    cookie = _cookie(app, {"sid": "abc", "_flashes": [("info", "hello")]})
    first = _open(app, cookie)
    assert first["sid"] == "abc" and first["_flashes"] == [("info", "hello")]
    first["_flashes"].append(("info", "changed in the first request"))
    first["sid"] = "other"
    second = _open(app, cookie)
    assert second["sid"] == "abc" and second["_flashes"] == [("info", "hello")]


def test_tampered_and_foreign_cookies_open_empty(app, make_app):
    cookie = _cookie(app, {"sid": "abc"})
    payload, _, signature = cookie.rpartition(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    assert dict(_open(app, forged)) == {}
    other = make_app(SECRET_KEY="another-secret-key-" + "x" * 32)
    assert dict(_open(other, _cookie(app, {"sid": "abc"}))) == {}


def test_a_cookie_expires(make_app):
    app = make_app(PERMANENT_SESSION_LIFETIME=timedelta(seconds=1))
    cookie = _cookie(app, {"sid": "abc"})
    assert _open(app, cookie)["sid"] == "abc"
    time.sleep(2.1)  # the cookie's timestamp has whole seconds
    assert dict(_open(app, cookie)) == {}


def test_a_logged_in_cookie_keeps_working_until_logout(f, client, auth):
    owner = f.owner()
    auth.login(owner)
    for _ in range(3):
        r = client.get("/notifications/badge")
        assert r.status_code == 200 and "Set-Cookie" not in r.headers
    client.post("/logout")
    assert client.get("/notifications/badge").status_code in (302, 401)
