"""Backup and restore: the drill on this suite's engine, and every refusal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text, update

from portal.backup import BackupError, restore_database, run_backup, table_checksums
from portal.backup_crypto import new_key, parse_key
from portal.extensions import db as _db
from portal.models import User

KEY = new_key()


@pytest.fixture
def keyed(app, monkeypatch):
    """The session app with a backup key configured."""
    monkeypatch.setitem(app.config, "BACKUP_KEY", KEY)
    return app


@pytest.fixture(scope="module")
def restore_database_url(database_url):
    """Yield the URL of a second database for restores: a SQLite file, or a PG database
    created for this module and dropped after it (CREATE and DROP DATABASE wait for a
    checkpoint, so not once per test)."""
    if database_url.startswith("sqlite"):
        yield None  # each test gets its own file
        return
    url = make_url(database_url)
    name = f"{url.database}_restore"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def fresh_target(restore_database_url, tmp_path):
    """Yield an engine on an empty database: a new SQLite file, or the restore PG database
    (emptied again after the test)."""
    engine = create_engine(restore_database_url or f"sqlite:///{tmp_path / 'restored.db'}")
    try:
        yield engine
    finally:
        engine.dispose()
        if restore_database_url:
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()


def _fill(f) -> None:
    store = f.store()
    for _ in range(3):
        owner = f.owner(store)
        f.vehicle(owner)
    f.advisor(store)
    _db.session.commit()


def _now() -> dict:
    with _db.engine.connect() as conn:
        return table_checksums(conn)


def test_backup_restore_drill(keyed, f, tmp_path, fresh_target):
    _fill(f)
    at_backup = _now()
    backup = run_backup(keyed, tmp_path / "backups", keep=5)
    # Writes after the backup point: new rows and a changed one.
    _fill(f)
    _db.session.execute(update(User).values(name="renamed after the backup"))
    _db.session.commit()
    after = _now()
    assert after["users"] != at_backup["users"] and after["vehicles"] != at_backup["vehicles"]

    manifest = restore_database(fresh_target, backup, parse_key(KEY))

    with fresh_target.connect() as conn:
        restored = table_checksums(conn)
    assert restored == at_backup  # every table: row count and content checksum
    assert manifest["tables"] == at_backup
    assert at_backup["users"]["rows"] == 4 and at_backup["vehicles"]["rows"] == 3
    with fresh_target.connect() as conn:
        names = conn.execute(text("SELECT name FROM users")).scalars().all()
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert "renamed after the backup" not in names
    assert manifest["alembic_revision"] == revision
    assert manifest["engine"] == _db.engine.dialect.name
    assert manifest["created_at"].endswith("+00:00")
    assert re.fullmatch(r"m4s-\d{8}T\d{12}Z\.m4sbak", backup.name)


def test_the_backup_file_is_encrypted(keyed, f, tmp_path):
    f.owner(name="Plaintext Probe")
    backup = run_backup(keyed, tmp_path, keep=1)
    data = backup.read_bytes()
    assert b"Plaintext Probe" not in data and b"manifest" not in data and b"SQLite" not in data


@pytest.mark.parametrize("where", ["middle", "end", "header", "cut", "appended"])
def test_a_tampered_backup_is_refused(keyed, f, tmp_path, fresh_target, where):
    _fill(f)
    backup = run_backup(keyed, tmp_path, keep=1)
    data = bytearray(backup.read_bytes())
    if where == "cut":
        data = data[: len(data) // 2]
    elif where == "appended":
        data += b"\x00" * 40
    else:
        i = {"middle": len(data) // 2, "end": len(data) - 1, "header": 20}[where]
        data[i] ^= 0x01
    backup.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="changed or cut short"):
        restore_database(fresh_target, backup, parse_key(KEY))
    assert _tables(fresh_target) == []  # nothing was written


def test_the_wrong_key_is_refused(keyed, f, tmp_path, fresh_target):
    _fill(f)
    backup = run_backup(keyed, tmp_path, keep=1)
    with pytest.raises(BackupError, match="another backup key"):
        restore_database(fresh_target, backup, parse_key(new_key()))
    assert _tables(fresh_target) == []


def test_a_non_empty_target_is_refused_unless_forced(keyed, f, tmp_path, fresh_target):
    _fill(f)
    backup = run_backup(keyed, tmp_path, keep=1)
    restore_database(fresh_target, backup, parse_key(KEY))
    with fresh_target.begin() as conn:
        conn.execute(text("DELETE FROM vehicles"))
    with pytest.raises(BackupError, match="not empty"):
        restore_database(fresh_target, backup, parse_key(KEY))
    with fresh_target.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM vehicles")).scalar() == 0  # untouched
    manifest = restore_database(fresh_target, backup, parse_key(KEY), force=True)
    with fresh_target.connect() as conn:
        assert table_checksums(conn) == manifest["tables"]


def test_keep_leaves_the_newest_backups(keyed, tmp_path):
    made = [run_backup(keyed, tmp_path, keep=2) for _ in range(3)]
    assert sorted(tmp_path.glob("*.m4sbak")) == made[1:]
    assert not list(tmp_path.glob(".backup-*")) and not list(tmp_path.glob("*.partial"))


def test_cli_refuses_to_back_up_without_a_key(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["m4s", "backup", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "M4S_BACKUP_KEY is not set" in result.output
    assert list(tmp_path.iterdir()) == []


def test_cli_rejects_a_malformed_key(make_app, tmp_path):
    cli_app = make_app(BACKUP_KEY="too-short")
    with cli_app.app_context():  # the CLI runs in the current app context
        result = cli_app.test_cli_runner().invoke(args=["m4s", "backup", "--dir", str(tmp_path)])
    assert result.exit_code == 1 and "32 bytes" in result.output


def test_cli_backup_then_restore(make_app, database_url, f, tmp_path):
    _fill(f)
    source = make_app(BACKUP_KEY=KEY)
    with source.app_context():  # the CLI runs in the current app context
        out = source.test_cli_runner().invoke(
            args=["m4s", "backup", "--dir", str(tmp_path / "b"), "--keep", "1"]
        )
        assert out.exit_code == 0, out.output
        (backup,) = (tmp_path / "b").glob("*.m4sbak")
        refused = source.test_cli_runner().invoke(args=["m4s", "restore", str(backup)])
    assert refused.exit_code == 1 and "not empty" in refused.output
    if not database_url.startswith("sqlite"):
        return  # the drill above restores into a second PostgreSQL database
    target = make_app(BACKUP_KEY=KEY, DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}")
    with target.app_context():
        done = target.test_cli_runner().invoke(args=["m4s", "restore", str(backup)])
    assert done.exit_code == 0, done.output
    assert "every count and checksum verified" in done.output
    restored = create_engine(f"sqlite:///{tmp_path / 'new.db'}")
    with restored.connect() as conn:
        assert table_checksums(conn) == _now()
    restored.dispose()


def test_backup_key_command_prints_a_usable_key(app):
    result = app.test_cli_runner().invoke(args=["m4s", "backup-key"])
    assert len(parse_key(result.output)) == 32


def _tables(engine) -> list[str]:
    from sqlalchemy import inspect

    return inspect(engine).get_table_names()


def test_restore_of_a_missing_file_is_a_clear_error(fresh_target):
    with pytest.raises(BackupError, match="does not exist"):
        restore_database(fresh_target, Path("/nonexistent.m4sbak"), parse_key(KEY))


def test_the_worker_backs_up_hourly_once_a_key_is_set(keyed, f, tmp_path, monkeypatch):
    from portal.worker import jobs

    job = next(j for j in jobs.JOBS if j.name == "backup")
    assert job.every_seconds == 3600
    _fill(f)
    monkeypatch.setitem(keyed.config, "BACKUP_DIR", str(tmp_path))
    run = jobs.run_job(job)
    assert run.status == "ok", run.result
    (made,) = tmp_path.glob("*.m4sbak")
    assert run.result.startswith(made.name)


def test_the_backup_job_without_a_key_writes_nothing(app, tmp_path, monkeypatch):
    from portal.cli_backup import scheduled_backup

    monkeypatch.setitem(app.config, "BACKUP_DIR", str(tmp_path))
    assert scheduled_backup().startswith("skipped")
    assert list(tmp_path.iterdir()) == []
