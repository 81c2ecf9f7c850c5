"""Lead verbs after capture: who may see and change a lead, the pipeline's stages, lost
(asked by the advisor, decided by a manager) and reassignment. crm.leads re-exports them."""

from __future__ import annotations

from datetime import datetime

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.models import (
    CONTACTED,
    DELIVERED,
    FIRST_CONTACT,
    LOST,
    LOST_PENDING,
    LOST_REASONS,
    OPEN,
    REACHED,
    STAGES,
    TASK_DONE,
    WON,
    Lead,
    LeadEvent,
)
from portal import access
from portal.errors import NotAllowed, ValidationError
from portal.extensions import db
from portal.i18n import in_language_of
from portal.models import Notification, User
from portal.models.accounts import ADMIN, ADVISOR, MANAGER
from portal.services import audit
from portal.timeutil import now


def tell_advisor(advisor: User, lead: Lead, text: LazyString, at: datetime | None = None) -> None:
    """Tell the advisor in-app, in the advisor's language (not the colleague's who clicked)."""
    with in_language_of(advisor):
        text = str(text)
    # With its time, as notify() writes the customer's: both rows go in one INSERT.
    db.session.add(
        Notification(
            user_id=advisor.id, text=text, link=f"/admin/leads/{lead.id}", created_at=at or now()
        )
    )


def actor_id(user: User | None) -> int | None:
    # An API token acts as user id 0 (nobody): its steps are recorded without a person.
    return (user.id or None) if user is not None else None


# -- who may see and do what -----------------------------------------------------------------


def is_manager(user: User) -> bool:
    """Return whether the user manages leads (a manager of the store, or an admin)."""
    return user.role in (MANAGER, ADMIN)


def may_work(user: User, lead: Lead) -> bool:
    """Return whether the user may change the lead: its own advisor, or a manager."""
    if not access.in_store(user, lead.store_id):
        return False
    return is_manager(user) or (user.role == ADVISOR and lead.advisor_id == user.id)


def lead_phone(viewer: User, lead: Lead) -> str:
    """Return the customer's phone as the viewer may see it (masked for colleagues' leads)."""
    phone = lead.customer.phone or ""
    if not access.in_store(viewer, lead.store_id):
        return ""
    return phone if may_work(viewer, lead) else access.mask_phone(phone)


def reveal_phone(viewer: User, lead: Lead) -> str:
    """Return the full number of a visible lead, and log that the viewer revealed it."""
    if not access.in_store(viewer, lead.store_id):
        raise NotAllowed(_("You cannot see this lead."))
    audit.record("lead_phone_revealed", actor=viewer, target=lead, customer_id=lead.customer_id)
    return lead.customer.phone or ""


def _require_worker(user: User, lead: Lead) -> None:
    if not may_work(user, lead):
        raise NotAllowed(_("Only the lead's advisor or a manager may change it."))


# -- the pipeline ----------------------------------------------------------------------------


def advance(actor: User, lead: Lead, stage: str, note: str = "") -> None:
    """Move an open lead forward to a later stage, recording when and by whom."""
    _require_worker(actor, lead)
    if lead.state != OPEN:
        raise ValidationError(_("Only an open lead moves through the stages."))
    if stage not in STAGES or STAGES.index(stage) <= STAGES.index(lead.stage):
        raise ValidationError(_("Choose a later stage."), field="stage")
    at = now()
    lead.stage = stage
    lead.updated_at = at
    if lead.first_contact_at is None:  # any step forward is a contact with the customer
        lead.first_contact_at = at
        for task in lead.tasks:
            if task.kind == FIRST_CONTACT and task.done_at is None:
                task.done_at, task.status, task.outcome = at, TASK_DONE, REACHED
    if stage == DELIVERED:
        lead.state = WON
    db.session.add(
        LeadEvent(
            lead_id=lead.id,
            kind="stage",
            stage=stage,
            actor_id=actor_id(actor),
            note=note[:2000],
            at=at,
        )
    )


def mark_contacted(actor: User, lead: Lead) -> None:
    """Record the first contact (the common first step): the lead moves to contacted."""
    advance(actor, lead, CONTACTED)


def request_lost(actor: User, lead: Lead, reason: str, note: str = "") -> None:
    """Ask to close an open lead as lost, with a reason; a manager approves it."""
    _require_worker(actor, lead)
    if lead.state != OPEN:
        raise ValidationError(_("Only an open lead can be marked lost."))
    if reason not in LOST_REASONS:
        raise ValidationError(_("Choose why the lead is lost."), field="reason")
    lead.state, lead.lost_reason, lead.lost_note = LOST_PENDING, reason, note.strip()[:2000]
    lead.updated_at = now()
    db.session.add(
        LeadEvent(lead_id=lead.id, kind="lost_asked", actor_id=actor_id(actor), note=note[:2000])
    )


def decide_lost(actor: User, lead: Lead, approve: bool) -> None:
    """Approve (the lead is lost) or refuse (back to open) a lost request: managers only."""
    if not (is_manager(actor) and access.in_store(actor, lead.store_id)):
        raise NotAllowed(_("Only a manager approves a lost lead."))
    if lead.state != LOST_PENDING:
        raise ValidationError(_("This lead is not awaiting approval."))
    lead.state = LOST if approve else OPEN
    if not approve:
        lead.lost_reason = None
    lead.updated_at = now()
    kind = "lost_approved" if approve else "lost_refused"
    db.session.add(LeadEvent(lead_id=lead.id, kind=kind, actor_id=actor_id(actor)))
    audit.record(f"lead_{kind}", actor=actor, target=lead)


def reassign(actor: User, lead: Lead, advisor: User | None) -> None:
    """Give the lead, its open tasks and the customer to another advisor: managers only."""
    if not (is_manager(actor) and access.in_store(actor, lead.store_id)):
        raise NotAllowed(_("Only a manager may reassign a lead."))
    if (
        advisor is None
        or advisor.role != ADVISOR
        or not advisor.is_active
        or advisor.store_id != lead.store_id
    ):
        raise ValidationError(_("Choose an active advisor of this store."), field="advisor")
    if advisor.id == lead.advisor_id:
        return
    before = lead.advisor_id
    lead.advisor_id = advisor.id
    lead.updated_at = now()
    for task in lead.tasks:
        if task.done_at is None:
            task.owner_id = advisor.id
    if lead.customer.advisor_id in (None, before):
        lead.customer.advisor_id = advisor.id
    db.session.add(
        LeadEvent(lead_id=lead.id, kind="reassigned", actor_id=actor_id(actor), note=advisor.name)
    )
    audit.record("lead_reassigned", actor=actor, target=lead, before=before, after=advisor.id)
    tell_advisor(advisor, lead, _l("Lead reassigned to you: %(name)s.", name=lead.customer.name))
