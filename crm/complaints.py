"""Complaint verbs: open (owner, staff, a low survey score), acknowledge, resolve, the owner's
answer through a signed link, and the worker's escalation of missed deadlines.

Every state change is one conditional UPDATE on the current status, so two people acting at
once cannot both move a complaint: one wins, the other is told it already changed. The
escalation job marks a level with ``WHERE escalation = n`` before anyone is told, so however
many workers run it, each level is announced once.

Deadlines come from crm.complaint_deadlines (the store's own, else the group's defaults) and
are fixed when the complaint is opened (and its resolve deadline when the customer reopens
it): a later change of the store's targets does not move deadlines already promised and
measured against, so the late list, the escalation and the analytics stay consistent."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select, update

from crm.complaint_deadlines import (  # noqa: F401  (callers read them here too)
    SEVERITY_LABELS,
    SLA,
    default_sla,
    save_sla,
    sla,
    store_sla,
)
from crm.models import COMPLAINT_CALLBACK, HIGH, NORMAL, Task
from crm.quality_models import (
    C_ACKNOWLEDGED,
    C_CLOSED,
    C_OPEN,
    C_REOPENED,
    C_RESOLVED,
    CATEGORIES,
    COMPLAINT_SOURCES,
    SEVERITIES,
    UNRESOLVED,
    Complaint,
    Survey,
)
from portal import access
from portal.errors import Conflict, NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.i18n import in_language_of
from portal.models import Booking, Store, User
from portal.models.accounts import ADMIN, MANAGER
from portal.services import audit, brands, notify
from portal.timeutil import now

CATEGORY_LABELS = {
    "quality": _l("Quality of the repair"),
    "price": _l("Price or invoice"),
    "waiting": _l("Waiting time"),
    "attitude": _l("Staff attitude"),
    "parts": _l("Parts (quality or availability)"),
    "delivery": _l("New-car delivery"),
    "other": _l("Other complaint"),
}
STATUS_LABELS = {
    "open": _l("Awaiting acknowledgement"),
    "acknowledged": _l("Acknowledged, being handled"),
    "resolved": _l("Resolved, awaiting the customer"),
    "closed": _l("Closed, confirmed by the customer"),
    "reopened": _l("Reopened by the customer"),
}
SOURCE_LABELS = {
    "portal": _l("Owner portal"),
    "phone": _l("Phone call"),
    "walk_in": _l("Walk-in"),
    "survey": _l("Low survey score"),
}
GROUP_AFTER = timedelta(hours=4)  # the managers' time to act before the group is told
LINK_DAYS = 30
DESCRIPTION_MAX = 4000


def open_complaint(
    customer: User,
    store: Store,
    *,
    source: str,
    category: str,
    severity: str,
    description: str,
    booking: Booking | None = None,
    survey: Survey | None = None,
    technician_id: int | None = None,
    entered_by: User | None = None,
    advisor_id: int | None = None,
) -> Complaint:
    """Record a complaint with its deadlines and a callback task for its handler (flushed).

    The advisor concerned is the booking's, else advisor_id (a delivery's sales advisor)."""
    if source not in COMPLAINT_SOURCES:
        raise ValidationError(_("Choose where the complaint came from."), field="source")
    if category not in CATEGORIES:
        raise ValidationError(_("Choose the complaint's category."), field="category")
    if severity not in SEVERITIES:
        raise ValidationError(_("Choose the complaint's severity."), field="severity")
    text = (description or "").strip()
    if not text and survey is None:
        raise ValidationError(_("Describe what went wrong."), field="description")
    if booking is not None and booking.owner_id != customer.id:
        raise NotFound(_("Booking not found."))
    at = now()
    ack, resolve = sla(severity, store.id)
    complaint = Complaint(
        customer_id=customer.id,
        store_id=store.id,
        booking_id=booking.id if booking else None,
        survey_id=survey.id if survey else None,
        brand_id=brands.booking_brand(booking.id) if booking else (survey and survey.brand_id),
        source=source,
        category=category,
        severity=severity,
        description=text[:DESCRIPTION_MAX],
        advisor_id=booking.advisor_id if booking else advisor_id,
        technician_id=technician_id,
        entered_by_id=entered_by.id if entered_by else None,
        status=C_OPEN,
        ack_due_at=at + ack,
        resolve_due_at=at + resolve,
        created_at=at,
    )
    db.session.add(complaint)
    db.session.flush()
    task = Task(
        customer_id=customer.id,
        store_id=store.id,
        owner_id=complaint.advisor_id,
        kind=COMPLAINT_CALLBACK,
        priority=HIGH if severity == "high" else NORMAL,
        due_at=complaint.ack_due_at,
        rule="complaint",
        cause=f"complaint:{complaint.id}",
        note=text[:2000],
        created_at=at,
    )
    db.session.add(task)
    db.session.flush()
    complaint.task_id = task.id
    audit.record("complaint_opened", actor=entered_by, target=complaint, store_id=store.id)
    return complaint


def _move(complaint: Complaint, states: tuple[str, ...], **values) -> None:
    won = db.session.execute(
        update(Complaint)
        .where(Complaint.id == complaint.id, Complaint.status.in_(states))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise Conflict(_("Someone else changed this complaint first. Reload the page."))
    db.session.refresh(complaint)


def _staff_check(staff: User, complaint: Complaint) -> None:
    if not access.in_store(staff, complaint.store_id):
        raise NotAllowed(_("This complaint belongs to another store."))


def acknowledge(staff: User, complaint: Complaint) -> None:
    """Record that the store has taken the complaint in hand."""
    _staff_check(staff, complaint)
    _move(complaint, (C_OPEN, C_REOPENED), status=C_ACKNOWLEDGED, acknowledged_at=now())
    audit.record("complaint_acknowledged", actor=staff, target=complaint)


def resolve(staff: User, complaint: Complaint, resolution: str) -> None:
    """Close the complaint on the store's side and ask the customer to confirm or reopen it."""
    _staff_check(staff, complaint)
    notes = (resolution or "").strip()
    if not notes:
        raise ValidationError(_("Write what was done to resolve it."), field="resolution")
    values = {"status": C_RESOLVED, "resolved_at": now(), "resolution": notes[:DESCRIPTION_MAX]}
    if complaint.acknowledged_at is None:
        values["acknowledged_at"] = values["resolved_at"]
    _move(complaint, UNRESOLVED, **values)
    db.session.execute(
        update(Task)
        .where(Task.id == complaint.task_id, Task.status == "open")
        .values(status="done", done_at=values["resolved_at"], outcome="reached")
        .execution_options(synchronize_session=False)
    )
    audit.record("complaint_resolved", actor=staff, target=complaint)
    customer = db.session.get(User, complaint.customer_id)
    with in_language_of(customer):
        text = _(
            "Your complaint #%(id)d is resolved: %(notes)s Please confirm, or reopen it.",
            id=complaint.id,
            notes=notes[:200],
        )
        subject = _("Your complaint #%(id)d", id=complaint.id)
    notify.notify(customer, text, link_path(complaint), subject=subject, kind="booking")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="m4s.complaint.answer")


def link_path(complaint: Complaint) -> str:
    """Return the path of the customer's confirm-or-reopen page for this resolution."""
    token = _serializer().dumps({"c": complaint.id, "r": complaint.reopened})
    return f"/complaint-answer/{token}"


def from_link(token: str) -> tuple[Complaint, int]:
    """Return the complaint a link names and the resolution round it was sent for."""
    try:
        data = _serializer().loads(token, max_age=LINK_DAYS * 86400)
    except BadSignature:
        raise NotFound(_("This link is not valid or has expired.")) from None
    complaint = db.session.get(Complaint, data.get("c")) if isinstance(data, dict) else None
    if complaint is None or not isinstance(data.get("r"), int):
        raise NotFound(_("This link is not valid or has expired."))
    return complaint, data["r"]


def answer(token: str, confirm: bool, note: str = "") -> Complaint:
    """Close the complaint (the customer confirms) or reopen it with a new resolve deadline.

    The link answers its own resolution once: after a reopen it is spent."""
    complaint, round_ = from_link(token)
    at = now()
    if confirm:
        values = {"status": C_CLOSED, "closed_at": at}
    else:
        _ack, resolve_window = sla(complaint.severity, complaint.store_id)
        values = {
            "status": C_REOPENED,
            "reopened": Complaint.reopened + 1,
            "resolve_due_at": at + resolve_window,
            "escalation": 0,
        }
        extra = (note or "").strip()
        if extra:
            values["description"] = (complaint.description + "\n\n" + extra)[:DESCRIPTION_MAX]
    won = db.session.execute(
        update(Complaint)
        .where(
            Complaint.id == complaint.id,
            Complaint.status == C_RESOLVED,
            Complaint.reopened == round_,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise Conflict(_("This complaint was already answered."))
    db.session.refresh(complaint)
    audit.record("complaint_confirmed" if confirm else "complaint_reopened", target=complaint)
    return complaint


def _staff_of(store_id: int | None, role: str) -> list[User]:
    stmt = select(User).where(User.role == role, User.is_active.is_(True))
    if store_id is not None:
        stmt = stmt.where(User.store_id == store_id)
    return list(db.session.scalars(stmt.order_by(User.id)))


def _tell(users: list[User], complaint_id: int, text: LazyString) -> None:
    """Tell each staff member in their own language (the worker has none of its own)."""
    for user in users:
        notify.notify(
            user,
            text,
            f"/admin/complaints/{complaint_id}",
            subject=_l("Complaint #%(id)d is late", id=complaint_id),
        )


def _missed(level: int, at: datetime):
    """Return the complaints past their deadline at this escalation level (ids only)."""
    if level == 0:
        late = ((Complaint.status.in_((C_OPEN, C_REOPENED))) & (Complaint.ack_due_at <= at)) | (
            Complaint.resolve_due_at <= at
        )
    else:
        late = (Complaint.resolve_due_at <= at) & (Complaint.escalated_at <= at - GROUP_AFTER)
    return select(Complaint.id, Complaint.store_id).where(
        Complaint.status.in_(UNRESOLVED), Complaint.escalation == level, late
    )


def escalate() -> dict[str, int]:
    """Tell the store's managers of a missed deadline; tell the group when the complaint is
    past its resolve deadline and the managers were told GROUP_AFTER ago (the worker job;
    commits after each complaint)."""
    at = now()
    told = {"managers": 0, "group": 0}
    for level, audience in ((0, "managers"), (1, "group")):
        rows = db.session.execute(_missed(level, at)).all()
        for complaint_id, store_id in rows:
            won = db.session.execute(
                update(Complaint)
                .where(Complaint.id == complaint_id, Complaint.escalation == level)
                .where(Complaint.status.in_(UNRESOLVED))
                .values(escalation=level + 1, escalated_at=at)
                .execution_options(synchronize_session=False)
            ).rowcount
            if won != 1:
                continue  # another worker announced it
            if level == 0:
                text = _l("Complaint #%(id)d missed its deadline.", id=complaint_id)
                _tell(_staff_of(store_id, MANAGER), complaint_id, text)
            else:
                text = _l(
                    "Complaint #%(id)d is past its resolve deadline: escalated to the group.",
                    id=complaint_id,
                )
                _tell(_staff_of(None, ADMIN), complaint_id, text)
            db.session.commit()
            told[audience] += 1
    return told
