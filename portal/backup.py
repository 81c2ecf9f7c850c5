"""Encrypted, verifiable backups of the database, and restores into an empty database.

A backup is one file, `m4s-<UTC time>.m4sbak`: an encrypted tar (portal/backup_crypto.py)
holding the database (SQLite's online backup API, or `pg_dump -Fc`) and manifest.json: the
time, the schema revision, and each table's row count and content checksum, all taken from the
same snapshot as the dump. A restore verifies the file, loads it into an empty database and
then checks every table's count and checksum against the manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, inspect

from portal.backup_crypto import BackupError, decrypt_file, encrypt_file, parse_key

__all__ = ["BackupError", "backup_database", "restore_database", "run_backup"]

SUFFIX = ".m4sbak"
DUMP_NAME = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
PG_DUMP = os.environ.get("M4S_PG_DUMP", "pg_dump")
PG_RESTORE = os.environ.get("M4S_PG_RESTORE", "pg_restore")


def run_backup(app_or_config: Any, directory: str | Path, keep: int) -> Path:
    """Back up the database of a Flask app (or of a config mapping) and return the file."""
    config: Mapping[str, Any] = getattr(app_or_config, "config", app_or_config)
    engine = create_engine(config["SQLALCHEMY_DATABASE_URI"])
    try:
        return backup_database(engine, Path(directory), key_from(config), keep)
    finally:
        engine.dispose()


def key_from(config: Mapping[str, Any]) -> bytes:
    """Return the backup key configured as BACKUP_KEY (M4S_BACKUP_KEY), or raise BackupError."""
    if not config.get("BACKUP_KEY"):
        raise BackupError(
            "M4S_BACKUP_KEY is not set: backups are always encrypted. Make a key with "
            "`flask --app wsgi m4s backup-key` and keep a copy away from the backups."
        )
    return parse_key(config["BACKUP_KEY"])


def backup_database(engine: Engine, directory: Path, key: bytes, keep: int) -> Path:
    """Write an encrypted backup of the engine's database into directory; keep the last N."""
    if keep < 1:
        raise BackupError("--keep must be at least 1.")
    kind = engine.dialect.name
    if kind not in DUMP_NAME:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {kind}.")
    directory.mkdir(parents=True, exist_ok=True)
    created = datetime.now(UTC)
    target = directory / f"m4s-{created:%Y%m%dT%H%M%S%fZ}{SUFFIX}"
    with tempfile.TemporaryDirectory(dir=directory, prefix=".backup-") as work:
        dump = Path(work) / DUMP_NAME[kind]
        snapshot = _sqlite_snapshot if kind == "sqlite" else _postgres_snapshot
        tables, revision = snapshot(engine, dump)
        manifest = {
            "format": 1,
            "created_at": created.isoformat(),
            "engine": kind,
            "alembic_revision": revision,
            "tables": tables,
            "dump": {"name": dump.name, "sha256": _sha256(dump), "bytes": dump.stat().st_size},
        }
        archive = Path(work) / "backup.tar.gz"
        with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
            tar.add(dump, arcname=dump.name)
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
        partial = target.with_suffix(".partial")
        encrypt_file(key, archive, partial)
        partial.chmod(0o600)
        os.replace(partial, target)  # never a half-written backup under the final name
    _prune(directory, keep)
    return target


def restore_database(engine: Engine, backup: Path, key: bytes, force: bool = False) -> dict:
    """Restore a backup into the engine's (empty) database, verify it, return the manifest."""
    kind = engine.dialect.name
    if not backup.is_file():
        raise BackupError(f"{backup} does not exist.")
    with tempfile.TemporaryDirectory(prefix="m4s-restore-") as work:
        archive = Path(work) / "backup.tar.gz"
        decrypt_file(key, backup, archive)
        manifest, dump = _unpack(archive, Path(work))
        if manifest["engine"] != kind:
            raise BackupError(f"This is a {manifest['engine']} backup; the target is {kind}.")
        existing = inspect(engine).get_table_names()
        if existing and not force:
            raise BackupError(
                f"The target database is not empty ({len(existing)} tables): refused. "
                "Use --force to replace everything in it."
            )
        engine.dispose()
        if kind == "sqlite":
            _sqlite_load(engine, dump)
        else:
            _postgres_load(engine, dump, wipe=bool(existing))
        engine.dispose()
    with engine.connect() as conn:
        found = table_checksums(conn)
    differ = sorted(
        name
        for name in set(found) | set(manifest["tables"])
        if found.get(name) != manifest["tables"].get(name)
    )
    if differ:
        raise BackupError("Restored, but these tables differ from the backup: " + ", ".join(differ))
    return manifest


def table_checksums(conn: Connection) -> dict[str, dict[str, Any]]:
    """Return each table's row count and content checksum, as seen by this connection.

    The checksum adds up the SHA-256 of every row (modulo 2**256), so it does not depend on
    the order rows come back in and needs no sort over a big table."""
    quote = conn.dialect.identifier_preparer.quote
    result: dict[str, dict[str, Any]] = {}
    for name in sorted(inspect(conn).get_table_names()):
        rows, total = 0, 0
        stream = conn.execution_options(stream_results=True, yield_per=1000)
        for row in stream.exec_driver_sql(f"SELECT * FROM {quote(name)}"):  # noqa: S608
            digest = hashlib.sha256(repr(tuple(row)).encode()).digest()
            total = (total + int.from_bytes(digest, "big")) % (1 << 256)
            rows += 1
        result[name] = {"rows": rows, "checksum": f"{total:064x}"}
    return result


Snapshot = tuple[dict[str, dict[str, Any]], str | None]


def _describe(conn: Connection) -> Snapshot:
    tables = table_checksums(conn)
    revision = None
    if "alembic_version" in tables:
        revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return tables, revision


def _sqlite_snapshot(engine: Engine, dump: Path) -> Snapshot:
    source_path = engine.url.database
    if not source_path or source_path == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    source = sqlite3.connect(source_path)
    copy = sqlite3.connect(dump)
    try:
        source.backup(copy)  # the online backup API: a consistent copy while others write
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        copy.close()
        source.close()
    snapshot = create_engine(f"sqlite:///{dump}")
    try:
        with snapshot.connect() as conn:
            return _describe(conn)
    finally:
        snapshot.dispose()


def _postgres_snapshot(engine: Engine, dump: Path) -> Snapshot:
    # pg_dump reads the snapshot this transaction exported, so the checksums taken in the same
    # transaction describe exactly what was dumped, however busy the database is.
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
            dump_args = ["-Fc", "--snapshot", snapshot, "--schema", schema, "-f", str(dump)]
            _run([PG_DUMP, *dump_args], engine)  # the app's schema, as the manifest counts
            return _describe(conn)


def _sqlite_load(engine: Engine, dump: Path) -> None:
    target_path = engine.url.database
    if not target_path or target_path == ":memory:":
        raise BackupError("Cannot restore into an in-memory SQLite database.")
    source = sqlite3.connect(dump)
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)  # replaces the whole target database, page by page
    finally:
        target.close()
        source.close()


# Extensions the migrations create in the app's schema. pg_dump --schema leaves extensions out
# of the dump, so the restore creates them first (pg_trgm: the trigram name indexes).
PG_EXTENSIONS = ("pg_trgm",)


def _postgres_load(engine: Engine, dump: Path, wipe: bool) -> None:
    with engine.begin() as conn:
        schema = conn.dialect.identifier_preparer.quote(
            conn.exec_driver_sql("SELECT current_schema()").scalar_one()
        )
        if wipe:  # --force: the target's schema goes, then the backup's comes back whole
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        for extension in PG_EXTENSIONS:
            conn.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS {extension} SCHEMA {schema}")
    # The target's schema exists (and holds the extensions): restore everything but the dump's
    # own CREATE SCHEMA, through a table of contents without it (pg_restore -l / -L).
    listing = dump.with_suffix(".list")
    try:
        toc = subprocess.run(  # noqa: S603
            [PG_RESTORE, "-l", str(dump)], check=True, capture_output=True, text=True
        ).stdout
    except FileNotFoundError:
        raise BackupError(f"{PG_RESTORE} is not installed (PostgreSQL client tools).") from None
    kept = [
        line
        for line in toc.splitlines()
        if " SCHEMA - " not in line and "COMMENT - SCHEMA" not in line
    ]
    listing.write_text("\n".join(kept) + "\n")
    restore = [PG_RESTORE, "--no-owner", "--no-privileges", "-L", str(listing)]
    _run([*restore, "--exit-on-error", "--single-transaction", str(dump)], engine)


def _run(command: list[str], engine: Engine) -> None:
    """Run pg_dump or pg_restore against the engine's database (password in the environment)."""
    url = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    target = url.set(drivername="postgresql", password=None).render_as_string()
    flag = "--dbname=" + target
    try:
        subprocess.run([*command, flag], env=env, check=True, capture_output=True)  # noqa: S603
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL client tools).") from None
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace").strip()
        raise BackupError(f"{command[0]} failed: {detail}") from None


def _unpack(archive: Path, work: Path) -> tuple[dict, Path]:
    try:
        return _unpack_tar(archive, work)
    except tarfile.TarError as exc:
        raise BackupError(f"The backup's archive cannot be read: {exc}") from None


def _unpack_tar(archive: Path, work: Path) -> tuple[dict, Path]:
    with tarfile.open(archive) as tar:
        try:
            manifest = json.load(_member(tar, "manifest.json"))
            name = manifest["dump"]["name"]
            if name not in DUMP_NAME.values():
                raise BackupError("The manifest names an unknown database file.")
            dump = work / name
            with dump.open("wb") as out:
                shutil.copyfileobj(_member(tar, name), out)
        except (KeyError, ValueError) as exc:
            raise BackupError(f"The backup's contents are incomplete: {exc}") from None
    if _sha256(dump) != manifest["dump"]["sha256"]:
        raise BackupError("The database file does not match its manifest checksum.")
    return manifest, dump


def _member(tar: tarfile.TarFile, name: str) -> io.BufferedReader:
    stream = tar.extractfile(name)  # read as data: nothing is extracted to a path
    if stream is None:
        raise BackupError(f"{name} is missing from the backup.")
    return stream  # type: ignore[return-value]


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _prune(directory: Path, keep: int) -> None:
    backups = sorted(directory.glob(f"m4s-*{SUFFIX}"))
    for old in backups[:-keep]:
        old.unlink()
