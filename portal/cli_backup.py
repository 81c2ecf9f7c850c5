"""flask m4s backup | restore | backup-key: encrypted backups and verified restores."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from portal.backup import BackupError, key_from, restore_database, run_backup
from portal.backup_crypto import new_key
from portal.cli import m4s
from portal.extensions import db


def _default_dir() -> Path:
    return Path(current_app.config["BACKUP_DIR"] or Path(current_app.instance_path) / "backups")


def scheduled_backup() -> str:
    """Back up the database into the default directory when a backup key is set (worker job)."""
    if not current_app.config["BACKUP_KEY"]:
        return "skipped: M4S_BACKUP_KEY is not set"
    path = run_backup(current_app, _default_dir(), current_app.config["BACKUP_KEEP"])
    return f"{path.name} ({path.stat().st_size} bytes)"


@m4s.command("backup")
@click.option("--dir", "directory", type=click.Path(file_okay=False), help="Default: BACKUP_DIR.")
@click.option("--keep", type=int, default=None, help="Backups to keep (default: BACKUP_KEEP).")
def backup(directory: str | None, keep: int | None) -> None:
    """Write an encrypted backup of the database and keep the last N."""
    keep = current_app.config["BACKUP_KEEP"] if keep is None else keep
    try:
        path = run_backup(current_app, directory or _default_dir(), keep)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup written: {path} ({path.stat().st_size} bytes)")


@m4s.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that is not empty.")
def restore(file: str, force: bool) -> None:
    """Restore a backup into the configured (empty) database and verify every table."""
    try:
        manifest = restore_database(db.engine, Path(file), key_from(current_app.config), force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.engine.dispose()
    rows = sum(t["rows"] for t in manifest["tables"].values())
    click.echo(
        f"Restored the backup of {manifest['created_at']} (schema {manifest['alembic_revision']}):"
        f" {len(manifest['tables'])} tables, {rows} rows, every count and checksum verified."
    )


@m4s.command("backup-key")
def backup_key() -> None:
    """Print a new random backup key for M4S_BACKUP_KEY."""
    click.echo(new_key())
