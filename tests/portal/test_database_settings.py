"""The app's own database session settings."""

from __future__ import annotations

from sqlalchemy import text


def test_postgresql_sessions_run_without_jit(app, db):
    """PostgreSQL's JIT compiles a request's short queries for longer than they run: the app's
    sessions turn it off (the server's setting stays); SQLite has no such option."""
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {})
    if db.engine.dialect.name == "postgresql":
        assert db.session.scalar(text("SHOW jit")) == "off"
        assert "jit=off" in options["options"]
    else:
        assert "options" not in options
