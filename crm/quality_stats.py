"""Service quality's numbers: NPS and CSI per month, store, advisor and technician with the
sample size;
complaints by category, store and advisor, time to acknowledge and resolve, reopen rate; the
owners' 1-5 job ratings. Each is a handful of grouped statements over one period, scoped to
the viewer's store (admins: the group)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, case, func, select, union
from sqlalchemy.orm import joinedload

from crm.quality_models import SERVICE, Complaint, Survey
from portal import access
from portal.extensions import db
from portal.models import Booking, BookingTechnician, JobLabourLine, Rating, Store, User
from portal.models.accounts import TECHNICIAN
from portal.sqltime import days_between, local_month
from portal.timeutil import now

PROMOTER, DETRACTOR = 9, 6  # NPS: 9-10 promote, 0-6 detract


@dataclass(frozen=True)
class Score:
    """One group's surveys: how many answered, the NPS (-100..100) and the mean CSI (0..100)."""

    label: str
    n: int
    nps: float | None
    csi: float | None


def _since(days: int) -> datetime:
    return now() - timedelta(days=days)


def _tz(user: User) -> str:
    store = db.session.get(Store, user.store_id) if user.store_id else None
    return store.timezone if store else current_app.config["DEFAULT_TIMEZONE"]


def _nps_columns():
    n = func.count(Survey.id)
    promoters = func.sum(case((Survey.nps >= PROMOTER, 1), else_=0))
    detractors = func.sum(case((Survey.nps <= DETRACTOR, 1), else_=0))
    return n, promoters, detractors, func.avg(Survey.csi)


def _scores(stmt: Select, names: dict | None = None) -> list[Score]:
    found = []
    for key, n, promoters, detractors, csi in db.session.execute(stmt):
        label = (names or {}).get(key, key) if key is not None else "—"
        nps = 100.0 * (int(promoters or 0) - int(detractors or 0)) / n if n else None
        found.append(Score(str(label), n, nps, float(csi) if csi is not None else None))
    return found


def _answered(user: User, days: int, kind: str) -> Select:
    base = select().where(
        Survey.answered_at.is_not(None), Survey.answered_at >= _since(days), Survey.kind == kind
    )
    return access.store_scope(base, Survey.store_id, user)


def csi_by_month(user: User, days: int = 365, kind: str = SERVICE) -> list[Score]:
    """Return NPS and CSI per month (store time) of one kind of survey, oldest first."""
    month = local_month(Survey.answered_at, _tz(user), now())
    stmt = (
        _answered(user, days, kind)
        .add_columns(month, *_nps_columns())
        .group_by(month)
        .order_by(month)
    )
    return _scores(stmt)


def _names(model, ids) -> dict:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).all())


def csi_by(user: User, column, model, days: int = 365, kind: str = SERVICE) -> list[Score]:
    """Return NPS and CSI of one kind of survey per store or advisor (column: Survey.store_id,
    Survey.advisor_id: the service advisor of a job, the sales advisor of a delivery)."""
    stmt = _answered(user, days, kind).add_columns(column, *_nps_columns()).group_by(column)
    rows = db.session.execute(stmt).all()
    names = _names(model, [r[0] for r in rows])
    return sorted(_scores(stmt, names), key=lambda s: -s.n)


@dataclass(frozen=True)
class TechnicianNps:
    """One technician's service surveys: answered, promoters (9-10), passives (7-8),
    detractors (0-6) and the NPS (-100..100)."""

    label: str
    n: int
    promoters: int
    passives: int
    detractors: int

    @property
    def nps(self) -> float:
        return 100.0 * (self.promoters - self.detractors) / self.n


def _job_technicians():
    """Return (booking_id, technician_id) of every job card: the technicians assigned to the
    job and those with a labour line on it, each pair once."""
    return union(
        select(BookingTechnician.booking_id, BookingTechnician.technician_id),
        select(JobLabourLine.booking_id, JobLabourLine.technician_id).where(
            JobLabourLine.technician_id.is_not(None)
        ),
    ).subquery()


def nps_by_technician(user: User, days: int = 365) -> list[TechnicianNps]:
    """Return the NPS of the service surveys per technician of the answered job's card (a job
    with two technicians counts for both), for the viewer's own store's technicians; the
    largest samples first."""
    techs = _job_technicians()
    n, promoters, detractors, _csi = _nps_columns()
    stmt = (
        _answered(user, days, SERVICE)
        .select_from(Survey)
        .join(techs, techs.c.booking_id == Survey.booking_id)
        .join(User, User.id == techs.c.technician_id)
        .where(User.role == TECHNICIAN)
        .add_columns(User.id, User.name, n, promoters, detractors)
        .group_by(User.id, User.name)
    )
    stmt = access.store_scope(stmt, User.store_id, user)
    found = [
        TechnicianNps(name, count, int(p or 0), count - int(p or 0) - int(d or 0), int(d or 0))
        for _id, name, count, p, d in db.session.execute(stmt)
    ]
    return sorted(found, key=lambda t: (-t.n, t.label))


@dataclass(frozen=True)
class SlaShare:
    """One store's complaints against its own deadlines: how many were acknowledged and
    resolved, and how many of those within the deadline set when each was opened."""

    label: str
    acknowledged: int
    ack_on_time: int
    resolved: int
    resolve_on_time: int


@dataclass(frozen=True)
class ComplaintNumbers:
    total: int
    by_category: list[tuple[str, int]]
    by_store: list[tuple[str, int]]
    by_advisor: list[tuple[str, int]]
    by_technician: list[tuple[str, int]]
    ack_hours: float | None
    resolve_days: float | None
    reopen_rate: float | None  # share of resolved complaints the customer reopened
    resolved: int
    sla_by_store: list[SlaShare]

    @property
    def ack_within(self) -> float | None:
        """Return the share (0..1) of acknowledged complaints acknowledged in time."""
        done = sum(r.acknowledged for r in self.sla_by_store)
        return sum(r.ack_on_time for r in self.sla_by_store) / done if done else None

    @property
    def resolve_within(self) -> float | None:
        """Return the share (0..1) of resolved complaints resolved in time."""
        done = sum(r.resolved for r in self.sla_by_store)
        return sum(r.resolve_on_time for r in self.sla_by_store) / done if done else None


def _sla_by_store(base: Select) -> list[SlaShare]:
    """Return each store's complaints within the deadlines each complaint was given."""

    def within(done, due):
        return func.sum(case((done.is_not(None) & (done <= due), 1), else_=0))

    def counted(done):
        return func.sum(case((done.is_not(None), 1), else_=0))

    stmt = base.add_columns(
        Complaint.store_id,
        counted(Complaint.acknowledged_at),
        within(Complaint.acknowledged_at, Complaint.ack_due_at),
        counted(Complaint.resolved_at),
        within(Complaint.resolved_at, Complaint.resolve_due_at),
    ).group_by(Complaint.store_id)
    rows = db.session.execute(stmt).all()
    names = _names(Store, [r[0] for r in rows])
    found = [
        SlaShare(str(names.get(k, "—")), int(a or 0), int(ao or 0), int(r or 0), int(ro or 0))
        for k, a, ao, r, ro in rows
    ]
    return sorted(found, key=lambda s: s.label)


def _count_by(base: Select, column) -> list[tuple]:
    stmt = base.add_columns(column, func.count(Complaint.id)).group_by(column)
    return sorted(db.session.execute(stmt).all(), key=lambda r: -r[1])


def complaint_numbers(user: User, days: int = 90) -> ComplaintNumbers:
    """Return the complaints received in the period, broken down, with their timings."""
    base = access.store_scope(
        select().where(Complaint.created_at >= _since(days)), Complaint.store_id, user
    )
    by_category = _count_by(base, Complaint.category)
    stores = _count_by(base, Complaint.store_id)
    advisors = _count_by(base, Complaint.advisor_id)
    technicians = _count_by(base, Complaint.technician_id)
    store_names = _names(Store, [r[0] for r in stores])
    people = _names(User, [r[0] for r in advisors + technicians])
    timing = base.add_columns(
        func.count(Complaint.id),
        func.avg(days_between(Complaint.created_at, Complaint.acknowledged_at)),
        func.avg(days_between(Complaint.created_at, Complaint.resolved_at)),
        func.sum(case((Complaint.resolved_at.is_not(None), 1), else_=0)),
        func.sum(case((Complaint.reopened > 0, 1), else_=0)),
    )
    total, ack_days, resolve_days, resolved, reopened = db.session.execute(timing).one()
    ever_resolved = int(resolved or 0)  # a reopen keeps the first resolved_at
    return ComplaintNumbers(
        total=int(total or 0),
        by_category=[(k, n) for k, n in by_category],
        by_store=[(store_names.get(k, "—"), n) for k, n in stores],
        by_advisor=[(people.get(k, "—"), n) for k, n in advisors],
        by_technician=[(people.get(k, "—"), n) for k, n in technicians],
        ack_hours=float(ack_days) * 24 if ack_days is not None else None,
        resolve_days=float(resolve_days) if resolve_days is not None else None,
        reopen_rate=(int(reopened or 0) / ever_resolved) if ever_resolved else None,
        resolved=ever_resolved,
        sla_by_store=_sla_by_store(base),
    )


def ratings(user: User, days: int = 365, limit: int = 30) -> tuple[list, list]:
    """Return the owners' 1-5 ratings: per advisor (n, mean service and advisor stars), and the
    latest ones (rating, booking)."""
    recent = select().select_from(Rating).where(Rating.created_at >= _since(days))
    # The rating's own store (its booking's): the per-advisor figures of the year come from the
    # ratings' (store_id, created_at) or (created_at) index alone (index-only on PostgreSQL).
    counted = access.store_scope(recent, Rating.store_id, user)
    base = counted.join(Booking, Booking.id == Rating.booking_id)
    per = db.session.execute(
        counted.add_columns(
            Rating.advisor_id,
            func.count(),
            func.avg(Rating.service_stars),
            func.avg(Rating.advisor_stars),
        ).group_by(Rating.advisor_id)
    ).all()
    names = _names(User, [r[0] for r in per])
    summary = [(names.get(a, "—"), n, float(s), float(v)) for a, n, s, v in per]
    latest = db.session.execute(
        base.add_columns(Rating, Booking)
        .options(  # the list names each booking's store and advisor: not one load per row
            joinedload(Booking.store).load_only(Store.name),
            joinedload(Booking.advisor).load_only(User.name),
        )
        .order_by(Rating.created_at.desc())
        .limit(limit)
    ).all()
    return sorted(summary, key=lambda r: -r[1]), latest
