"""The apply step of a checked import (customers, platform leads, catalog), run by the worker.

The request checks the upload and keeps it (admin/checked_uploads.py); "apply" queues one job
per kept file (a UNIQUE column, so a second click finds the first click's job). The worker
checks the whole file again (a row turned bad since the preview stops the job before it
changes anything, as the request did), then applies it in batches of IMPORT_BATCH rows, each
batch committed with the job's progress and counts. A row the database refuses meanwhile (its
VIN registered, its platform id imported by a colleague a second ago) is rolled back alone, in
its savepoint, and kept with its reason for the job's failure list. A catalog import (at most
CATALOG_IMPORT_MAX_ROWS short rows) is applied in one batch and stays all or nothing: a row
refused there stops the job and rolls the whole file back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from admin import catalog_imports, imports
from admin.exports import export_dir
from admin.job_claims import claim_oldest
from admin.models import (
    CATALOG_IMPORTS,
    CUSTOMERS_IMPORT,
    DONE,
    FAILED,
    LEADS_IMPORT,
    QUEUED,
    RUNNING,
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
FOLDERS.update(dict.fromkeys(CATALOG_IMPORTS, "catalog_imports"))
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
    atomic: bool = False  # all rows in one transaction: a refused row refuses the file


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


def visible_job(me: User, job_id: int, kinds: tuple[str, ...]) -> ImportJob | None:
    """Return the import job if it is of one of these kinds and the person's store's (admins:
    any)."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.kind not in kinds or not access.in_store(me, job.store_id):
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


class LeaseLost(Exception):
    """Another worker has claimed the job: this one was silent too long and must stop."""


@dataclass(frozen=True)
class Lease:
    """A worker's hold on a claimed job: the claim it made (the job's attempts then)."""

    job_id: int
    attempt: int

    def save(self, **values) -> None:
        """Commit the values with the work done since the last save and renew the lease; if
        another worker has claimed the job since, roll it all back and raise LeaseLost."""
        saved = db.session.execute(
            update(ImportJob)
            .where(
                ImportJob.id == self.job_id,
                ImportJob.status == RUNNING,
                ImportJob.attempts == self.attempt,
            )
            .values(heartbeat_at=now(), **values)
        ).rowcount
        if saved != 1:
            db.session.rollback()
            raise LeaseLost(self.job_id)
        db.session.commit()


def claim_import() -> int | None:
    """Claim the oldest queued import, or a running one whose worker has been silent longer
    than IMPORT_LEASE_SECONDS (a conditional UPDATE: one worker wins); return its id."""
    stale = now() - timedelta(seconds=current_app.config["IMPORT_LEASE_SECONDS"])
    claimable = (ImportJob.status == QUEUED) | (
        (ImportJob.status == RUNNING) & (ImportJob.heartbeat_at < stale)
    )
    return claim_oldest(
        ImportJob, claimable, heartbeat_at=now(), attempts=ImportJob.attempts + 1,
        started_at=func.coalesce(ImportJob.started_at, now()),
    )  # fmt: skip


def _plan(job: ImportJob, table: list[list[str]], store: Store, actor: User) -> Plan:
    rows: list = []
    if job.kind in CATALOG_IMPORTS:
        if actor.role not in catalog_imports.EDITORS[job.kind]:
            raise PermissionError("the import's owner may no longer import this")
        rows = catalog_imports.check_rows(job.kind, table, store)
        return Plan(rows, catalog_imports.CatalogApply(job.kind, store, actor), atomic=True)
    if job.kind == LEADS_IMPORT:
        if len(table) > 1:  # a resumed job may have no rows left
            rows = lead_import.check_rows(table, store, job.platform)
        return Plan(rows, LeadApply(store, job.platform, actor, owners=saved_owners(job)))
    return Plan(imports.check_rows(table), imports.CustomerApply(store, actor))


def saved_owners(job: ImportJob) -> dict[int, int]:
    """Return the new leads per advisor that the job's committed batches gave so far."""
    try:
        saved = json.loads(job.owners or "{}")
    except ValueError:
        return {}
    if not isinstance(saved, dict):
        return {}
    return {int(k): int(v) for k, v in saved.items() if str(k).isdigit() and isinstance(v, int)}


def _progress(applier: Applier) -> dict:
    """Return what the applier must keep with each batch for a resumed job (leads: owners)."""
    if isinstance(applier, LeadApply):
        return {"owners": json.dumps({str(k): v for k, v in sorted(applier.owners.items())})}
    return {}


def _failure(job_id: int, row: Any, reason: str) -> ImportFailure:
    values = json.dumps(row.values, ensure_ascii=False)
    return ImportFailure(job_id=job_id, line=row.line, reason=reason[:500], values=values[:4000])


def _reason(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    return _("The records changed meanwhile: this row conflicts with one added since.")


def _errors(row: Any) -> str:
    """Return a row's errors as one text (a catalog row's are (column, message) pairs)."""
    return "; ".join(e if isinstance(e, str) else f"{e[0]}: {e[1]}" for e in row.errors)


def _apply_atomic(plan: Plan) -> dict:
    """Apply every row in the job's transaction; a refused row refuses the whole file."""
    counts = {"created": 0, "merged": 0, "skipped": 0, "failed": 0, "vehicles": 0}
    for row in plan.rows:
        try:
            counts[OUTCOMES[plan.applier.apply(row)]] += 1
            db.session.flush()
        except IntegrityError:
            raise ValidationError(
                _(
                    "Nothing was imported: line %(line)d conflicts with a record added "
                    "meanwhile. Check the file again.",
                    line=row.line,
                )
            ) from None
    return counts


def _apply_row(job_id: int, applier: Applier, row: Any) -> str:
    """Apply one row in its savepoint; return its count's name (a refused row: "failed")."""
    if row.errors:  # a resumed job's row that turned bad since the preview
        db.session.add(_failure(job_id, row, _errors(row)))
        return "failed"
    try:
        with db.session.begin_nested():
            outcome = applier.apply(row)
            db.session.flush()
    except (DomainError, IntegrityError) as exc:
        db.session.add(_failure(job_id, row, _reason(exc)))
        return "failed"
    return OUTCOMES[outcome]


def _apply(lease: Lease, plan: Plan, start: int, counts: dict) -> None:
    """Apply the plan's rows (the file's rows after the first `start`) in committed batches,
    each saved with the progress and the counts, which go on from those given."""
    batch = current_app.config["IMPORT_BATCH"]
    rows = plan.rows
    for first in range(0, len(rows), batch):
        for row in rows[first : first + batch]:
            outcome = _apply_row(lease.job_id, plan.applier, row)
            counts[outcome] += 1
            if outcome != "failed" and getattr(row, "adds_vehicle", False):
                counts["vehicles"] += 1
        db.session.flush()
        done = start + min(first + batch, len(rows))
        lease.save(done_rows=done, **counts, **_progress(plan.applier))


def _given_up(job: ImportJob) -> str:
    return _(
        "The import was interrupted %(n)d times and was stopped after %(done)d of %(total)d "
        "rows. Import the rows after line %(line)d from a new file.",
        n=current_app.config["IMPORT_MAX_ATTEMPTS"],
        done=job.done_rows,
        total=job.total_rows or 0,
        line=job.done_rows + 1,
    )


def run_import(job_id: int) -> None:
    """Apply a claimed import job; a failure is recorded on the job, not raised. Another
    worker's claim since (this one was silent too long) stops it without changing anything."""
    job = db.session.get(ImportJob, job_id)
    lease = Lease(job_id, job.attempts)
    path, locale = upload_path(job), job.locale
    try:
        with force_locale(locale):
            if lease.attempt > current_app.config["IMPORT_MAX_ATTEMPTS"]:
                raise ValidationError(_given_up(job))
            values = _run(job, lease)
        values.update(status=DONE, finished_at=now())
    except LeaseLost:
        current_app.logger.warning("import %s: claimed by another worker, stopped", job_id)
        return
    except Exception as exc:  # recorded on the job, shown to the store's managers
        db.session.rollback()
        if isinstance(exc, DomainError):  # the file turned bad: its rows say why
            message = exc.message
        else:  # the details go to the log, not to the page
            current_app.logger.exception("import %s failed", job_id)
            with force_locale(locale):
                message = _("The import failed. Try again, or ask an administrator.")
        values = {"status": FAILED, "error": message[:500], "finished_at": now()}
    try:
        lease.save(**values)
    except LeaseLost:
        return
    path.unlink(missing_ok=True)  # applied or refused: the token is spent either way


def _run(job: ImportJob, lease: Lease) -> dict:
    job_id, actor, store, start = job.id, job.user, job.store, job.done_rows
    if not access.is_active_staff(actor) or not access.in_store(actor, store.id):
        raise PermissionError("the import's owner may no longer import into this store")
    table = imports.read_table(upload_path(job).read_bytes())
    if start:  # resumed: the rows before were applied and committed; check only the rest
        table = [table[0], *table[1 + start :]]
    plan = _plan(job, table, store, actor)
    for row in plan.rows:
        row.line += start
    bad = [r for r in plan.rows if r.errors]
    if bad and not start:  # all or nothing, as the preview promised: refuse before changing
        db.session.add_all(_failure(job_id, r, _errors(r)) for r in bad)
        lease.save()
        raise ValidationError(
            _(
                "Nothing was imported: %(n)d rows have errors. Correct them and try again.",
                n=len(bad),
            )
        )
    if not start:
        lease.save(total_rows=len(plan.rows))
    if plan.atomic:  # committed with the job's end, or not at all
        counts = _apply_atomic(plan)
        plan.applier.finish()
        return {"done_rows": len(plan.rows), **counts}
    counts = {k: getattr(job, k) for k in ("created", "merged", "skipped", "failed", "vehicles")}
    _apply(lease, plan, start, counts)
    plan.applier.finish()  # its audit is committed with the job's end
    return {}


def run_imports(limit: int = 2) -> dict:
    """The worker's job: apply the queued imports, and those whose worker died, oldest first
    (a few per run)."""
    applied = 0
    while applied < limit:
        job_id = claim_import()
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
