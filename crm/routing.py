"""Routing: who owns a new lead, decided in the request that brings it.

Tried in order:
1. the advisor of record (the customer's bound advisor, if active in the lead's store);
2. the store's routing rules, by position: a rule names a source and/or a model line and the
   advisor who takes such leads (skipped while that advisor is inactive or off duty);
3. round robin over the advisors on duty now (the store's duty roster, in the store's time
   zone); a store without a roster, or with nobody on duty, uses all its active advisors.

Turns come from one counter row per store with a single INSERT ... ON CONFLICT DO UPDATE ...
RETURNING: concurrent leads each get a distinct turn (the row lock on PostgreSQL, the write lock
on SQLite), so N leads spread evenly and none is lost. A new lead reads the store's advisors,
who of them is on duty and whether rules exist in one statement (``staff_now``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crm.models import RoutingTurn
from crm.staffing_models import DutyShift, RoutingRule
from portal.extensions import db
from portal.models import Store, User
from portal.models.accounts import ADVISOR
from portal.timeutil import now


def active_advisors(store_id: int) -> list[User]:
    """Return the store's active advisors in a stable order (the round-robin ring)."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == ADVISOR, User.store_id == store_id, User.is_active.is_(True))
            .order_by(User.id)
        )
    )


@dataclass(frozen=True)
class Staff:
    """Who can take a store's new lead at one moment, as routing reads it in one statement."""

    advisors: list[User]  # the active advisors, in id order
    duty: list[User] | None  # those on duty now (id order); None: the store keeps no roster
    has_rules: bool  # whether the store has routing rules to try


def staff_now(store: Store, at: datetime | None = None) -> Staff:
    """Read the store's active advisors, who of them is on duty now (the store's zone) and
    whether it keeps a roster and rules, in one statement."""
    local = (at or now()).astimezone(ZoneInfo(store.timezone))
    minute = local.hour * 60 + local.minute
    on = (
        select(DutyShift.id)
        .where(
            DutyShift.advisor_id == User.id,
            DutyShift.store_id == store.id,
            DutyShift.weekday == local.weekday(),
            DutyShift.start_minute <= minute,
            DutyShift.end_minute > minute,
        )
        .exists()
    )
    roster = select(DutyShift.id).where(DutyShift.store_id == store.id).exists()
    rules = select(RoutingRule.id).where(RoutingRule.store_id == store.id).exists()
    rows = db.session.execute(
        select(User, on, roster, rules)
        .where(User.role == ADVISOR, User.store_id == store.id, User.is_active.is_(True))
        .order_by(User.id)
    ).all()
    if not rows:  # nobody to route to: neither the roster nor the rules matter
        return Staff([], None, False)
    advisors = [row[0] for row in rows]
    duty = [row[0] for row in rows if row[1]] if rows[0][2] else None
    return Staff(advisors, duty, bool(rows[0][3]))


def on_duty(store: Store, at: datetime | None = None) -> list[User] | None:
    """Return the active advisors on duty at this moment (store's zone), in id order; None when
    the store keeps no roster at all."""
    local = (at or now()).astimezone(ZoneInfo(store.timezone))
    minute = local.hour * 60 + local.minute
    if (
        db.session.scalar(select(DutyShift.id).where(DutyShift.store_id == store.id).limit(1))
        is None
    ):
        return None
    return list(
        db.session.scalars(
            select(User)
            .join(DutyShift, DutyShift.advisor_id == User.id)
            .where(
                DutyShift.store_id == store.id,
                DutyShift.weekday == local.weekday(),
                DutyShift.start_minute <= minute,
                DutyShift.end_minute > minute,
                User.role == ADVISOR,
                User.store_id == store.id,
                User.is_active.is_(True),
            )
            .distinct()
            .order_by(User.id)
        )
    )


def ring(store: Store, at: datetime | None = None) -> list[User]:
    """Return who takes turns now: the advisors on duty, else every active advisor."""
    staff = staff_now(store, at)
    return staff.duty or staff.advisors


def advisor_of_record(customer: User, store: Store) -> User | None:
    """Return the customer's bound advisor when they are active in this store."""
    advisor = customer.advisor
    if advisor is None or not advisor.is_active or advisor.role != ADVISOR:
        return None
    return advisor if advisor.store_id == store.id else None


def by_rule(
    store: Store, source: str, model: str, duty: list[User] | None, language: str = ""
) -> User | None:
    """Return the advisor of the store's first rule that matches this lead and can take it."""
    rules = db.session.scalars(
        select(RoutingRule).where(RoutingRule.store_id == store.id).order_by(RoutingRule.position)
    )
    wanted = (model or "").casefold()
    for rule in rules:
        if rule.source and rule.source != source:
            continue
        if rule.model_contains and rule.model_contains.casefold() not in wanted:
            continue
        if rule.language and rule.language != language:
            continue
        advisor = rule.advisor  # the store's advisors are in the session: no statement
        if advisor.role != ADVISOR or not advisor.is_active or advisor.store_id != store.id:
            continue
        if duty is not None and advisor not in duty:
            continue  # off duty: the next rule, or the ring, answers within minutes
        return advisor
    return None


def next_turn(store_id: int) -> int:
    """Take the store's next round-robin turn (1, 2, 3, ...) atomically, in one statement (the
    store's first lead adds its counter row)."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(RoutingTurn).values(store_id=store_id, turn=1)
    return db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["store_id"], set_={"turn": RoutingTurn.turn + 1}
        ).returning(RoutingTurn.turn)
    ).scalar_one()


def _take_turn(store: Store, people: list[User], skip: int | None) -> User | None:
    people = [a for a in people if a.id != skip]
    if not people:
        return None
    return people[(next_turn(store.id) - 1) % len(people)]


def round_robin(store: Store, skip: int | None = None, at: datetime | None = None) -> User | None:
    """Return the next advisor in the store's ring (never ``skip``, while anyone else is there)."""
    return _take_turn(store, ring(store, at), skip)


def route(
    customer: User | None, store: Store, source: str = "", model: str = "", language: str = ""
) -> User | None:
    """Return the advisor who owns a new lead of this customer at this store (None: nobody).
    A customer not yet recorded (None) has no advisor of record.

    The language is the customer's: what the inquiry was written in, else their account's."""
    if customer is not None:
        advisor = advisor_of_record(customer, store)
        if advisor is not None:
            return advisor
    staff = staff_now(store)
    if not staff.advisors:
        return None  # unassigned, on the manager's list
    spoken = language or (customer.locale if customer is not None else None) or ""
    if staff.has_rules:
        advisor = by_rule(store, source, model, staff.duty or None, spoken)
        if advisor is not None:
            return advisor
    return _take_turn(store, staff.duty or staff.advisors, None)
