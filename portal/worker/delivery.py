"""Deliver the outbox: claim due messages, hand each to its channel, record the outcome."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from portal.extensions import db
from portal.services import outbox


def deliver_due(
    *,
    limit: int | None = None,
    channels: list[str] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, int]:
    """Deliver due messages until none is left, ``limit`` were tried or ``should_stop()``
    (checked between batches: a claimed batch is always finished); return the counts."""
    cfg = current_app.config
    deliverers = outbox.load_deliverers()
    counts = {"sent": 0, "retry": 0, "dead": 0, "lost": 0}
    tried = 0
    conn = None  # opened at the first claimed batch: an empty poll costs one claim, no more
    try:
        while (limit is None or tried < limit) and not should_stop():
            batch = (
                cfg["OUTBOX_BATCH"] if limit is None else min(cfg["OUTBOX_BATCH"], limit - tried)
            )
            claimed = outbox.claim(batch, cfg["OUTBOX_LEASE_SECONDS"], channels)
            if not claimed:
                break
            if conn is None:
                conn = _settle_connection()
            for message in claimed:
                counts[_deliver_one(message, deliverers, conn)] += 1
            tried += len(claimed)
    finally:
        if conn is not None:
            _release(conn)
        _close_connections()
    return counts


def _settle_connection():
    """Return the connection that records every outcome of this round.

    On PostgreSQL each outcome is one autocommitted UPDATE (one round trip, no separate COMMIT)
    with ``synchronous_commit`` off: the worker does not wait for the WAL flush of each mark.
    A killed worker loses nothing by it (the server has the commit); only a crash of the
    database server itself within its WAL writer delay (well under a second) can forget a mark,
    and the message is then sent again with the same id, the one duplicate the outbox already
    allows. SQLite keeps a transaction per mark (its BEGIN IMMEDIATE hook needs one).
    """
    conn = db.engine.connect()
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("SET synchronous_commit TO off")
    return conn


def _release(conn) -> None:
    try:  # the pooled connection goes back as it came: later transactions wait for the flush
        if conn.dialect.name == "postgresql" and not conn.invalidated:
            conn.exec_driver_sql("RESET synchronous_commit")
    finally:
        conn.close()


def _deliver_one(message, deliverers, conn) -> str:
    fence = message.attempts
    deliver = deliverers.get(message.channel)
    try:
        if deliver is None:
            raise outbox.DeliveryError(f"no deliverer for channel {message.channel!r}")
        deliver(message)
    except outbox.DeliveryError as exc:
        return _failed(message, fence, str(exc) or type(exc).__name__, exc.retryable, conn)
    except Exception as exc:  # a deliverer's bug must not stop the queue: retry, then dead
        current_app.logger.exception("outbox %s: delivery raised", message.id)
        return _failed(message, fence, f"{type(exc).__name__}: {exc}", True, conn)
    # Marked right after the remote side accepted: a crash before this commit is the one
    # window that can send a message twice (same Message-ID), never one that loses it.
    return "sent" if outbox.mark_sent(message, fence, conn) else "lost"


def _failed(message, fence: int, error: str, retryable: bool, conn) -> str:
    cfg = current_app.config
    status = outbox.mark_failed(
        message,
        fence,
        error,
        retryable=retryable,
        max_attempts=cfg["OUTBOX_MAX_ATTEMPTS"],
        base=cfg["OUTBOX_BACKOFF_SECONDS"],
        cap=cfg["OUTBOX_BACKOFF_MAX_SECONDS"],
        conn=conn,
    )
    current_app.logger.warning("outbox %s: %s (%s)", message.id, error, status)
    return "retry" if status == "pending" else "dead"


def _close_connections() -> None:
    from portal.mail import close_connection

    close_connection()
