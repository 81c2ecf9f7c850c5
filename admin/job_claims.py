"""Claiming the worker's back-office jobs (exports, import applies): one worker wins each job.

A job table has an id, a status and a started_at. The oldest claimable job is picked with
SKIP LOCKED (PostgreSQL; SQLite has one writer), then taken by a conditional UPDATE that
checks the job is still claimable: of several workers racing for it, exactly one gets a row
count of 1, and the others look for the next job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select, update

from admin.models import QUEUED, RUNNING
from portal.extensions import db
from portal.timeutil import now


def claim_oldest(model: Any, claimable: ColumnElement[bool] | None = None, **values) -> int | None:
    """Claim the oldest claimable job of the model (default: queued), setting it running (and
    started now, unless the values say otherwise); commit and return its id, or None."""
    if claimable is None:
        claimable = model.status == QUEUED
    while True:
        stmt = select(model.id).where(claimable).order_by(model.id).limit(1)
        job_id = db.session.scalar(stmt.with_for_update(skip_locked=True))
        if job_id is None:
            db.session.rollback()
            return None
        claimed = db.session.execute(
            update(model)
            .where(model.id == job_id, claimable)
            .values(**{"status": RUNNING, "started_at": now(), **values})
        ).rowcount
        db.session.commit()
        if claimed == 1:
            return job_id
