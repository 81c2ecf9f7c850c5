"""Unbound Flask extensions, initialised by the application factory."""

import sqlite3
from contextvars import ContextVar

from flask import has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

from portal.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_conn, _record) -> None:
    """Turn on WAL, foreign keys and a busy timeout; let SQLAlchemy's begin event take over."""
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


# Outside a request, code may opt into SQLite's plain deferred BEGIN (the test suite does, so
# that a test body reading the database never holds the write lock its requests need).
# GET requests must not write; every write goes through POST and takes the lock at BEGIN.
sqlite_deferred: ContextVar[bool] = ContextVar("sqlite_deferred", default=False)


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn) -> None:
    """Take SQLite's write lock at BEGIN, so read-then-write transactions serialise like
    SELECT ... FOR UPDATE does on PostgreSQL instead of failing with a stale snapshot."""
    if conn.dialect.name != "sqlite":
        return
    if has_request_context():
        # Safe methods only read: a plain BEGIN lets them run beside a writer (WAL).
        deferred = request.method in ("GET", "HEAD", "OPTIONS")
    else:
        deferred = sqlite_deferred.get()
    # Straight to the driver: this runs once per request, and SQLAlchemy's statement
    # machinery cost more than SQLite's own BEGIN.
    conn.connection.driver_connection.execute("BEGIN" if deferred else "BEGIN IMMEDIATE")
