"""Deliver queued webhook events: the worker's deliverer for the outbox's "endpoint" channel.

The deliverer reads the endpoint and the event, ends that read transaction, and only then
waits on the network (a slow receiver must not hold a database transaction, nor SQLite's
write lock). Each try, answered or not, becomes one row of the endpoint's delivery log."""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from portal import webhook_signature
from portal.extensions import db
from portal.models import OutboxMessage, Store, WebhookDelivery, WebhookEndpoint, WebhookEvent
from portal.services import outbox
from portal.services.webhooks import (
    CHANNEL,
    endpoint_secret,
    is_private_ip,
    names_private_host,
    private_allowed,
)
from portal.timeutil import now

TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


def payload(event: WebhookEvent, store: Store | None) -> bytes:
    """Return the JSON body receivers get: id, type, created (unix), store and data."""
    body = {
        "id": event.id,
        "type": event.type,
        "created": int(event.created_at.timestamp()),
        "store": {"id": event.store_id, "name": store.name if store else ""},
        "data": event.data,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def check_target(url: str) -> None:
    """Refuse, for good, to deliver to a host that resolves into a private network."""
    if private_allowed():
        return
    host = urlsplit(url).hostname or ""
    if names_private_host(host):
        raise outbox.DeliveryError(f"{host} is a private address", retryable=False)
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise outbox.DeliveryError(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        if is_private_ip(ipaddress.ip_address(info[4][0].split("%")[0])):
            raise outbox.DeliveryError(f"{host} resolves to a private address", retryable=False)


def _request(endpoint: WebhookEndpoint, event: WebhookEvent) -> Request:
    if not endpoint.active:
        raise outbox.DeliveryError("the endpoint is switched off", retryable=False)
    body = payload(event, db.session.get(Store, event.store_id))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "M4S-Webhooks/1",
        "M4S-Event-Id": event.id,
        "M4S-Event-Type": event.type,
        # Signed at send time: a retry carries a fresh timestamp inside the tolerance window.
        webhook_signature.HEADER: webhook_signature.sign(endpoint_secret(endpoint), body),
    }
    return Request(endpoint.url, body, headers)


def _send(req: Request) -> tuple[int, int]:
    check_target(req.url)
    started = time.monotonic()
    try:
        response = requests.post(
            req.url, data=req.body, headers=req.headers, timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )  # fmt: skip
    except requests.RequestException as exc:
        raise outbox.DeliveryError(f"cannot reach the endpoint: {type(exc).__name__}") from None
    return response.status_code, int((time.monotonic() - started) * 1000)


def _keep(**fields) -> None:
    db.session.add(WebhookDelivery(at=now(), **fields))
    db.session.commit()


def deliver(row: OutboxMessage) -> None:
    """POST one queued event to its endpoint, signed, and log the try."""
    data = row.data or {}
    endpoint = db.session.get(WebhookEndpoint, int(data.get("endpoint_id") or 0))
    event = db.session.get(WebhookEvent, str(data.get("event_id") or ""))
    if endpoint is None or event is None:
        db.session.rollback()
        raise outbox.DeliveryError("the endpoint or the event is gone", retryable=False)
    log = {
        "endpoint_id": endpoint.id,
        "event_id": event.id,
        "outbox_id": row.id,
        "attempt": row.attempts,  # the claim's fence: unique with outbox_id
        "replay": bool(data.get("replay")),
    }
    try:
        req = _request(endpoint, event)
        db.session.commit()  # end the read before waiting on the network
        status, latency = _send(req)
    except outbox.DeliveryError as exc:
        _keep(**log, error=str(exc)[:2000])
        raise
    ok = 200 <= status < 300
    _keep(
        **log, ok=ok, status_code=status, latency_ms=latency, error="" if ok else f"HTTP {status}"
    )
    if not ok:
        # Stripe's rule: anything but 2xx is retried (a redirect is not followed).
        raise outbox.DeliveryError(f"endpoint answered HTTP {status}")


outbox.register(CHANNEL, deliver)
