"""Routing: who owns a new lead, decided in the request that brings it.

First the advisor of record (the customer's bound advisor, if active in the lead's store);
else round robin over the store's active advisors, taking turns from one counter row per
store with a single UPDATE ... RETURNING: concurrent leads each get a distinct turn (the row
lock on PostgreSQL, the write lock on SQLite), so N leads spread evenly and none is lost."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crm.models import RoutingTurn
from portal.extensions import db
from portal.models import Store, User
from portal.models.accounts import ADVISOR


def active_advisors(store_id: int) -> list[User]:
    """Return the store's active advisors in a stable order (the round-robin ring)."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == ADVISOR, User.store_id == store_id, User.is_active.is_(True))
            .order_by(User.id)
        )
    )


def advisor_of_record(customer: User, store: Store) -> User | None:
    """Return the customer's bound advisor when they are active in this store."""
    advisor = customer.advisor
    if advisor is None or not advisor.is_active or advisor.role != ADVISOR:
        return None
    return advisor if advisor.store_id == store.id else None


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


def route(customer: User, store: Store) -> User | None:
    """Return the advisor who owns a new lead of this customer at this store (None: nobody)."""
    advisor = advisor_of_record(customer, store)
    if advisor is not None:
        return advisor
    ring = active_advisors(store.id)
    if not ring:
        return None  # stays unassigned, on the manager's list
    return ring[(next_turn(store.id) - 1) % len(ring)]
