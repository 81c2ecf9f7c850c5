"""The apply step of a checked import (customers, or platform leads), run by the worker.

The request checks the upload and keeps it (admin/checked_uploads.py); "apply" queues one job
per kept file (a UNIQUE column, so a second click finds the first click's job). The worker
checks the whole file again (a row turned bad since the preview stops the job before it
changes anything, as the request did), then applies it in batches of IMPORT_BATCH rows, each
batch committed with the job's progress and counts. A row the database refuses meanwhile (its
VIN registered, its platform id imported by a colleague a second ago) is rolled back alone, in
its savepoint, and kept with its reason for the job's failure list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from admin import imports
from admin.exports import export_dir
from admin.job_claims import claim_oldest
from admin.models import (
    CUSTOMERS_IMPORT,
    DONE,
    FAILED,
    LEADS_IMPORT,
    QUEUED,
    ImportFailure,
    ImportJob,
)
from crm import lead_import
from crm.lead_import_apply import JOINS, NEW, SKIPPED, LeadApply
from portal import access, transitions
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.models import Store, User
from portal.timeutil import now

# Each kind's folder of checked uploads (admin/import_views.py, admin/lead_import_views.py).
FOLDERS = {CUSTOMERS_IMPORT: "imports", LEADS_IMPORT: "lead_imports"}
# What a row's outcome adds to: the job's created / merged / skipped counts.
OUTCOMES = {NEW: "created", JOINS: "merged", SKIPPED: "skipped"}
OUTCOMES.update({c: c for c in ("created", "merged", "skipped")})


class Applier(Protocol):
    def apply(self, row: Any) -> str: ...
    def finish(self) -> dict: ...


@dataclass(frozen=True)
class Plan:
    """A job's checked rows and the object that applies them."""

    rows: list
    applier: Applier


def queue_import(me: User, kind: str, path: Path, store_id: int, platform: str, locale: str):
    """Queue the apply of a kept upload; return (job, queued now). A second request for the
    same file gets the first one's job (the UNIQUE upload column decides); the caller commits."""
    job = ImportJob(
        kind=kind, store_id=store_id, user_id=me.id, upload=path.name, platform=platform,
        locale=locale[:10], status=QUEUED,
    )  # fmt: skip
    if transitions.insert_unique(job):
        return job, True
    return db.session.scalar(select(ImportJob).where(ImportJob.upload == path.name)), False


def visible_job(me: User, job_id: int, kind: str) -> ImportJob | None:
    """Return the import job if it is of this kind and the person's store's (admins: any)."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.kind != kind or not access.in_store(me, job.store_id):
        return None  # another store's import does not exist for this person
    return job


def recent_jobs(me: User, kind: str, limit: int = 5) -> list[ImportJob]:
    """Return the latest import jobs of this kind that the person may see, newest first."""
    stmt = select(ImportJob).where(ImportJob.kind == kind)
    stmt = access.store_scope(stmt, ImportJob.store_id, me)
    return list(db.session.scalars(stmt.order_by(ImportJob.id.desc()).limit(limit)))


# -- the worker ------------------------------------------------------------------------------


def upload_path(job: ImportJob) -> Path:
    """Return where the job's checked file is kept."""
    return export_dir() / FOLDERS[job.kind] / job.upload


def _plan(job: ImportJob, table: list[list[str]], store: Store, actor: User) -> Plan:
    if job.kind == LEADS_IMPORT:
        rows = lead_import.check_rows(table, store, job.platform)
        return Plan(rows, LeadApply(store, job.platform, actor))
    return Plan(imports.check_rows(table), imports.CustomerApply(store, actor))


def _failure(job_id: int, row: Any, reason: str) -> ImportFailure:
    values = json.dumps(row.values, ensure_ascii=False)
    return ImportFailure(job_id=job_id, line=row.line, reason=reason[:500], values=values[:4000])


def _reason(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    return _("The records changed meanwhile: this row conflicts with one added since.")


def _save(job_id: int, **values) -> None:
    db.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))
    db.session.commit()


def _apply(job_id: int, plan: Plan) -> dict:
    """Apply the plan's rows in committed batches, recording progress; return the counts."""
    batch = current_app.config["IMPORT_BATCH"]
    counts = {"created": 0, "merged": 0, "skipped": 0, "failed": 0}
    for start in range(0, len(plan.rows), batch):
        for row in plan.rows[start : start + batch]:
            try:
                with db.session.begin_nested():
                    outcome = plan.applier.apply(row)
                    db.session.flush()
            except (DomainError, IntegrityError) as exc:
                db.session.add(_failure(job_id, row, _reason(exc)))
                counts["failed"] += 1
                continue
            counts[OUTCOMES[outcome]] += 1
        db.session.flush()
        _save(job_id, done_rows=min(start + batch, len(plan.rows)), **counts)
    return counts


def run_import(job_id: int) -> None:
    """Apply a claimed import job; a failure is recorded on the job, not raised."""
    job = db.session.get(ImportJob, job_id)
    path, locale = upload_path(job), job.locale
    try:
        with force_locale(locale):
            counts = _run(job)
        values = {"status": DONE, "vehicles": counts.get("vehicles", 0), "finished_at": now()}
    except Exception as exc:  # recorded on the job, shown to the store's managers
        db.session.rollback()
        if isinstance(exc, DomainError):  # the file turned bad: its rows say why
            message = exc.message
        else:  # the details go to the log, not to the page
            current_app.logger.exception("import %s failed", job_id)
            with force_locale(locale):
                message = _("The import failed. Try again, or ask an administrator.")
        values = {"status": FAILED, "error": message[:500], "finished_at": now()}
    path.unlink(missing_ok=True)  # applied or refused: the token is spent either way
    _save(job_id, **values)


def _run(job: ImportJob) -> dict:
    job_id, actor, store = job.id, job.user, job.store
    if not access.is_active_staff(actor) or not access.in_store(actor, store.id):
        raise PermissionError("the import's owner may no longer import into this store")
    table = imports.read_table(upload_path(job).read_bytes())
    plan = _plan(job, table, store, actor)
    bad = [r for r in plan.rows if r.errors]
    if bad:  # all or nothing, as the preview promised: refuse before changing anything
        db.session.add_all(_failure(job_id, r, "; ".join(r.errors)) for r in bad)
        db.session.commit()
        raise ValidationError(
            _(
                "Nothing was imported: %(n)d rows have errors. Correct them and try again.",
                n=len(bad),
            )
        )
    _save(job_id, total_rows=len(plan.rows))
    _apply(job_id, plan)
    counts = plan.applier.finish()
    db.session.commit()
    return counts


def run_imports(limit: int = 2) -> dict:
    """The worker's job: apply the queued imports, oldest first (a few per run)."""
    applied = 0
    while applied < limit:
        job_id = claim_oldest(ImportJob)
        if job_id is None:
            break
        run_import(job_id)
        applied += 1
    return {"applied": applied}


def failure_rows(job: ImportJob) -> tuple[list[str], list[list]]:
    """Return the header and rows of a job's failure list: line, reason, the row's cells."""
    failures = [(f.line, f.reason, json.loads(f.values)) for f in job.failures]
    keys: list[str] = []
    for _line, _why, values in failures:
        keys += [k for k in values if k not in keys]
    header = [_("Line"), _("Reason"), *keys]
    return header, [
        [line, why, *(values.get(k, "") for k in keys)] for line, why, values in failures
    ]
