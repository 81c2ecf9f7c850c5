"""The kernel: configuration, error answers, migrations."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from portal.app import create_app
from portal.config import DEFAULTS
from portal.extensions import db as _db


def test_production_refuses_to_start_without_a_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("M4S_SECRET_KEY", raising=False)
    monkeypatch.setenv("M4S_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="M4S_SECRET_KEY"):
        create_app({"ENV": "production"})
    with pytest.raises(RuntimeError, match="at least 32"):
        create_app({"ENV": "production", "SECRET_KEY": "short"})


def test_environment_overrides_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("M4S_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("M4S_STAFF_MAX_FAILED_LOGINS", "5")
    monkeypatch.setenv("M4S_SMTP_STARTTLS", "true")
    app = create_app({"ENV": "testing"})
    assert app.config["STAFF_MAX_FAILED_LOGINS"] == 5 and app.config["SMTP_STARTTLS"] is True
    assert app.debug is False


def test_instance_file_is_read_before_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("M4S_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "m4s.cfg").write_text("STAFF_MAX_FAILED_LOGINS = 7\nRESET_TOKEN_MINUTES = 9\n")
    monkeypatch.setenv("M4S_RESET_TOKEN_MINUTES", "11")
    app = create_app({"ENV": "testing"})
    assert app.config["STAFF_MAX_FAILED_LOGINS"] == 7
    assert app.config["RESET_TOKEN_MINUTES"] == 11


def test_readme_documents_every_setting():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [k for k in DEFAULTS if f"M4S_{k}" not in readme]
    assert missing == []


def test_engine_settings(app, db):
    if db.engine.dialect.name == "postgresql":
        assert db.engine.dialect.driver == "psycopg"  # psycopg 3
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000


def test_json_errors_for_json_clients(client):
    r = client.get("/nope", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.is_json and r.json["status"] == 404
    r = client.get("/nope")
    assert r.status_code == 404 and "Page not found" in r.get_data(as_text=True)
    r = client.get("/nope", headers={"HX-Request": "true"})
    assert "<html" not in r.get_data(as_text=True)


def test_500_page_changes_nothing_and_hides_details(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    r = app.test_client().get("/boom")
    body = r.get_data(as_text=True)
    assert r.status_code == 500 and "secret internals" not in body
    assert "Nothing was changed" in body


def test_models_and_migrations_agree(app, db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), _db.metadata)
    assert diff == []


def test_migrations_build_an_empty_database_from_scratch(empty_database_app):
    app = empty_database_app("fresh")
    with app.app_context():
        upgrade()
        tables = set(inspect(_db.engine).get_table_names())
        assert {"users", "stores", "vehicles", "audit_events", "alembic_version"} <= tables
        downgrade(revision="base")
        assert inspect(_db.engine).get_table_names() == ["alembic_version"]
        _db.engine.dispose()
