"""Read models for staff: the leads lists and one customer's timeline, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    Select,
    String,
    Text,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)

from crm.campaign_models import Campaign, CampaignResponse, CampaignSend
from crm.models import ACTIVE_STATES, FIRST_CONTACT, Lead, LeadEvent, Task
from portal import access
from portal.extensions import db
from portal.models import AuditEvent, Booking, Rescue, UsedCarRequest, User, Vehicle
from portal.models.accounts import ADVISOR, OWNER
from portal.models.base import UTCDateTime
from portal.paging import Key, Page, keys_page, null_last
from shop.models import Order

PAGE_SIZE = 50  # the leads a page of a leads list shows


def _first_contacts():
    """Return the open first-contact tasks as a subquery."""
    return select(Task).where(Task.kind == FIRST_CONTACT, Task.done_at.is_(None)).subquery()


def _leads(stmt, user: User, *, mine: bool, state: str, store_id: int | None):
    """Narrow a select of leads to a leads list's: the user's stores (or the one chosen), their
    own if mine, the state asked for or every active one. Return (list, scoped): the list's
    statement and the same over every lead the user sees (where a cursor is looked up)."""
    scoped = access.chosen_store_scope(stmt, Lead.store_id, user, store_id)
    stmt = scoped.where(Lead.advisor_id == user.id) if mine else scoped
    stmt = stmt.where(Lead.state == state) if state else stmt.where(Lead.state.in_(ACTIVE_STATES))
    return stmt, scoped


def leads_counted(
    user: User, *, mine: bool, state: str = "", store_id: int | None = None
) -> Select:
    """Return the ids of a leads list's leads (no order): what its count is taken over."""
    return _leads(select(Lead.id), user, mine=mine, state=state, store_id=store_id)[0]


def leads_page(
    user: User,
    *,
    mine: bool,
    state: str = "",
    store_id: int | None = None,
    before: int | None = None,
    back: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """Return one page of the visible leads with their open first-contact task's due time:
    the earliest due first (so the overdue on top), then the leads without one, newest first.

    The rows are (lead, due_at). Those who see every store may narrow to one (store_id). The
    cursor `before` (or `back`, to the page before) is a lead's id, looked up among the leads
    of the stores the user sees (one that changed state or advisor meanwhile still marks the
    place); any other is no cursor.
    Every lead is reachable page by page: nothing is capped away."""
    task = _first_contacts()
    stmt, scoped = _leads(
        select(Lead, task.c.due_at).outerjoin(task, task.c.lead_id == Lead.id),
        user,
        mine=mine,
        state=state,
        store_id=store_id,
    )
    # due_at <= now sorts before due_at > now: the overdue are on top without a flag of their
    # own, and the order does not change with the clock between two pages.
    keys = [null_last(task.c.due_at), Key(task.c.due_at), Key(Lead.created_at, desc=True)]
    return keys_page(
        stmt,
        keys,
        Lead.id,
        before,
        size=size,
        id_desc=True,
        cursor_stmt=scoped,
        rows=True,
        back=back,
    )


def leads_for(user: User, *, mine: bool, state: str = "") -> list[tuple[Lead, datetime | None]]:
    """Return the first page of the visible leads with their first contact's due time."""
    return [(lead, due) for lead, due in leads_page(user, mine=mine, state=state).items]


def customer_visible(user: User, customer: User) -> bool:
    """Return whether staff may open this customer: of their store, or with a lead there."""
    if customer.role != OWNER or not access.is_active_staff(user):
        return False
    if access.in_store(user, customer.store_id):
        return True
    stmt = select(Lead.id).where(Lead.customer_id == customer.id).limit(1)
    return db.session.scalar(access.store_scope(stmt, Lead, user)) is not None


def customer_phone(viewer: User, customer: User) -> str:
    """Return the phone as the viewer may see it: whole for its advisor and managers."""
    if viewer.role == ADVISOR and customer.advisor_id != viewer.id:
        return access.mask_phone(customer.phone)
    return customer.phone or ""


@dataclass
class Entry:
    at: datetime
    kind: str  # lead, step, vehicle, booking, order, rescue, usedcar, profile, campaign
    title: str
    detail: str = ""
    lead_id: int | None = None
    note: str = ""  # what the customer wrote (a campaign reply, a request to be called)


# A campaign entry's detail: the message sent on a channel, or the customer's answer to it.
TOUCH_LABELS = {
    "sent:inapp": _l("Sent in the app"),
    "sent:email": _l("Sent by email"),
    "sent:sms": _l("Sent by SMS"),
    "sent:wechat": _l("Sent on WeChat"),
    "clicked": _l("Opened the offer"),
    "details": _l("Asked to be called"),
    "reply": _l("Replied by SMS"),
    "booking": _l("Booked from the campaign"),
    "unsubscribe": _l("Unsubscribed"),
}


def timeline(
    viewer: User,
    customer: User,
    limit: int = 100,
    *,
    leads: list[Lead] | None = None,
    vehicles: list[Vehicle] | None = None,
) -> list[Entry]:
    """Return the customer's history across the portal, newest first (store-scoped records).

    A caller that has already loaded the customer's leads in the viewer's store (newest first,
    at least `limit`) or their vehicles passes them, and they are not read again."""
    cid = customer.id
    entries: list[Entry] = []
    if leads is None:
        leads = customer_leads(viewer, cid, limit)
    leads = leads[:limit]
    for lead in leads:
        entries.append(Entry(lead.created_at, "lead", lead.model_interest, lead.source, lead.id))
    steps = []
    if leads:  # most customers have none: no statement for an empty IN ()
        steps = db.session.scalars(
            select(LeadEvent)
            .where(LeadEvent.lead_id.in_([lead.id for lead in leads]))
            .order_by(LeadEvent.id.desc())
            .limit(limit)
        ).all()
    for ev in steps:
        entries.append(Entry(ev.at, "step", ev.kind, ev.stage or "", ev.lead_id))
    if vehicles is None:
        vehicles = db.session.scalars(select(Vehicle).where(Vehicle.owner_id == cid).limit(limit))
    for v in list(vehicles)[:limit]:
        entries.append(Entry(v.created_at, "vehicle", f"{v.brand} {v.series}", v.plate))
    entries.extend(_records(viewer, cid, limit))
    entries.extend(_card_changes(cid, limit))
    entries.extend(_campaign_touches(viewer, customer, limit))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def _campaign_touches(viewer: User, customer: User, limit: int) -> list[Entry]:
    """Return the marketing the customer was sent and their answers (opening the offer, a
    reply, a request to be called, an unsubscribe), of the campaigns of the viewer's store, the
    newest `limit` of each, in one statement. An SMS reply no campaign explains belongs to the
    customer's own store."""
    cid = customer.id
    sends = access.store_scope(
        select(
            literal("send").label("part"),
            CampaignSend.queued_at.label("at"),
            CampaignSend.clicked_at.label("clicked_at"),
            CampaignSend.channel.label("kind"),
            cast(null(), Text).label("text"),
            cast(null(), Integer).label("lead_id"),
            Campaign.name.label("name"),
        )
        .join(Campaign, Campaign.id == CampaignSend.campaign_id)
        .where(CampaignSend.customer_id == cid, CampaignSend.queued_at.is_not(None)),
        Campaign,
        viewer,
    )
    answers = access.store_scope(
        select(
            literal("answer").label("part"),
            CampaignResponse.at.label("at"),
            cast(null(), UTCDateTime).label("clicked_at"),
            CampaignResponse.kind.label("kind"),
            CampaignResponse.text.label("text"),
            CampaignResponse.lead_id.label("lead_id"),
            Campaign.name.label("name"),
        )
        .outerjoin(Campaign, Campaign.id == CampaignResponse.campaign_id)
        .where(CampaignResponse.customer_id == cid),
        func.coalesce(Campaign.store_id, customer.store_id),
        viewer,
    )
    parts = [
        sends.order_by(CampaignSend.id.desc()).limit(limit).subquery(),
        answers.order_by(CampaignResponse.id.desc()).limit(limit).subquery(),
    ]
    found = []
    rows = db.session.execute(union_all(*(select(*part.c) for part in parts)))
    for part, at, clicked_at, kind, text, lead_id, name in rows:
        if part == "send":
            found.append(Entry(at, "campaign", name, f"sent:{kind}"))
            if clicked_at is not None:
                found.append(Entry(clicked_at, "campaign", name, "clicked"))
        else:
            found.append(Entry(at, "campaign", name or "", kind, lead_id, note=text or ""))
    return found


def customer_leads(viewer: User, customer_id: int, limit: int) -> list[Lead]:
    """Return the customer's leads in the viewer's store, newest first."""
    stmt = select(Lead).where(Lead.customer_id == customer_id).order_by(Lead.id.desc())
    return list(db.session.scalars(access.store_scope(stmt, Lead, viewer).limit(limit)))


def _records(viewer: User, cid: int, limit: int) -> list[Entry]:
    """Return the customer's bookings, rescues, used-car submissions and shop orders in the
    viewer's store, the newest `limit` of each, in one statement (each part through its
    owner index, bounded)."""
    parts = []
    sources = (
        (Booking, Booking.owner_id, Booking.created_at.desc(), "booking"),
        (Rescue, Rescue.owner_id, Rescue.created_at.desc(), "rescue"),
        (UsedCarRequest, UsedCarRequest.owner_id, UsedCarRequest.created_at.desc(), "usedcar"),
        (Order, Order.user_id, Order.id.desc(), "order"),
    )
    for model, owner, newest, kind in sources:
        number = Order.number if model is Order else cast(null(), String)
        part = select(
            literal(kind).label("kind"),
            model.created_at.label("at"),
            model.id.label("id"),
            number.label("number"),
            model.status.label("status"),
        ).where(owner == cid)
        part = access.store_scope(part, model, viewer).order_by(newest).limit(limit).subquery()
        parts.append(select(*part.c))
    found = []
    for kind, at, rid, number, status in db.session.execute(union_all(*parts)):
        found.append(Entry(at, kind, number if kind == "order" else f"#{rid}", status))
    return found


CARD_ACTIONS = ("customer_profile_changed", "customer_relation_added", "customer_relation_removed")


def _card_changes(cid: int, limit: int) -> list[Entry]:
    """Return the audited changes of the customer's card (profile, tags, links) as entries."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_type == "User", AuditEvent.target_id == cid)
        .where(AuditEvent.action.in_(CARD_ACTIONS))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    found = []
    for ev in events:
        detail = ev.detail or {}
        what = detail.get("fields") or [detail.get("kind", "")]
        found.append(Entry(ev.at, "profile", ev.action, ",".join(str(w) for w in what)))
    return found
