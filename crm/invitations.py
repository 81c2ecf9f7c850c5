"""The handoff between the call centre and the showroom: invite, check in, and the no-show loop.

An agent invites a lead to the store at a time, to meet a named salesperson. Reception finds
the customer by phone number or plate and checks them in: one conditional UPDATE
(``WHERE status = 'invited'``), so two receptionists checking in the same customer at once make
one arrival and one clear refusal. The lead passes to the salesperson (the named one, else the
routing rules) and both the salesperson and the agent are told through the outbox. When the
time passes without an arrival, the worker marks the invitation a no-show and gives the agent a
no-show recovery task: the lead is back in the call centre's queue, and the loop is counted."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from crm import routing
from crm.models import HIGH, NO_SHOW, OPEN, STAGES, VISITED, Lead, LeadEvent, Task
from crm.showroom_models import (
    ARRIVED,
    INVITATION_KINDS,
    INVITED,
    MISSED,
    Invitation,
)
from portal import access
from portal.errors import Conflict, NotAllowed, ValidationError
from portal.extensions import db
from portal.models import Store, User, Vehicle
from portal.models.accounts import ADMIN, ADVISOR, AGENT, MANAGER
from portal.paging import Key, Page, keys_page
from portal.services.accounts import normalize_phone
from portal.services.notify import notify
from portal.timeutil import now, to_local

DAYS_AHEAD = 30  # how far ahead a visit may be booked
NO_SHOW_AFTER = timedelta(hours=1)  # this long past its time, an invitation is a no-show
RECEPTION = (ADVISOR, MANAGER, ADMIN)  # who checks customers in at the front desk
INVITERS = (AGENT, ADVISOR, MANAGER, ADMIN)
JOB_BATCH = 500
PAGE_SIZE = 50  # the invitations a page of reception's list shows
PANEL = 20  # the user's visits Today shows; the rest are on reception's paged list
FOUND_LIMIT = 20  # one number's or plate's visits found at reception

KIND_LABELS = {"visit": _l("Showroom visit"), "test_drive": _l("Test drive visit")}
STATUS_LABELS = {
    "invited": _l("Expected to visit"),
    "arrived": _l("Arrived at the showroom"),
    "no_show": _l("Did not come"),
    "cancelled": _l("Visit called off"),
}
EVENT_LABELS = {
    "invited": _l("Invited to the showroom"),
    "arrived": _l("Arrived at the showroom"),
    "no_show": _l("Did not come: back to the call centre"),
}


def _store_advisor(store_id: int, advisor: User | None) -> User | None:
    ok = (
        advisor is not None
        and advisor.role == ADVISOR
        and advisor.is_active
        and advisor.store_id == store_id
    )
    return advisor if ok else None


def invite(
    actor: User,
    lead: Lead,
    starts_at: datetime | None,
    *,
    kind: str,
    advisor: User | None,
    note: str = "",
) -> Invitation:
    """Book a lead's visit to the store at a time, with a named salesperson (or the lead's)."""
    if actor.role not in INVITERS or not access.in_store(actor, lead.store_id):
        raise NotAllowed(_("You cannot invite customers of this store."))
    if lead.state != OPEN:
        raise ValidationError(_("Only an open lead can be invited."))
    if kind not in INVITATION_KINDS:
        raise ValidationError(_("Choose a visit or a test drive."), field="kind")
    at = now()
    if starts_at is None or starts_at <= at or starts_at > at + timedelta(days=DAYS_AHEAD):
        raise ValidationError(
            _("Choose a time from now to %(days)d days ahead.", days=DAYS_AHEAD), field="starts_at"
        )
    named = _store_advisor(lead.store_id, advisor) or _store_advisor(lead.store_id, lead.advisor)
    if advisor is not None and named is not advisor:
        raise ValidationError(_("Choose an active salesperson of this store."), field="advisor")
    invitation = Invitation(
        lead_id=lead.id,
        customer_id=lead.customer_id,
        store_id=lead.store_id,
        agent_id=actor.id,
        advisor_id=named.id if named else None,
        kind=kind,
        starts_at=starts_at,
        status=INVITED,
        note=(note or "").strip()[:2000],
        created_at=at,
    )
    try:
        with db.session.begin_nested():  # one live invitation per lead, held by the database
            db.session.add(invitation)
    except IntegrityError as exc:
        raise Conflict(_("This lead already has a visit booked.")) from exc
    when = _local(lead.store, starts_at)
    db.session.add(LeadEvent(lead_id=lead.id, kind="invited", actor_id=actor.id, note=when, at=at))
    if named is not None:
        notify(
            named,
            _l("Visit booked: %(name)s comes at %(when)s.", name=lead.customer.name, when=when),
            f"/admin/leads/{lead.id}",
            kind="showroom",
        )
    return invitation


def _local(store: Store, at: datetime) -> str:
    return to_local(at, store.timezone).strftime("%Y-%m-%d %H:%M")


# Each row names the customer and the advisor: loaded with the rows, not one by one.
_ROW_LOADS = (joinedload(Invitation.customer, innerjoin=True), joinedload(Invitation.advisor))


def _in_window(start: datetime, end: datetime):
    return select(Invitation).where(Invitation.starts_at >= start, Invitation.starts_at < end)


def expected_select(viewer: User, start: datetime, end: datetime, store_id: int | None = None):
    """Select the invitations starting in the window in the viewer's stores (or the one
    chosen), unordered: reception's list, and what its count is taken over."""
    return access.chosen_store_scope(_in_window(start, end), Invitation.store_id, viewer, store_id)


def expected_page(
    viewer: User,
    start: datetime,
    end: datetime,
    *,
    store_id: int | None = None,
    before: int | None = None,
    back: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """Return one page of the invitations starting in the window, by time (reception's list;
    the next page after the cursor `before`, or the one back from `back`: an invitation of the
    viewer's stores)."""
    stmt = expected_select(viewer, start, end, store_id).options(*_ROW_LOADS)
    cursor = access.chosen_store_scope(select(Invitation), Invitation.store_id, viewer, store_id)
    return keys_page(
        stmt,
        [Key(Invitation.starts_at)],
        Invitation.id,
        before,
        size=size,
        cursor_stmt=cursor,
        back=back,
    )


def expected(viewer: User, start: datetime, end: datetime) -> list[Invitation]:
    """Return the first page of the invitations starting in the window (expected_page)."""
    return expected_page(viewer, start, end).items


def mine(user: User, start: datetime, end: datetime) -> tuple[list[Invitation], int]:
    """Return the first PANEL invitations in the window that the user made or will receive,
    by time, and how many more there are (one statement: the count rides along)."""
    stmt = _in_window(start, end).where(
        or_(Invitation.agent_id == user.id, Invitation.advisor_id == user.id)
    )
    stmt = access.store_scope(stmt, Invitation.store_id, user)
    stmt = stmt.add_columns(func.count().over().label("total"))
    stmt = stmt.order_by(Invitation.starts_at, Invitation.id).limit(PANEL).options(*_ROW_LOADS)
    rows = db.session.execute(stmt).all()
    return [r[0] for r in rows], (rows[0][1] - len(rows)) if rows else 0


def find_waiting(viewer: User, raw: str, start: datetime, end: datetime) -> list[Invitation]:
    """Return the day's expected invitations of the customer with this phone number or plate:
    the first FOUND_LIMIT, and one more if there are more (the page says to narrow it)."""
    phone = normalize_phone(raw or "")
    plate = "".join((raw or "").split()).upper()[:8]
    if phone:
        who = select(User.id).where(User.phone == phone)
    elif plate:
        who = select(Vehicle.owner_id).where(Vehicle.plate == plate)
    else:
        return []
    stmt = select(Invitation).where(
        Invitation.customer_id.in_(who),
        Invitation.status == INVITED,
        Invitation.starts_at >= start,
        Invitation.starts_at < end,
    )
    stmt = access.store_scope(stmt, Invitation.store_id, viewer)
    stmt = stmt.order_by(Invitation.starts_at, Invitation.id).limit(FOUND_LIMIT + 1)
    return list(db.session.scalars(stmt))


def check_in(actor: User, invitation: Invitation) -> Invitation:
    """Mark the customer arrived, hand the lead to the showroom and tell both sides."""
    if actor.role not in RECEPTION or not access.in_store(actor, invitation.store_id):
        raise NotAllowed(_("Only the store's front desk checks customers in."))
    at = now()
    done = db.session.execute(  # two receptionists at once: one arrival
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.status == INVITED)
        .values(status=ARRIVED, arrived_at=at, checked_in_by_id=actor.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise Conflict(_("This customer is already checked in, or the visit was closed."))
    db.session.refresh(invitation)
    lead = invitation.lead
    advisor = _store_advisor(lead.store_id, invitation.advisor)
    if advisor is None:
        advisor = routing.route(lead.customer, lead.store)
    _hand_over(actor, lead, advisor, at)
    invitation.advisor_id = advisor.id if advisor else None
    name = lead.customer.name
    link = f"/admin/leads/{lead.id}"
    if advisor is not None:
        notify(advisor, _l("%(name)s has arrived: please come to reception.", name=name), link,
               kind="showroom")  # fmt: skip
    notify(
        invitation.agent,
        _l("%(name)s arrived for the visit you booked.", name=name),
        link,
        kind="showroom",
    )
    return invitation


def _hand_over(actor: User, lead: Lead, advisor: User | None, at: datetime) -> None:
    """Give the lead and its open tasks to the showroom advisor; the lead has now visited."""
    if advisor is not None and lead.advisor_id != advisor.id:
        lead.advisor_id = advisor.id
        for task in lead.tasks:
            if task.done_at is None:
                task.owner_id = advisor.id
        db.session.add(
            LeadEvent(lead_id=lead.id, kind="reassigned", actor_id=actor.id, note=advisor.name)
        )
    if lead.state == OPEN and STAGES.index(lead.stage) < STAGES.index(VISITED):
        lead.stage = VISITED
        lead.first_contact_at = lead.first_contact_at or at
    lead.updated_at = at
    db.session.add(
        LeadEvent(lead_id=lead.id, kind="arrived", stage=VISITED, actor_id=actor.id, at=at)
    )


def mark_no_shows() -> dict[str, int]:
    """Close invitations whose time has passed without an arrival; give each agent a recovery
    task (the worker job: each invitation once, however many workers run it)."""
    at = now()
    due = (
        select(Invitation.id)
        .where(Invitation.status == INVITED, Invitation.starts_at < at - NO_SHOW_AFTER)
        .order_by(Invitation.starts_at)
        .limit(JOB_BATCH)
        .with_for_update(skip_locked=True)  # PostgreSQL: another worker's rows are skipped
    )
    missed = 0
    for invitation_id in db.session.scalars(due).all():
        closed = db.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.status == INVITED)
            .values(status=MISSED, missed_at=at)
            .execution_options(synchronize_session=False)
        ).rowcount
        if closed == 1:
            _recover(db.session.get(Invitation, invitation_id), at)
            missed += 1
    return {"no_shows": missed}


def _recover(invitation: Invitation, at: datetime) -> None:
    """Put the lead back in the inviting agent's queue with a no-show recovery task."""
    db.session.refresh(invitation)
    task = Task(
        lead_id=invitation.lead_id,
        customer_id=invitation.customer_id,
        store_id=invitation.store_id,
        owner_id=invitation.agent_id,
        kind=NO_SHOW,
        priority=HIGH,
        due_at=at,
        rule="no_show",
        cause=f"invitation:{invitation.id}",
        created_at=at,
    )
    db.session.add(task)
    db.session.flush()
    invitation.recovery_task_id = task.id
    db.session.add(
        LeadEvent(
            lead_id=invitation.lead_id,
            kind="no_show",
            note=_local(invitation.store, invitation.starts_at),
            at=at,
        )
    )
