"""The call console's read side: a caller's card by phone number, screen pops, the day's list.

A number is normalised first (so "+86 138-0000-0001" finds 13800000001), then one indexed
lookup on the unique phone finds the customer. What the card shows follows the access rule:
a customer of the agent's store (or with a lead there) opens whole; anyone else is only
"known", and the agent enters a lead that dedupe attaches to that same record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm import tasks as task_svc
from crm import timeline
from crm.customers import find_customer
from crm.models import TASK_DONE, Lead, ScreenPop, Task
from crm.staffing_models import CustomerMerge
from portal import access
from portal.extensions import db
from portal.models import Booking, Store, User, Vehicle
from portal.models.accounts import AGENT, OWNER
from portal.services.accounts import normalize_phone
from portal.timeutil import now

POP_FRESH = timedelta(minutes=2)  # an older caller ID is a call that has ended


@dataclass
class Card:
    phone: str
    customer: User | None = None
    visible: bool = False
    vehicles: list[Vehicle] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    leads: list[Lead] = field(default_factory=list)
    history: list[timeline.Entry] = field(default_factory=list)
    last_contact: Task | None = None


HISTORY = 10  # entries of the card's history
CARD_LEADS = 5


def card(viewer: User, raw_phone: str) -> Card | None:
    """Return the caller's card for a typed or posted number (None: not a mobile number)."""
    phone = normalize_phone(raw_phone or "")
    if not phone:
        return None
    customer = _caller(phone)
    if customer is None or customer.role != OWNER:
        return Card(phone=phone)
    if not timeline.customer_visible(viewer, customer):
        return Card(phone=phone, customer=customer, visible=False)
    done = select(Task).where(Task.customer_id == customer.id, Task.status == TASK_DONE)
    last = db.session.scalar(
        access.store_scope(done, Task, viewer).order_by(Task.done_at.desc()).limit(1)
    )
    # The card's leads and vehicles are the history's too: read once, not twice.
    leads = timeline.customer_leads(viewer, customer.id, HISTORY)
    vehicles = list(customer.vehicles)
    return Card(
        phone=phone,
        customer=customer,
        visible=True,
        vehicles=vehicles,
        tasks=task_svc.open_for_customer(viewer, customer.id),
        leads=leads[:CARD_LEADS],
        history=timeline.timeline(viewer, customer, HISTORY, leads=leads, vehicles=vehicles),
        last_contact=last,
    )


def _caller(phone: str) -> User | None:
    """Return the customer with this normalised phone, with their advisor, in one statement
    through the unique index on users.phone; a merged record stands for its survivor."""
    row = db.session.execute(
        select(User, CustomerMerge.survivor_id)
        .outerjoin(CustomerMerge, CustomerMerge.merged_id == User.id)
        .where(User.phone == phone)
        .options(joinedload(User.advisor))
    ).first()
    if row is None:
        return None
    found, survivor = row
    return found if survivor is None else find_customer(phone)


def record_pop(agent_login: str, raw_phone: str) -> ScreenPop | None:
    """Store a caller ID posted for an agent (by their login); None if either is unknown."""
    phone = normalize_phone(raw_phone or "")
    login = normalize_phone(agent_login or "") or (agent_login or "").strip().lower()
    if not phone or not login:
        return None
    agent = db.session.scalar(select(User).where((User.phone == login) | (User.email == login)))
    if agent is None or not agent.is_active or agent.role != AGENT:
        return None
    pop = ScreenPop(agent_id=agent.id, phone=phone, at=now())
    db.session.add(pop)
    db.session.flush()
    return pop


def latest_pop(agent: User, after: int) -> ScreenPop | None:
    """Return the agent's newest caller ID after the one the console has shown, if fresh."""
    pop = db.session.scalar(
        select(ScreenPop)
        .where(ScreenPop.agent_id == agent.id, ScreenPop.id > after)
        .order_by(ScreenPop.id.desc())
        .limit(1)
    )
    if pop is None or pop.at < now() - POP_FRESH:
        return None
    return pop


def day_bounds(store: Store | None, at: datetime) -> tuple[datetime, datetime]:
    """Return the start and end (UTC) of the store's local day that contains the time."""
    tz = ZoneInfo(store.timezone if store else "Asia/Shanghai")
    local = at.astimezone(tz).date()
    start = datetime.combine(local, time(0), tz)
    return start.astimezone(at.tzinfo), (start + timedelta(days=1)).astimezone(at.tzinfo)


def todays_bookings(user: User) -> list[Booking]:
    """Return today's bookings of the store: the advisor's own, or all for others."""
    store = db.session.get(Store, user.store_id) if user.store_id else None
    start, end = day_bounds(store, now())
    stmt = select(Booking).where(Booking.slot_start >= start, Booking.slot_start < end)
    stmt = stmt.where(Booking.status.in_(("accepted", "checked_in", "in_progress", "ready")))
    if user.role == "advisor":
        stmt = stmt.where(Booking.advisor_id == user.id)
    stmt = access.store_scope(stmt, Booking, user).order_by(Booking.slot_start).limit(50)
    # The list shows each booking's owner and plate: one statement, not two per row.
    stmt = stmt.options(
        joinedload(Booking.owner, innerjoin=True), joinedload(Booking.vehicle, innerjoin=True)
    )
    return list(db.session.scalars(stmt))
