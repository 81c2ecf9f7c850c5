"""Record audit events: every staff action and every security event."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from portal.extensions import db
from portal.models import AuditEvent, User
from portal.timeutil import now


def record(
    action: str,
    *,
    actor: User | None = None,
    target: Any = None,
    store_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event to the current transaction."""
    token_id = getattr(actor, "api_token_id", None)
    if token_id is not None:  # an integration's token acts as nobody (id 0): name the token
        detail["api_token_id"] = token_id
    ip = request.remote_addr or "" if has_request_context() else ""
    if store_id is None:
        store_id = getattr(target, "store_id", None) or (actor.store_id if actor else None)
    event = AuditEvent(
        at=now(),
        actor_id=(actor.id or None) if actor else None,
        store_id=store_id,
        action=action,
        target_type=type(target).__name__ if target is not None else "",
        target_id=getattr(target, "id", None),
        ip=ip,
        detail={k: v for k, v in detail.items() if v is not None},
    )
    db.session.add(event)
    return event
