"""Retention of checked import uploads (customers, platform leads, catalog) never applied.

The dry run keeps each checked file (admin/checked_uploads.py) until someone applies it; the
worker deletes it once applied or refused. A file nobody applied, and an import queued that no
worker took, are dropped after IMPORT_UPLOAD_KEEP_DAYS: the queued job is stopped with a
message that says to upload the file again (a conditional UPDATE, so a worker that claims it
at the same moment keeps it), and the file goes. A running job's file is never touched."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from admin.exports import export_dir
from admin.import_jobs import FOLDERS, upload_path
from admin.models import FAILED, QUEUED, RUNNING, ImportJob
from portal.extensions import db
from portal.timeutil import now


def _stop_stale_jobs(cutoff) -> int:
    """Stop the imports queued before the cutoff (none claimed since); return how many."""
    stale = db.session.execute(
        select(ImportJob.id, ImportJob.locale).where(
            ImportJob.status == QUEUED, ImportJob.created_at < cutoff
        )
    ).all()
    stopped = 0
    for job_id, locale in stale:
        with force_locale(locale or current_app.config["DEFAULT_LOCALE"]):
            message = _(
                "This import waited more than %(n)d days and was not applied. Upload the file "
                "again.",
                n=current_app.config["IMPORT_UPLOAD_KEEP_DAYS"],
            )
        done = db.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id, ImportJob.status == QUEUED)
            .values(status=FAILED, error=message[:500], finished_at=now())
        ).rowcount
        db.session.commit()
        if done == 1:
            upload_path(db.session.get(ImportJob, job_id)).unlink(missing_ok=True)
            stopped += 1
    return stopped


def _old_files(cutoff) -> int:
    """Delete the kept uploads older than the cutoff that no queued or running job names."""
    in_use = set(
        db.session.scalars(select(ImportJob.upload).where(ImportJob.status.in_((QUEUED, RUNNING))))
    )
    deleted = 0
    for folder in sorted(set(FOLDERS.values())):
        path = export_dir() / folder
        if not path.is_dir():
            continue
        for kept in path.iterdir():
            if not kept.is_file() or kept.name in in_use:
                continue
            if kept.stat().st_mtime < cutoff.timestamp():
                kept.unlink(missing_ok=True)
                deleted += 1
    return deleted


def purge_unapplied() -> dict:
    """The worker's job: stop imports queued too long and delete uploads nobody applied."""
    cutoff = now() - timedelta(days=current_app.config["IMPORT_UPLOAD_KEEP_DAYS"])
    stopped = _stop_stale_jobs(cutoff)
    return {"stopped": stopped, "deleted": _old_files(cutoff)}
