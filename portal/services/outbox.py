"""The outbox: write a message in the caller's transaction; the worker delivers it after commit.

Delivery is at least once. A worker claims a few due rows in one conditional UPDATE (with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers take disjoint rows; SQLite runs
the UPDATE under its single write lock, which is just as exclusive), sends each one and marks it
sent in its own commit right after the remote side accepted it. A worker killed between the
accept and that commit leaves the row "sending"; once its lease has run out another worker sends
it again. That is the one duplicate the design allows, and every copy carries the same stable id
(for email, the Message-ID header) so receivers can drop it.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, select, update

from portal.extensions import db
from portal.models import OutboxMessage
from portal.timeutil import now

UNDELIVERED = ("pending", "sending")


class DeliveryError(Exception):
    """A delivery failed; ``retryable`` False sends the message straight to the dead letters."""

    retryable: bool = True

    def __init__(self, message: str = "", *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


Deliverer = Callable[[OutboxMessage], None]
# channel -> function that delivers one message or raises DeliveryError (any other exception
# counts as retryable too). "email" is registered by portal.mail; portal/channels adds more.
DELIVERERS: dict[str, Deliverer] = {}


def register(channel: str, deliverer: Deliverer) -> None:
    """Register the function that delivers messages of a channel."""
    DELIVERERS[channel] = deliverer


def enqueue(
    channel: str,
    recipient: str,
    *,
    kind: str,
    subject: str = "",
    body: str = "",
    data: dict | None = None,
    store_id: int | None = None,
    user_id: int | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Add a message to the outbox in the current transaction (flushed, never committed)."""
    at = now()
    message = OutboxMessage(
        id=uuid.uuid4().hex,
        channel=channel,
        kind=kind,
        recipient=recipient,
        subject=subject[:255],
        body=body,
        data=dict(data or {}),
        store_id=store_id,
        user_id=user_id,
        status="pending",
        attempts=0,
        next_attempt_at=max(not_before, at) if not_before else at,
        created_at=at,
    )
    db.session.add(message)
    db.session.flush()
    return message


def claim(limit: int, lease_seconds: int, channels: list[str] | None = None) -> list[OutboxMessage]:
    """Claim up to ``limit`` due messages for this worker and commit the claim."""
    at = now()
    due = and_(OutboxMessage.status.in_(UNDELIVERED), OutboxMessage.next_attempt_at <= at)
    if channels is not None:
        due = and_(due, OutboxMessage.channel.in_(channels))
    # Two statements, not UPDATE ... WHERE id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED):
    # PostgreSQL may re-run such a subquery for each row it updates, and with SKIP LOCKED each
    # run returns other rows, so one claim could take the whole queue. Here the SELECT locks
    # exactly its rows (SQLite: the transaction holds the write lock from BEGIN IMMEDIATE).
    ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(due)
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not ids:
        db.session.commit()
        return []
    claimed = db.session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), due)
        .values(
            status="sending",
            attempts=OutboxMessage.attempts + 1,
            next_attempt_at=at + timedelta(seconds=lease_seconds),
        )
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    ).all()
    for message in claimed:  # plain values from here on: the settling commits expire nothing
        db.session.expunge(message)
    db.session.commit()
    return sorted(claimed, key=lambda m: m.created_at)


def _settle(message: OutboxMessage, fence: int, conn: Connection | None = None, **values) -> bool:
    statement = (
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.status == "sending",
            OutboxMessage.attempts == fence,
        )
        .values(**values)
    )
    if conn is None:
        result = db.session.execute(statement.execution_options(synchronize_session=False))
        db.session.commit()
    else:  # the worker's own connection: no pool checkout (and its ping) per message
        result = conn.execute(statement)
        conn.commit()
    return result.rowcount == 1


def mark_sent(message: OutboxMessage, fence: int, conn: Connection | None = None) -> bool:
    """Record that the message was accepted; False when the claim was lost meanwhile."""
    return _settle(message, fence, conn, status="sent", sent_at=now(), last_error=None)


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Return the wait before the next try: exponential in the attempts, with full jitter."""
    ceiling = min(cap, base * (2 ** max(attempts - 1, 0)))
    return random.uniform(ceiling / 2, ceiling)


def mark_failed(
    message: OutboxMessage,
    fence: int,
    error: str,
    *,
    retryable: bool,
    max_attempts: int,
    base: float = 30.0,
    cap: float = 3600.0,
    conn: Connection | None = None,
) -> str:
    """Record a failed try: back to pending after a backoff, or dead; return the new status."""
    if not retryable or fence >= max_attempts:
        _settle(message, fence, conn, status="dead", last_error=error[:2000])
        return "dead"
    wait = timedelta(seconds=backoff_seconds(fence, base, cap))
    _settle(message, fence, status="pending", next_attempt_at=now() + wait, last_error=error[:2000])
    return "pending"


def retry_dead(message_id: str) -> bool:
    """Put a dead letter back in the queue with fresh attempts (flushed, never committed)."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "dead")
        .values(status="pending", attempts=0, next_attempt_at=now())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def queue_stats() -> dict:
    """Return the queue depth, the oldest undelivered message's time and the dead-letter count."""
    pending = OutboxMessage.status.in_(UNDELIVERED)
    depth, oldest = db.session.execute(
        select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at)).where(pending)
    ).one()
    dead = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "dead")
    )
    return {"depth": depth, "oldest": oldest, "dead": dead}


# Modules that register deliverers when imported (portal.mail: "email"). The worker imports
# them by path, so portal never imports the packages that add channels.
DELIVERER_MODULES: list[str] = [
    "portal.mail",
    "portal.channels.delivery",
    "portal.services.webhook_delivery",
]


def load_deliverers() -> dict[str, Deliverer]:
    """Import every deliverer module and return the registry."""
    import importlib

    for path in DELIVERER_MODULES:
        importlib.import_module(path)
    return DELIVERERS
