"""Repeat repairs attributed: is a comeback the technician's workmanship or the part's quality?

A job (a service record) is *repeated* when the same car came back with the same fault within
`days` days: the first visit of booking_stats' repeat pair. Every job completed in the period
counts once for each technician of that job (assigned to its booking, or named on one of its
labour items) and once for each part fitted in it (its shop product, else its part number, else
its description). A technician's or a part's repeat rate is repeated jobs / jobs, with the
number of jobs (n) beside it: a rate over three jobs says little.

Jobs are counted by when they were completed, so the comeback of a job near the period's end
may fall after it (up to `days` later). Like the other analytics, these functions only count:
callers decide which store (None: every store) the user may see."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, exists, func, literal, select, union
from sqlalchemy.orm import aliased

from portal.extensions import db
from portal.models import BookingTechnician, ServiceItem, ServiceRecord, User
from portal.services.booking_stats import is_part
from portal.sqltime import days_between


def _jobs(store_id: int | None, start: datetime, end: datetime, days: int):
    """Select every job completed in the period: record id, booking id, repeated (1 or 0)."""
    job, again = ServiceRecord, aliased(ServiceRecord)
    came_back = exists().where(
        again.vehicle_id == job.vehicle_id,
        again.fault_category == job.fault_category,
        again.completed_at > job.completed_at,
        again.completed_at < end + timedelta(days=days),
        days_between(job.completed_at, again.completed_at) <= days,
    )
    if store_id is not None:  # both visits in the store, as booking_stats counts repeats
        came_back = came_back.where(again.store_id == store_id)
    stmt = select(
        job.id.label("record_id"),
        job.booking_id.label("booking_id"),
        case((came_back, 1), else_=0).label("repeated"),
    ).where(job.completed_at >= start, job.completed_at < end)
    if store_id is not None:
        stmt = stmt.where(job.store_id == store_id)
    return stmt.subquery("jobs")


def _rates(rows) -> list[dict]:
    """Turn (key, label, jobs, repeated) rows into dicts, the highest rate first."""
    out = [
        {"key": key, "label": label, "jobs": int(n), "repeated": int(r or 0)}
        | {"rate": (int(r or 0) / n) if n else 0.0}
        for key, label, n, r in rows
    ]
    return sorted(out, key=lambda x: (-x["rate"], -x["jobs"], str(x["label"])))


def by_technician(store_id: int | None, start: datetime, end: datetime, days: int) -> list[dict]:
    """Return each technician's jobs in the period, how many came back, and the rate."""
    jobs = _jobs(store_id, start, end, days)
    worked = union(
        select(BookingTechnician.technician_id.label("tech_id"), jobs.c.record_id).join(
            jobs, jobs.c.booking_id == BookingTechnician.booking_id
        ),
        select(ServiceItem.technician_id.label("tech_id"), jobs.c.record_id)
        .join(jobs, jobs.c.record_id == ServiceItem.record_id)
        .where(ServiceItem.technician_id.is_not(None)),
    ).subquery("worked")
    stmt = (
        select(User.id, User.name, func.count(worked.c.record_id), func.sum(jobs.c.repeated))
        .join(worked, worked.c.tech_id == User.id)
        .join(jobs, jobs.c.record_id == worked.c.record_id)
        .group_by(User.id, User.name)
    )
    return _rates(db.session.execute(stmt).all())


def by_part(store_id: int | None, start: datetime, end: datetime, days: int) -> list[dict]:
    """Return each part fitted in the period's jobs (by product, else part number, else
    description): jobs it was fitted in, how many came back, and the rate."""
    jobs = _jobs(store_id, start, end, days)
    key = func.coalesce(func.nullif(ServiceItem.part_no, ""), ServiceItem.description).label(
        "part_key"
    )
    fitted = (
        select(
            func.coalesce(ServiceItem.product_id, literal(0)).label("product_id"),
            key,
            ServiceItem.description,
            ServiceItem.record_id,
        )
        .join(jobs, jobs.c.record_id == ServiceItem.record_id)
        .where(is_part())
        .subquery("fitted")
    )
    per_job = (
        select(
            fitted.c.product_id,
            fitted.c.part_key,
            func.min(fitted.c.description).label("label"),
            fitted.c.record_id,
        )
        .group_by(fitted.c.product_id, fitted.c.part_key, fitted.c.record_id)
        .subquery("per_job")
    )
    stmt = (
        select(
            per_job.c.product_id,
            per_job.c.part_key,
            func.min(per_job.c.label),
            func.count(per_job.c.record_id),
            func.sum(jobs.c.repeated),
        )
        .join(jobs, jobs.c.record_id == per_job.c.record_id)
        .group_by(per_job.c.product_id, per_job.c.part_key)
    )
    rows = [
        ((pid or None, part_key), f"{label} · {part_key}" if part_key != label else label, n, r)
        for pid, part_key, label, n, r in db.session.execute(stmt)
    ]
    return _rates(rows)
