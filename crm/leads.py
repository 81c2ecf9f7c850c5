"""Lead verbs: capture (dedupe, route, first-contact task), the pipeline, lost, reassignment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import LazyString, force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from crm import hours, routing
from crm import tasks as task_svc
from crm.customers import add_prospect, customer_for, known_customer
from crm.lead_labels import (  # noqa: F401  - re-exported: callers read the labels here
    EVENT_LABELS,
    LOST_REASON_LABELS,
    SOURCE_LABELS,
    STAGE_LABELS,
    STATE_LABELS,
    TIMEFRAME_LABELS,
)
from crm.models import (
    ACTIVE_STATES,
    CONTACTED,
    DELIVERED,
    FIRST_CONTACT,
    LOST,
    LOST_PENDING,
    LOST_REASONS,
    NEW,
    OPEN,
    REACHED,
    SOURCES,
    STAGES,
    TASK_DONE,
    TIMEFRAMES,
    WON,
    Lead,
    LeadEvent,
)
from portal import access
from portal.errors import NotAllowed, ValidationError
from portal.extensions import db
from portal.i18n import in_language_of
from portal.models import Notification, Store, User
from portal.models.accounts import ADMIN, ADVISOR, MANAGER
from portal.models.channels import BOOKING
from portal.services import audit, brands, notify, webhooks
from portal.timeutil import now

FIRST_CONTACT_MINUTES = 5  # speed to lead: the default of a store's first_contact_minutes
# Prospect grade from the expected purchase date (H: 7 days, A: 15, B: 30, C: 3 months).
GRADE_OF_TIMEFRAME = {"7d": "H", "15d": "A", "30d": "B", "90d": "C", "later": "C"}


@dataclass
class Inquiry:
    """What a new-car inquiry says, whoever typed it."""

    name: str
    phone: str
    store: Store
    source: str
    email: str | None = None
    vin: str | None = None
    model_interest: str = ""
    budget_fen: int | None = None
    timeframe: str = "later"
    wants_test_drive: bool = False
    note: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    language: str = ""  # the language the customer wrote in ("zh_CN", "en"), if known


@dataclass
class Captured:
    lead: Lead
    created: bool  # False: the customer's active lead at this store was found and updated


def capture(inquiry: Inquiry, actor: User | None = None) -> Captured:
    """Record an inquiry: one customer, one active lead per store, routed with a task due."""
    if inquiry.source not in SOURCES:
        raise ValidationError(_("Choose where the lead came from."), field="source")
    if inquiry.timeframe not in TIMEFRAMES:
        raise ValidationError(_("Choose when they want to buy."), field="timeframe")
    customer = known_customer(inquiry.phone, inquiry.email, inquiry.vin)
    if customer is None:
        lead = _first_lead(inquiry, actor)
        if lead is not None:
            return Captured(lead, created=True)
        customer = customer_for(
            inquiry.name, inquiry.phone, inquiry.email, inquiry.vin, inquiry.store
        )
    return capture_for(customer, inquiry, actor)


def capture_for(customer: User, inquiry: Inquiry, actor: User | None = None) -> Captured:
    """Record an inquiry of a customer we already know (a campaign's recipient), as capture."""
    if inquiry.source not in SOURCES or inquiry.timeframe not in TIMEFRAMES:
        raise ValidationError(_("Choose where the lead came from."), field="source")
    existing = _active_lead(customer.id, inquiry.store.id)
    if existing is None:
        try:
            with db.session.begin_nested():  # a concurrent inquiry of the same person wins here
                lead = _new_lead(inquiry, customer, actor)
        except IntegrityError:
            existing = _active_lead(customer.id, inquiry.store.id)
            if existing is None:
                raise
        else:
            return Captured(lead, created=True)
    if existing.customer_id == customer.id:  # hold the customer: the answer shows them
        set_committed_value(existing, "customer", customer)
    _repeat(existing, inquiry, actor)
    return Captured(existing, created=False)


def _active_lead(customer_id: int, store_id: int) -> Lead | None:
    # With its advisor in the same statement: whoever captured it shows the advisor's name.
    return db.session.scalar(
        select(Lead)
        .options(joinedload(Lead.advisor))
        .where(
            Lead.customer_id == customer_id,
            Lead.store_id == store_id,
            Lead.state.in_(ACTIVE_STATES),
        )
    )


def _first_lead(inquiry: Inquiry, actor: User | None) -> Lead | None:
    """Record a new person's inquiry: route it, add the prospect with that advisor of record,
    then the lead. None when a concurrent inquiry of the same person added them first (its
    routing turn is then skipped). No savepoint: until this transaction commits nobody else
    sees the new customer, so nobody else can give them a lead."""
    at = now()
    due = hours.first_contact(inquiry.store, at)
    store = inquiry.store
    advisor = routing.route(None, store, inquiry.source, inquiry.model_interest, inquiry.language)
    customer = add_prospect(
        inquiry.name, inquiry.phone, inquiry.email, store, advisor.id if advisor else None
    )
    if customer is None:
        return None
    return _record_lead(inquiry, customer, advisor, due, at, actor)


def _new_lead(inquiry: Inquiry, customer: User, actor: User | None) -> Lead:
    at = now()
    due = hours.first_contact(inquiry.store, at)
    advisor = routing.route(
        customer, inquiry.store, inquiry.source, inquiry.model_interest, inquiry.language
    )
    if advisor is not None and customer.advisor_id is None:
        customer.advisor_id = advisor.id  # the advisor of record from now on
    return _record_lead(inquiry, customer, advisor, due, at, actor)


def _record_lead(
    inquiry: Inquiry,
    customer: User,
    advisor: User | None,
    due: hours.FirstContact,
    at: datetime,
    actor: User | None,
) -> Lead:
    """Write the routed lead with its first event and first-contact task, tell the advisor
    (and the customer, after hours) and queue the webhook event."""
    lead = Lead(
        customer_id=customer.id,
        store_id=inquiry.store.id,
        advisor_id=advisor.id if advisor else None,
        source=inquiry.source,
        utm_source=inquiry.utm_source[:60],
        utm_medium=inquiry.utm_medium[:60],
        utm_campaign=inquiry.utm_campaign[:60],
        model_interest=inquiry.model_interest.strip()[:80],
        brand_id=brands.asked_brand(inquiry.model_interest, inquiry.store.id),
        budget_fen=inquiry.budget_fen,
        timeframe=inquiry.timeframe,
        grade=GRADE_OF_TIMEFRAME[inquiry.timeframe],
        wants_test_drive=inquiry.wants_test_drive,
        note=inquiry.note.strip()[:2000],
        created_at=at,
        updated_at=at,
    )
    # The session knows them: the answer shows both without loading them again.
    lead.customer, lead.advisor = customer, advisor
    db.session.add(lead)
    db.session.flush()
    db.session.add(
        LeadEvent(lead_id=lead.id, kind="created", stage=NEW, actor_id=_id(actor), at=at)
    )
    task_svc.first_contact(lead, due.due_at, at)
    when = due.due_at.astimezone(ZoneInfo(inquiry.store.timezone)).strftime("%Y-%m-%d %H:%M")
    if advisor is not None:
        if due.open_now:
            text = _l(
                "New lead: %(name)s, call within %(minutes)s minutes.",
                name=customer.name,
                minutes=inquiry.store.first_contact_minutes,
            )
        else:
            text = _l(
                "New lead after hours: %(name)s, call at %(when)s.", name=customer.name, when=when
            )
        _tell(advisor, lead, text, at)
    if not due.open_now:
        _acknowledge(customer, inquiry.store, when)
    emit_created(lead)
    return lead


def _acknowledge(customer: User, store: Store, when: str) -> None:
    """Tell a customer who wrote while the store is closed when we will call: once, with the
    new lead, on their channels through the outbox, in their language."""
    with force_locale(customer.locale or current_app.config["DEFAULT_LOCALE"]):
        text = _(
            "Thank you, %(name)s. %(store)s is closed now; your advisor will call you at %(when)s.",
            name=customer.name,
            store=store.name,
            when=when,
        )
        subject = _("We received your inquiry")
    notify.notify(customer, text, subject=subject, kind=BOOKING)


def emit_created(lead: Lead) -> None:
    data = {
        "id": lead.id,
        "customer_id": lead.customer_id,
        "advisor_id": lead.advisor_id,
        "source": lead.source,
        "model_interest": lead.model_interest,
        "budget_fen": lead.budget_fen,
        "timeframe": lead.timeframe,
        "grade": lead.grade,
        "wants_test_drive": lead.wants_test_drive,
        "utm": {
            "source": lead.utm_source,
            "medium": lead.utm_medium,
            "campaign": lead.utm_campaign,
        },
        "created_at": webhooks.iso(lead.created_at),
    }
    webhooks.emit("lead.created", lead.store_id, {"lead": data})


def _repeat(lead: Lead, inquiry: Inquiry, actor: User | None) -> None:
    """Add what a repeated inquiry tells us to the lead we already have (ask nothing twice)."""
    if inquiry.model_interest.strip() and not lead.model_interest:
        lead.model_interest = inquiry.model_interest.strip()[:80]
        lead.brand_id = brands.asked_brand(lead.model_interest, lead.store_id)
    if inquiry.budget_fen is not None and lead.budget_fen is None:
        lead.budget_fen = inquiry.budget_fen
    lead.wants_test_drive = lead.wants_test_drive or inquiry.wants_test_drive
    lead.updated_at = now()
    note = " ".join(x for x in (inquiry.model_interest, inquiry.note) if x.strip())[:2000]
    db.session.add(LeadEvent(lead_id=lead.id, kind="repeat", actor_id=_id(actor), note=note))


def _tell(advisor: User, lead: Lead, text: LazyString, at: datetime | None = None) -> None:
    """Tell the advisor in-app, in the advisor's language (not the colleague's who clicked)."""
    with in_language_of(advisor):
        text = str(text)
    # With its time, as notify() writes the customer's: both rows go in one INSERT.
    db.session.add(
        Notification(
            user_id=advisor.id, text=text, link=f"/admin/leads/{lead.id}", created_at=at or now()
        )
    )


def _id(user: User | None) -> int | None:
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
            lead_id=lead.id, kind="stage", stage=stage, actor_id=_id(actor), note=note[:2000], at=at
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
        LeadEvent(lead_id=lead.id, kind="lost_asked", actor_id=_id(actor), note=note[:2000])
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
    db.session.add(LeadEvent(lead_id=lead.id, kind=kind, actor_id=_id(actor)))
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
        LeadEvent(lead_id=lead.id, kind="reassigned", actor_id=_id(actor), note=advisor.name)
    )
    audit.record("lead_reassigned", actor=actor, target=lead, before=before, after=advisor.id)
    _tell(advisor, lead, _l("Lead reassigned to you: %(name)s.", name=lead.customer.name))
