"""Fold the buyers' inquiries recorded before used-car buyers became CRM leads into the CRM.

Each earlier inquiry (``used_car_leads``) becomes what a buyer's inquiry is today: a lead of
its car's store, source used_car, remembering the car, with the buyer found or added as one
customer record (the dedupe rules of crm.customers). What happened to it is kept:

- its date (created_at and arrived_at), its message and the advisor it was given (when that
  advisor still works at the store; else the store's routing names one);
- "new" (nobody called yet): an open lead with a first-contact task due now;
- "contacted": an open lead at the contacted stage, first contact at its date;
- "closed": a lost lead (reason "other"), so the funnel and speed-to-lead count it once.

A buyer who already has an active lead at the store gets the inquiry on that lead (a repeat
event), as a second inquiry would today. The fold is quiet: no notices, no webhooks (these
were told when the inquiry came). Each row is marked folded, with the lead it became or why it
could not be (a number that is no mobile number, a staff member's number), in the same
transaction, so a row is folded once whichever worker takes it (SKIP LOCKED)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm import routing
from crm import tasks as task_svc
from crm.customers import find_or_add
from crm.models import ACTIVE_STATES, CONTACTED, LOST, NEW, OPEN, USED_CAR, Lead, LeadEvent
from crm.used_car_leads import car_label
from portal import access
from portal.errors import DomainError
from portal.extensions import db
from portal.models import Store, UsedCarLead, User
from portal.models.accounts import ADVISOR
from portal.services.accounts import normalize_phone
from portal.timeutil import now

BATCH = 200
# Why an inquiry could not be folded (shown in the reader's language by the back office).
NOT_MOBILE, STAFF_NUMBER = "not_mobile", "staff_number"
# An earlier inquiry's status: (stage, state) of the lead it becomes.
STATUS = {"new": (NEW, OPEN), "contacted": (CONTACTED, OPEN), "closed": (CONTACTED, LOST)}


def fold_earlier_inquiries(batch: int = BATCH) -> dict[str, int]:
    """The worker's job: fold the earlier inquiries not folded yet, a batch per transaction;
    return how many became leads, joined an active lead, and could not be folded."""
    counts = {"leads": 0, "joined": 0, "skipped": 0}
    while True:
        rows = list(
            db.session.scalars(
                select(UsedCarLead)
                .where(UsedCarLead.folded_at.is_(None))
                .order_by(UsedCarLead.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if not rows:
            return counts
        for row in rows:
            counts[_fold(row)] += 1
        db.session.commit()


def _fold(row: UsedCarLead) -> str:
    at = now()
    phone = normalize_phone(row.phone)
    if phone is None:
        row.folded_at, row.fold_note = at, NOT_MOBILE
        return "skipped"
    store = db.session.get(Store, row.store_id)
    try:
        with db.session.begin_nested():
            customer, _ = find_or_add(row.name, phone, None, None, store)
    except DomainError:  # a staff member's number: not a customer
        row.folded_at, row.fold_note = at, STAFF_NUMBER
        return "skipped"
    label = car_label(row.request)
    note = " ".join(x for x in (label, row.message.strip()) if x)[:2000]
    active = db.session.scalar(
        select(Lead).where(
            Lead.customer_id == customer.id,
            Lead.store_id == store.id,
            Lead.state.in_(ACTIVE_STATES),
        )
    )
    if active is not None:
        db.session.add(LeadEvent(lead_id=active.id, kind="repeat", note=note, at=row.created_at))
        if active.used_car_id is None:
            active.used_car_id = row.request_id
        row.folded_at, row.lead_id = at, active.id
        return "joined"
    stage, state = STATUS.get(row.status, (NEW, OPEN))
    advisor = _advisor(row, customer, store, label)
    lead = Lead(
        customer_id=customer.id,
        store_id=store.id,
        advisor_id=advisor.id if advisor is not None else None,
        source=USED_CAR,
        model_interest=label,
        note=row.message.strip()[:2000],
        used_car_id=row.request_id,
        stage=stage,
        state=state,
        lost_reason="other" if state == LOST else None,
        created_at=row.created_at,
        arrived_at=row.created_at,
        first_contact_at=row.created_at if stage == CONTACTED else None,
        updated_at=at,
    )
    try:
        with db.session.begin_nested():  # a new inquiry of the same buyer may win the race
            db.session.add(lead)
    except IntegrityError:
        return _fold(row)  # it is now the active lead this inquiry joins
    db.session.add(LeadEvent(lead_id=lead.id, kind="created", stage=NEW, at=row.created_at))
    if state == OPEN and stage == NEW:
        task_svc.first_contact(lead, at, at)  # nobody called them yet: call today
    if advisor is not None and customer.advisor_id is None:
        customer.advisor_id = advisor.id
    row.folded_at, row.lead_id = at, lead.id
    return "leads"


def _advisor(row: UsedCarLead, customer: User, store: Store, label: str) -> User | None:
    """The advisor the inquiry was given, if they still work at the store; else routing's."""
    given = db.session.get(User, row.advisor_id) if row.advisor_id else None
    if given is not None and given.role == ADVISOR and access.is_active_staff(given):
        if given.store_id == store.id:
            return given
    return routing.route(customer, store, USED_CAR, label)
