"""Shared fixtures: app, db, client, auth and factories. SQLite by default; PostgreSQL when
M4S_TEST_DATABASE_URL points at one. Every test starts from empty tables."""

from __future__ import annotations

import atexit
import contextvars
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text

from portal.app import create_app
from portal.extensions import db as _db
from portal.extensions import sqlite_deferred
from portal.timeutil import set_clock
from tests import factories

TEST_SECRET = "test-secret-key-" + "x" * 32
TEST_DATA_KEY = "dGVzdC1kYXRhLWtleS1vZi10aGUtbTRzLXN1aXRlLi4="  # 32 bytes, urlsafe base64
TEST_LOOKUP_KEY = "test-lookup-key-of-the-m4s-suite-000000"

# Each test process has an instance folder of its own (exports, backups, the demo's video
# clip), so that parallel workers (pytest -n) and a developer's `make run` never share files.
_INSTANCE = tempfile.mkdtemp(prefix="m4s-test-instance-")
os.environ["M4S_INSTANCE_PATH"] = _INSTANCE
atexit.register(shutil.rmtree, _INSTANCE, ignore_errors=True)


def _prepare_database(tmp: Path) -> str:
    url = os.environ.get("M4S_TEST_DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{tmp / 'test.db'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1... under pytest -n
    if worker:
        url = _worker_database(url, worker)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def _worker_database(url: str, worker: str) -> str:
    """Return the URL of this worker's own database beside the given one, made if missing."""
    given = make_url(url)
    name = f"{given.database}_{worker}"
    engine = create_engine(given, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


def test_config(database_url: str, **overrides) -> dict:
    """Return the configuration of a test app; overrides win."""
    cfg = {
        "ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "DATA_KEYS": TEST_DATA_KEY,
        "LOOKUP_KEY": TEST_LOOKUP_KEY,
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 8,
        "ARGON2_PARALLELISM": 1,
        "SMTP_HOST": "",
        "SERVER_NAME": None,
        "DEFAULT_LOCALE": "en",  # assertions read English; tests/portal/test_i18n.py covers zh_CN
    }
    cfg.update(overrides)
    return cfg


test_config.__test__ = False  # a helper, not a test


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return _prepare_database(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def app(database_url) -> Flask:
    """The application, with the schema built by the migrations (which tests them too)."""
    from flask_migrate import upgrade

    application = create_app(test_config(database_url))
    application.test_client_class = CommittingClient
    with application.app_context():
        upgrade()
    yield application
    _dispose(application)


def _dispose(application: Flask) -> None:
    with application.app_context():
        for engine in _db.engines.values():
            engine.dispose()


@pytest.fixture
def empty_database_app(make_app, database_url, tmp_path):
    """Build an app on an empty database of its own, for migration tests: a fresh SQLite file,
    or a fresh PostgreSQL schema named after the test's purpose."""

    def build(name: str) -> Flask:
        if database_url.startswith("sqlite"):
            return make_app(DATABASE_URL=f"sqlite:///{tmp_path / name}.db")
        engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {name}"))
        engine.dispose()
        path = {"connect_args": {"options": f"-csearch_path={name}"}}
        return make_app(DATABASE_URL=database_url, SQLALCHEMY_ENGINE_OPTIONS=path)

    return build


@pytest.fixture
def make_app(database_url):
    """Build another app on the same database with different settings."""
    built: list[Flask] = []

    def build(**overrides) -> Flask:
        built.append(create_app(test_config(database_url, **overrides)))
        built[-1].test_client_class = CommittingClient
        return built[-1]

    yield build
    for application in built:
        _dispose(application)
    # The limiter is one object for every app and keeps the last app's RATELIMIT_ENABLED:
    # give the session app its own setting back, and forget the hits counted meanwhile.
    from portal.extensions import limiter

    if built:
        limiter.enabled = _session_app_ratelimit(database_url)
        if limiter.initialized:  # no storage yet when no app so far had limits enabled
            limiter.reset()


def _session_app_ratelimit(database_url) -> bool:
    return bool(test_config(database_url)["RATELIMIT_ENABLED"])


def _empty_tables(application: Flask) -> None:
    """Empty what the test wrote and restart the ids, as TRUNCATE ... RESTART IDENTITY CASCADE
    of every table would, at a fraction of the cost. On PostgreSQL a TRUNCATE takes about 2 ms
    a table even when empty, and CASCADE from users reaches nearly all 100-odd tables; here one
    probe (~2 ms) finds the few tables holding rows, DELETE empties them children first, and
    one query restarts the sequences that moved (a rolled-back insert leaves no row but uses
    an id). SQLite reuses ids by itself once a table is empty."""
    with application.app_context():
        tables = list(reversed(_db.metadata.sorted_tables))  # children first
        probe = " UNION ALL ".join(
            f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM {t.name})"  # noqa: S608 (metadata)
            for t in tables
        )
        holding = set(_db.session.scalars(text(probe)))
        for table in tables:
            if table.name in holding:
                _db.session.execute(table.delete())
        if _db.engine.dialect.name == "postgresql":
            _db.session.execute(_RESTART_SEQUENCES)
        _db.session.commit()
        _db.session.remove()


# Put every sequence that has handed out a number back to 1, in one statement.
_RESTART_SEQUENCES = text(
    """SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)
    FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"""
)


class CommittingClient(FlaskClient):
    """A test client that ends the test body's transaction before each request, so the
    request sees what the test wrote and the test then reads what the request wrote.

    Each request runs in an empty context: otherwise Flask would reuse the test's app
    context, and with it the test's database session and Flask-Login's cached user."""

    def open(self, *args, **kwargs):
        if has_app_context():
            _db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(autouse=True)
def db(app):
    """Give each test empty tables and an app context; tidy up after it."""
    set_clock(None)
    # The limiter is one object shared by every app a test builds, and keeps the last app's
    # RATELIMIT_ENABLED; start every test with it off and empty (tests that need it build an
    # app with RATELIMIT_ENABLED=True, which switches it on for that test).
    from portal.extensions import limiter

    limiter.enabled = False
    if limiter.initialized:  # no storage yet when no app so far had limits enabled
        limiter.reset()
    token = sqlite_deferred.set(True)
    ctx = app.app_context()
    ctx.push()
    try:
        yield _db
    finally:
        sqlite_deferred.reset(token)
        _db.session.rollback()
        _db.session.remove()
        ctx.pop()
        set_clock(None)
        _empty_tables(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def f(db):
    """The factories, bound to this test's session."""
    return factories


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, user, password: str = factories.PASSWORD):
        response = self.client.post("/login", data={"login": user.login, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return response

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def clock():
    """A controllable clock: clock.advance(minutes=5) instead of sleeping."""
    from datetime import timedelta

    from portal.models.base import utcnow

    class Clock:
        def __init__(self):
            self.now = utcnow()
            set_clock(lambda: self.now)

        def advance(self, **kw):
            self.now = self.now + timedelta(**kw)
            return self.now

    return Clock()


@pytest.fixture
def smtp(app, monkeypatch):
    """A real SMTP server (aiosmtpd) on loopback; the app sends mail to it."""
    import socket

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []
            self.connections = 0

        def deliver(self):
            """Commit the test's work and run the worker's outbox delivery once."""
            from portal.worker.delivery import deliver_due

            _db.session.commit()
            deliver_due()
            return self.messages

        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            self.connections += 1  # smtplib greets with EHLO on every connection
            session.host_name = hostname
            return responses

        async def handle_DATA(self, server, session, envelope):
            from email import message_from_bytes
            from email.policy import default

            self.messages.append(message_from_bytes(envelope.content, policy=default))
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    try:
        yield inbox
    finally:
        controller.stop()
