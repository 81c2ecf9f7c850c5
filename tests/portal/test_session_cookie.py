"""The session cookie: verified once per process, still checked for age and tampering."""

from __future__ import annotations

import time
from datetime import timedelta

from portal.session_cookie import VerifiedCookieSessionInterface


def _cookie(app, data: dict) -> str:
    return app.session_interface.get_signing_serializer(app).dumps(data)


def _open(app, cookie: str):
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}) as ctx:
        return app.session_interface.open_session(app, ctx.request)


def test_the_app_uses_the_verifying_interface(app):
    assert isinstance(app.session_interface, VerifiedCookieSessionInterface)


def test_a_known_cookie_opens_to_a_fresh_copy_each_time(app):
    cookie = _cookie(app, {"sid": "abc", "_flashes": [("info", "hello")]})
    first = _open(app, cookie)
    assert first["sid"] == "abc" and first["_flashes"] == [("info", "hello")]
    first["_flashes"].append(("info", "changed in the first request"))
    first["sid"] = "other"
    second = _open(app, cookie)  # from the cache: untouched by the first request's changes
    assert second["sid"] == "abc" and second["_flashes"] == [("info", "hello")]
    assert cookie in app.session_interface._verified


def test_a_known_flat_cookie_also_opens_to_a_fresh_copy(app):
    cookie = _cookie(app, {"sid": "abc", "_fresh": True, "_user_id": "1:1"})
    first = _open(app, cookie)
    first["sid"], first["lang"] = "other", "en"
    assert dict(_open(app, cookie)) == {"sid": "abc", "_fresh": True, "_user_id": "1:1"}


def test_tampered_and_foreign_cookies_open_empty_and_are_not_kept(app, make_app):
    cookie = _cookie(app, {"sid": "abc"})
    payload, _, signature = cookie.rpartition(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    assert dict(_open(app, forged)) == {}
    other = make_app(SECRET_KEY="another-secret-key-" + "x" * 32)
    assert dict(_open(other, _cookie(app, {"sid": "abc"}))) == {}
    assert forged not in app.session_interface._verified
    assert not other.session_interface._verified


def test_a_known_cookie_still_expires(make_app):
    app = make_app(PERMANENT_SESSION_LIFETIME=timedelta(seconds=1))
    cookie = _cookie(app, {"sid": "abc"})
    assert _open(app, cookie)["sid"] == "abc"
    assert cookie in app.session_interface._verified
    time.sleep(2.1)  # the cookie's timestamp has whole seconds
    assert dict(_open(app, cookie)) == {}


def test_a_logged_in_cookie_keeps_working_from_the_cache(f, client, auth, app):
    owner = f.owner()
    auth.login(owner)
    for _ in range(3):  # the first request verifies the cookie, the others find it known
        r = client.get("/notifications/badge")
        assert r.status_code == 200 and "Set-Cookie" not in r.headers
    assert len(app.session_interface._verified) >= 1
    client.post("/logout")
    assert client.get("/notifications/badge").status_code in (302, 401)
