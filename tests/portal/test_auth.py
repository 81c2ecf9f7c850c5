"""Accounts and security: registration, login, no enumeration, throttling, resets, sessions."""

from __future__ import annotations

import re

import pytest
from flask_login import login_user
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from portal.errors import ValidationError
from portal.models import AuditEvent, LoginSession, User
from portal.services import accounts, passwords
from tests.factories import PASSWORD

GENERIC = "Wrong mobile number, email or password."


def register(client, store, **kw):
    data = {
        "name": "王伟",
        "phone": "13712345678",
        "email": "",
        "store": store.id,
        "password": PASSWORD,
        "confirm": PASSWORD,
        "accept_policy": "y",
    }
    data.update(kw)
    return client.post("/register", data=data)


# --- password policy (ASVS 5.0 / 6.2) ---------------------------------------------------


@pytest.mark.parametrize("pw", ["short", "1234567"])
def test_policy_refuses_short_passwords(pw):
    with pytest.raises(ValidationError, match="at least 8"):
        passwords.check_policy(pw)


@pytest.mark.parametrize("pw", ["password", "12345678", "qwertyuiop", "Password1"])
def test_policy_refuses_common_passwords(pw):
    with pytest.raises(ValidationError, match="too common"):
        passwords.check_policy(pw)


def test_policy_accepts_long_passphrases_without_composition_rules():
    passwords.check_policy("a" * 7 + "b" + " 这是一个很长的中文口令" * 5)  # 64+ characters
    passwords.check_policy("all lowercase words are fine")


def test_hashes_are_argon2id(f):
    assert passwords.hash_password("whatever long enough").startswith("$argon2id$")


# --- registration -----------------------------------------------------------------------


def test_register_binds_owner_to_least_loaded_advisor(f, client, db):
    store = f.store()
    busy, free = f.advisor(store), f.advisor(store)
    f.owner(store, advisor_id=busy.id)
    response = register(client, store)
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.phone == "13712345678"))
    assert user.role == "owner" and user.advisor_id == free.id and user.store_id == store.id
    assert user.password_hash.startswith("$argon2id$")


def test_register_existing_login_gets_the_same_answer(f, client, db):
    store = f.store()
    first = register(client, store)
    second = register(
        client,
        store,
        name="冒充者",
        password="another good passphrase",
        confirm="another good passphrase",
    )
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    page1 = client.get(first.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id))) == 1
    assert "If these details are new" in page1


def test_register_errors_show_next_to_fields_and_change_nothing(f, client, db):
    store = f.store()
    r = register(client, store, phone="12345", password="password", confirm="password")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "11-digit" in html
    r = register(client, store, password="password", confirm="password")
    assert "too common" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id))) == 0


# --- login ------------------------------------------------------------------------------


def test_login_failure_is_the_same_for_unknown_and_known_accounts(f, client):
    owner = f.owner()
    unknown = client.post("/login", data={"login": "13999999999", "password": "nope nope"})
    wrong = client.post("/login", data={"login": owner.phone, "password": "nope nope"})
    assert unknown.status_code == wrong.status_code == 200
    assert GENERIC in unknown.get_data(as_text=True)
    assert GENERIC in wrong.get_data(as_text=True)


def test_login_with_email_or_phone(f, client):
    owner = f.owner()
    for login in (owner.phone, owner.email.upper()):
        r = client.post("/login", data={"login": login, "password": PASSWORD})
        assert r.status_code == 303
        client.post("/logout")


def test_session_rotates_at_login_and_old_cookie_is_dead_after_logout(f, app, db):
    owner = f.owner()
    client = app.test_client()
    client.get("/login")
    client.set_cookie("session", "attacker-fixed-value")
    client.post("/login", data={"login": owner.phone, "password": PASSWORD})
    cookie = client.get_cookie("session").value
    assert cookie != "attacker-fixed-value"
    assert client.get("/").status_code == 200
    assert db.session.scalar(select(func.count(LoginSession.id))) == 1
    client.post("/logout")
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    r = replay.get("/vehicles/new")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_second_login_gets_a_new_session_id(f, client, db):
    owner = f.owner()
    client.post("/login", data={"login": owner.phone, "password": PASSWORD})
    client.post("/logout")
    client.post("/login", data={"login": owner.phone, "password": PASSWORD})
    ids = db.session.scalars(select(LoginSession.id)).all()
    assert len(set(ids)) == 2


def test_open_redirect_is_refused(f, client):
    owner = f.owner()
    r = client.post(
        "/login?next=https://evil.example/x", data={"login": owner.phone, "password": PASSWORD}
    )
    assert r.headers["Location"] == "/"


def test_owners_are_throttled_not_locked(f, make_app, db):
    owner = f.owner()
    app = make_app(
        RATELIMIT_ENABLED=True,
        OWNER_LOGIN_LIMIT_ACCOUNT="3 per minute",
        OWNER_LOGIN_LIMIT_IP="100 per minute",
    )
    client = app.test_client()
    codes = [
        client.post("/login", data={"login": owner.phone, "password": "bad guess!"}).status_code
        for _ in range(5)
    ]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    db.session.refresh(owner)
    assert owner.locked_at is None and owner.failed_logins == 0
    other = app.test_client()  # another account from the same IP is still allowed
    r = other.post("/login", data={"login": "13911112222", "password": "x" * 10})
    assert r.status_code == 200


def test_throttling_per_ip(f, make_app):
    app = make_app(
        RATELIMIT_ENABLED=True,
        OWNER_LOGIN_LIMIT_ACCOUNT="100 per minute",
        OWNER_LOGIN_LIMIT_IP="4 per minute",
    )
    client = app.test_client()
    codes = [
        client.post("/login", data={"login": f"1391111{i:04d}", "password": "x" * 10}).status_code
        for i in range(6)
    ]
    assert codes == [200] * 4 + [429, 429]


def test_csrf_is_required_on_forms(f, make_app):
    owner = f.owner()
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    r = client.post("/login", data={"login": owner.phone, "password": PASSWORD})
    assert r.status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post(
        "/login", data={"login": owner.phone, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 303
    # htmx sends the token in a header, taken from <body hx-headers>.
    home = client.get("/").get_data(as_text=True)
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', home).group(1)
    r = client.post("/vehicles/1/mileage", data={"km": 5}, headers={"HX-Request": "true"})
    assert r.status_code == 400
    r = client.post(
        "/vehicles/1/mileage",
        data={"km": 5},
        headers={"HX-Request": "true", "X-CSRFToken": header_token},
    )
    assert r.status_code == 404  # past CSRF; the vehicle does not exist


# --- password reset by email ------------------------------------------------------------


def _reset_link(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"(/password/reset/\S+)", body).group(1)


def test_reset_by_email_is_single_use(f, client, smtp, db):
    owner = f.owner()
    r = client.post("/password/forgot", data={"login": owner.email})
    assert r.status_code == 303
    assert smtp.messages == []  # queued in the outbox; the worker sends it
    smtp.deliver()
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == owner.email
    link = _reset_link(smtp.messages[0])
    new = "a brand new passphrase"
    assert client.post(link, data={"password": new, "confirm": new}).status_code == 303
    again = client.post(
        link, data={"password": "yet another passphrase", "confirm": "yet another passphrase"}
    )
    assert again.status_code == 200 and "invalid or has expired" in again.get_data(as_text=True)
    db.session.refresh(owner)
    assert passwords.verify_password(owner.password_hash, new)


def test_reset_for_unknown_account_answers_the_same(f, client, smtp):
    owner = f.owner()
    known = client.post("/password/forgot", data={"login": owner.email})
    unknown = client.post("/password/forgot", data={"login": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    reset, notice = sorted(smtp.deliver(), key=lambda m: m["To"] == "nobody@example.com")
    assert reset["To"] == owner.email and "/password/reset/" in reset.get_content()
    assert notice["To"] == "nobody@example.com" and "/password/reset/" not in notice.get_content()


def test_reset_token_expires(f, client, smtp, clock):
    owner = f.owner()
    client.post("/password/forgot", data={"login": owner.email})
    link = _reset_link(smtp.deliver()[0])
    clock.advance(minutes=31)
    r = client.post(
        link, data={"password": "a brand new passphrase", "confirm": "a brand new passphrase"}
    )
    assert "invalid or has expired" in r.get_data(as_text=True)


def test_reset_refuses_a_recently_used_password(f, client, smtp):
    owner = f.owner()
    client.post("/password/forgot", data={"login": owner.email})
    link = _reset_link(smtp.deliver()[0])
    r = client.post(link, data={"password": PASSWORD, "confirm": PASSWORD})
    assert "used this password recently" in r.get_data(as_text=True)


# --- security headers and cookies -------------------------------------------------------


def test_security_headers(client):
    r = client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "HX-Request" in r.headers["Vary"]
    assert "<script>" not in r.get_data(as_text=True)  # no inline script in our pages
    assert r.headers["Cache-Control"] == "no-store"
    assert len(r.headers.getlist("Content-Security-Policy")) == 1
    with client.get("/static/css/m4s.css") as asset:
        assert "no-store" not in asset.headers.get("Cache-Control", "")


def test_session_cookie_flags_in_production(make_app, monkeypatch, f):
    owner = f.owner()
    app = make_app(ENV="production", SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    r = client.post(
        "/login", data={"login": owner.phone, "password": PASSWORD}, base_url="https://localhost"
    )
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert app.debug is False
    assert "Strict-Transport-Security" in r.headers


def test_security_events_are_audited(f, client, db):
    owner = f.owner()
    client.post("/login", data={"login": owner.phone, "password": "bad password"})
    client.post("/login", data={"login": owner.phone, "password": PASSWORD})
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["login_failed", "login"]


def test_service_find_by_login_normalises(f):
    owner = f.owner(phone="13812345678")
    assert accounts.find_by_login("+86 138-1234-5678").id == owner.id
    assert accounts.find_by_login("not a login") is None


def test_passwords_expire_after_the_window_is_unchanged_for_owners(f, clock):
    owner = f.owner()
    clock.advance(days=400)
    assert accounts.password_expired(owner) is False


def test_rate_limits_are_shared_through_redis_when_configured(make_app):
    import uuid

    import redis

    settings = dict(
        RATELIMIT_ENABLED=True,
        REDIS_URL="redis://127.0.0.1:6379/15",
        RATELIMIT_KEY_PREFIX=f"m4s-test-{uuid.uuid4().hex}",
        OWNER_LOGIN_LIMIT_IP="3 per minute",
        OWNER_LOGIN_LIMIT_ACCOUNT="100 per minute",
    )
    node_a, node_b = make_app(**settings), make_app(**settings)  # two app nodes, one Redis
    codes = [
        node.test_client()
        .post("/login", data={"login": "13911110000", "password": "x" * 10})
        .status_code
        for node in (node_a, node_b, node_a, node_b)
    ]
    assert codes == [200, 200, 200, 429]
    store = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    assert store.keys("*" + settings["RATELIMIT_KEY_PREFIX"] + "*")  # the counts live in Redis
    store.close()


def test_money_and_time_filters(app):
    from datetime import UTC, datetime

    from portal.i18n import cny, localtime

    assert cny(123456) == "¥1,234.56" and cny(5) == "¥0.05" and cny(-250) == "-¥2.50"
    with app.test_request_context():
        shown = localtime(datetime(2026, 1, 1, 16, 30, tzinfo=UTC), "Asia/Shanghai")
        assert "2027" not in shown and "12:30" in shown  # 16:30 UTC is 00:30 the next day
        assert "Jan 2, 2026" in shown


def test_the_user_and_the_login_session_load_in_one_query(client, auth, f, db):
    owner = f.owner(f.store())
    auth.login(owner)
    seen = []

    def count(_conn, _cursor, statement, *_args):
        if statement.startswith("SELECT") and "login_sessions" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        assert client.get("/account").status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert len(seen) == 1 and "users" in seen[0]
    # a revoked login session logs the user out, as before
    db.session.execute(LoginSession.__table__.update().values(revoked_at=func.now()))
    db.session.commit()
    assert client.get("/account").status_code == 302


def test_the_account_is_loaded_as_the_orm_user_in_one_query(f, db, app):
    from portal.auth import current_account
    from portal.models import User
    from portal.services import sessions

    owner = f.owner(name="Wang")
    db.session.commit()
    with app.test_request_context("/"):
        token = sessions.start(owner)
        db.session.commit()
        owner_id = owner.id
        db.session.expunge_all()  # a request starts with an empty session
        seen = []
        listener = lambda *a: seen.append(a[2])  # noqa: E731
        event.listen(Engine, "before_cursor_execute", listener)
        try:
            user = sessions.live_user(token, owner_id)
            assert isinstance(user, User) and (user.id, user.name) == (owner_id, "Wang")
            assert user.get_id() == f"{owner_id}:{owner.session_version}"
            assert not user.is_staff
            login_user(user)
            assert current_account() is user  # the loaded user: no second query
            assert len(seen) == 1
        finally:
            event.remove(Engine, "before_cursor_execute", listener)
        assert user in db.session and not db.session.dirty
        user.name = "Wang Wei"
        assert user in db.session.dirty
        db.session.commit()
        assert db.session.get(User, owner_id).name == "Wang Wei"
        assert sessions.live_user(token, owner_id + 1) is None
        assert sessions.live_user("not-a-session", owner_id) is None
