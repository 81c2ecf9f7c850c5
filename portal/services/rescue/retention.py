"""Rescue locations past their retention period: rounded to about 1 km, once, audited."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import Rescue
from portal.models.rescue import TERMINAL
from portal.services import audit
from portal.timeutil import now

COARSE_DECIMALS = 2  # 0.01° is about 1.1 km of latitude: the district, not the spot


def retention() -> timedelta:
    """Return how long a closed rescue keeps its precise location."""
    return timedelta(days=current_app.config["RESCUE_LOCATION_RETENTION_DAYS"])


def _due(cutoff):
    closed_at = func.coalesce(Rescue.resolved_at, Rescue.cancelled_at)
    return (
        Rescue.latitude.is_not(None),
        Rescue.location_coarsened_at.is_(None),
        Rescue.created_at <= cutoff,  # the partial index ix_rescues_precise_location
        Rescue.status.in_(TERMINAL),
        closed_at <= cutoff,
    )


def coarsen_expired_locations(limit: int = 500) -> dict[str, int]:
    """Round the coordinates of rescues closed longer than the retention period (the worker's
    job); commits each rescue with its audit event; several workers skip each other's rows."""
    cutoff = now() - retention()
    due = db.session.scalars(
        select(Rescue.id).where(*_due(cutoff)).order_by(Rescue.id).limit(limit)
    ).all()
    coarsened = 0
    for rescue_id in due:
        rescue = db.session.scalar(
            select(Rescue)
            .where(Rescue.id == rescue_id, *_due(cutoff))
            .with_for_update(skip_locked=True)
        )
        # None: another worker has it, or it is done.
        if rescue is not None and coarsen(rescue):
            coarsened += 1
        db.session.commit()
    return {"coarsened": coarsened}


def coarsen(rescue: Rescue) -> bool:
    """Round one rescue's coordinates to about 1 km, once, and record it in the audit log;
    return False when it was already done (a conditional UPDATE decides, on every engine)."""
    done = db.session.execute(
        update(Rescue)
        .where(Rescue.id == rescue.id, Rescue.location_coarsened_at.is_(None))
        .values(
            latitude=round(rescue.latitude, COARSE_DECIMALS),
            longitude=round(rescue.longitude, COARSE_DECIMALS),
            accuracy_m=None,
            location_coarsened_at=now(),
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return False
    db.session.expire(rescue)
    audit.record(
        "rescue_location_coarsened",
        target=rescue,
        store_id=rescue.store_id,
        retention_days=current_app.config["RESCUE_LOCATION_RETENTION_DAYS"],
    )
    return True
