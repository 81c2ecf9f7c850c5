"""Routing: who owns a new lead, decided in the request that brings it.

Tried in order:
1. the advisor of record (the customer's bound advisor, if active in the lead's store);
2. the store's routing rules, by position: a rule names a source and/or a model line and the
   advisor who takes such leads (skipped while that advisor is inactive or off duty);
3. round robin over the advisors on duty now (the store's duty roster, in the store's time
   zone); a store without a roster, or with nobody on duty, uses all its active advisors.

Turns come from one counter row per store with a single UPDATE ... RETURNING: concurrent leads
each get a distinct turn (the row lock on PostgreSQL, the write lock on SQLite), so N leads
spread evenly and none is lost."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
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
    return on_duty(store, at) or active_advisors(store.id)


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
        advisor = rule.advisor
        if advisor.role != ADVISOR or not advisor.is_active or advisor.store_id != store.id:
            continue
        if duty is not None and advisor not in duty:
            continue  # off duty: the next rule, or the ring, answers within minutes
        return advisor
    return None


def next_turn(store_id: int) -> int:
    """Take the store's next round-robin turn (1, 2, 3, ...) atomically."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(RoutingTurn)
        .values(store_id=store_id, turn=0)
        .on_conflict_do_nothing(index_elements=["store_id"])
    )
    return db.session.execute(
        update(RoutingTurn)
        .where(RoutingTurn.store_id == store_id)
        .values(turn=RoutingTurn.turn + 1)
        .returning(RoutingTurn.turn)
        .execution_options(synchronize_session=False)
    ).scalar_one()


def round_robin(store: Store, skip: int | None = None, at: datetime | None = None) -> User | None:
    """Return the next advisor in the store's ring (never ``skip``, while anyone else is there)."""
    people = [a for a in ring(store, at) if a.id != skip]
    if not people:
        return None
    return people[(next_turn(store.id) - 1) % len(people)]


def route(
    customer: User, store: Store, source: str = "", model: str = "", language: str = ""
) -> User | None:
    """Return the advisor who owns a new lead of this customer at this store (None: nobody).

    The language is the customer's: what the inquiry was written in, else their account's."""
    advisor = advisor_of_record(customer, store)
    if advisor is not None:
        return advisor
    duty = on_duty(store)
    spoken = language or customer.locale or ""
    advisor = by_rule(store, source, model, duty or None, spoken)
    if advisor is not None:
        return advisor
    return round_robin(store)  # None: unassigned, on the manager's list
