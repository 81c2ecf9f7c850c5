"""Lead verbs: capture (dedupe, route, first-contact task), the pipeline, lost, reassignment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
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
from crm.lead_pipeline import (  # noqa: F401  - re-exported: callers use crm.leads' verbs
    actor_id,
    advance,
    decide_lost,
    is_manager,
    lead_phone,
    mark_contacted,
    may_work,
    reassign,
    request_lost,
    reveal_phone,
    tell_advisor,
)
from crm.models import (
    ACTIVE_STATES,
    NEW,
    SOURCES,
    TIMEFRAMES,
    Lead,
    LeadEvent,
)
from portal.errors import ValidationError
from portal.extensions import db
from portal.models import Store, User
from portal.models.channels import BOOKING
from portal.services import brands, notify, webhooks
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
        LeadEvent(lead_id=lead.id, kind="created", stage=NEW, actor_id=actor_id(actor), at=at)
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
        tell_advisor(advisor, lead, text, at)
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
    db.session.add(LeadEvent(lead_id=lead.id, kind="repeat", actor_id=actor_id(actor), note=note))
