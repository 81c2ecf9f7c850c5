"""Periodic jobs: each run of a job in a schedule slot is claimed by exactly one worker.

A job is due once per slot (the schedule's period, aligned to the epoch). A worker claims the
run by inserting the unique (job, slot) row of ``job_runs`` and committing; a second worker's
insert of the same pair fails and it moves on. The row then records the result. Jobs are plain
functions found by import path (portal never imports shop or workshop_video), idempotent, and
either commit their own work or leave it to the runner, which commits after they return.
"""

from __future__ import annotations

import importlib
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select

from portal import transitions
from portal.extensions import db
from portal.models import JobRun
from portal.timeutil import now


@dataclass(frozen=True)
class Job:
    name: str
    path: str  # "module:function"
    every_seconds: int


# Later issues add their jobs here.
JOBS: list[Job] = [
    Job("rescue-escalation", "portal.services.rescue:escalate", 60),
    Job("maintenance-reminders", "portal.services.maintenance:send_due_reminders", 900),
    Job("policy-renewals", "portal.cli:policy_reminders_job", 3600),
    Job("inspection-reminders", "portal.services.inspections:send_declined_reminders", 3600),
    Job("inspection-clips", "portal.services.inspections.clips:transcode_pending", 5),
    Job("shop-expire-holds", "shop.orders:expire_holds", 60),
    Job("video-sweep", "workshop_video.services:close_stale", 60),
    Job("account-erasure", "portal.services.erasure:erase_due", 3600),
    Job(
        "rescue-location-coarsening",
        "portal.services.rescue.retention:coarsen_expired_locations",
        3600,
    ),
    Job("campaign-schedule", "crm.campaign_schedule:start_due", 60),
    Job("campaign-sends", "crm.campaign_sending:queue_due", 30),
    Job("campaign-responders", "crm.campaign_followups:follow_up_responders", 900),
    Job("campaign-booking-leads", "crm.campaign_responses:leads_from_bookings", 900),
    Job("campaign-builtins", "crm.builtins:run_builtins", 3600),
    Job("api-idempotency-purge", "api.idempotency:purge_expired", 3600),
    Job("crm-task-rules", "crm.rules:generate_tasks", 900),
    Job("crm-close-day", "crm.rules:close_day", 300),
    Job("crm-lead-escalation", "crm.escalation:escalate_missed", 60),
    Job("back-office-exports", "admin.exports:run_exports", 5),
    Job("back-office-imports", "admin.import_jobs:run_imports", 5),
    Job("import-upload-purge", "admin.upload_retention:purge_unapplied", 3600),
    Job("complaint-escalation", "crm.complaints:escalate", 300),
    Job("csi-surveys", "crm.surveys:send_due", 900),
    Job("crm-no-shows", "crm.invitations:mark_no_shows", 300),
    Job("shop-expire-pickups", "shop.orders:expire_pickups", 300),
    Job("shop-scheduled-prices", "shop.prices:apply_due", 60),
    Job("customer-value", "crm.customer_value:refresh_values", 86400),
    Job("daily-stats", "admin.daily_stats:refresh_daily_stats", 3600),
    Job("analytics-snapshots", "admin.analytics_snapshots:refresh_snapshots", 3600),
    Job("used-car-inquiry-fold", "crm.used_car_fold:fold_earlier_inquiries", 3600),
    Job("backup", "portal.cli_backup:scheduled_backup", 3600),
]

WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"


def slot_of(job: Job, at: datetime) -> str:
    """Return the schedule slot (its start, ISO UTC) that the time falls in."""
    start = int(at.timestamp()) // job.every_seconds * job.every_seconds
    return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def claim_run(job: Job, at: datetime, worker: str = WORKER_NAME) -> JobRun | None:
    """Claim the job's run in the current slot; None when another worker already has it."""
    run = JobRun(job=job.name, slot=slot_of(job, at), worker=worker[:80], started_at=now())
    if not transitions.insert_unique(run):
        db.session.rollback()
        return None
    db.session.commit()
    return run


def _callable(path: str):
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def run_job(job: Job, worker: str = WORKER_NAME) -> JobRun | None:
    """Run the job once if its current slot is unclaimed; return the recorded run."""
    run = claim_run(job, now(), worker)
    if run is None:
        return None
    run_id = run.id
    try:
        outcome = _callable(job.path)()
        db.session.commit()
        status, result = "ok", _describe(outcome)
    except Exception as exc:  # recorded for the admins; the next slot tries again
        db.session.rollback()
        current_app.logger.exception("job %s failed", job.name)
        status, result = "error", f"{type(exc).__name__}: {exc}"
    run = db.session.get(JobRun, run_id)
    run.status, run.result, run.finished_at = status, result[:2000], now()
    db.session.commit()
    return run


def _describe(outcome) -> str:
    if isinstance(outcome, dict):
        return ", ".join(f"{k}={v}" for k, v in outcome.items())
    return "" if outcome is None else str(outcome)


def run_due_jobs(worker: str = WORKER_NAME, jobs: list[Job] | None = None) -> list[JobRun]:
    """Run every job whose current slot nobody has claimed yet; return the runs made."""
    runs = []
    for job in JOBS if jobs is None else jobs:
        run = run_job(job, worker)
        if run is not None:
            runs.append(run)
    return runs


def last_runs() -> list[tuple[Job, JobRun | None]]:
    """Return each job with its latest run (one indexed lookup per job)."""
    latest = {}
    for job in JOBS:
        latest[job.name] = db.session.scalar(
            select(JobRun).where(JobRun.job == job.name).order_by(JobRun.started_at.desc()).limit(1)
        )
    return [(job, latest[job.name]) for job in JOBS]
