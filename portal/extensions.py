"""Unbound Flask extensions, initialised by the application factory."""

import sqlite3

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


@event.listens_for(Engine, "begin")
def _sqlite_begin_immediate(conn) -> None:
    """Take SQLite's write lock at BEGIN, so read-then-write transactions serialise like
    SELECT ... FOR UPDATE does on PostgreSQL instead of failing with a stale snapshot."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
