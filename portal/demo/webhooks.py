"""Demo webhooks: the demo store's ERP endpoint with a week of delivery tries in its log."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from sqlalchemy import select

from portal.demo.people import DEMO_LOGINS
from portal.extensions import db
from portal.models import (
    Booking,
    ServiceRecord,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from portal.models.accounts import MANAGER
from portal.services import webhooks


def _log(endpoint, event, at, tries) -> None:
    """Log the tries of one event: each (status or None, latency ms, error)."""
    outbox_id = uuid.uuid4().hex
    for attempt, (status, latency, error) in enumerate(tries, start=1):
        db.session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_id=event.id,
                outbox_id=outbox_id,
                attempt=attempt,
                ok=status is not None and 200 <= status < 300,
                status_code=status,
                latency_ms=latency,
                error=error,
                at=at + timedelta(minutes=2**attempt - 2),
            )
        )


def load_webhook_demo() -> dict[str, int]:
    """Create the endpoint and its log once (from the store's real bookings and jobs)."""
    if db.session.scalar(select(WebhookEndpoint.id).limit(1)) is not None:
        return {"endpoints": 0}
    manager = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[MANAGER]))
    if manager is None or manager.store_id is None:
        return {"endpoints": 0}
    endpoint, _secret = webhooks.create_endpoint(
        manager,
        manager.store_id,
        "https://erp.example-dealer.cn/m4s/webhooks",
        ["booking.created", "booking.decided", "service.completed", "order.paid"],
        "金蝶云星空 ERP：预约与工单同步",
    )
    rng = random.Random(22)
    recent = db.session.scalars(
        select(Booking)
        .where(Booking.store_id == manager.store_id)
        .order_by(Booking.created_at.desc())
        .limit(8)
    ).all()
    jobs = db.session.scalars(
        select(ServiceRecord)
        .where(ServiceRecord.store_id == manager.store_id)
        .order_by(ServiceRecord.completed_at.desc())
        .limit(4)
    ).all()
    events = [("booking.created", b.created_at, {"booking": {"id": b.id}}) for b in recent]
    events += [
        ("service.completed", r.completed_at, {"service_record": {"id": r.id}}) for r in jobs
    ]
    events.sort(key=lambda e: e[1])
    if events:  # the manager sent a test ping when setting the endpoint up
        ping = {"ping": {"endpoint_id": endpoint.id, "sent_by": manager.id}}
        events.insert(0, (webhooks.PING, events[0][1] - timedelta(hours=1), ping))
    for i, (kind, at, data) in enumerate(events):
        event = WebhookEvent(
            id="evt_" + uuid.uuid4().hex, type=kind, store_id=endpoint.store_id, data=data
        )
        event.created_at = at
        db.session.add(event)
        db.session.flush()
        ok = (200, rng.randint(60, 240), "")
        if i == 3:  # the ERP was restarting: two 502s, then accepted
            tries = [(502, 31, "HTTP 502"), (502, 28, "HTTP 502"), ok]
        elif i == 6:
            tries = [(None, None, "cannot reach the endpoint: ReadTimeout"), ok]
        else:
            tries = [ok]
        _log(endpoint, event, at, tries)
    db.session.flush()
    return {"endpoints": 1, "events": len(events)}
