"""Outbound webhooks: stores' endpoints and events queued in the outbox with the change
(portal/services/webhook_delivery.py sends them: signed like Stripe's, logged per try).

A service that changes something a dealer's system wants to hear about calls ``emit`` in its
own transaction. With no active endpoint of the store subscribed that is one indexed SELECT;
otherwise the event row and one outbox message per endpoint join the transaction, so the
event leaves exactly when the change commits. The worker's outbox claim gives each message
to one worker; a replay is a new outbox message carrying the same event id."""

from __future__ import annotations

import ipaddress
import re
import secrets
import uuid
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select

from portal import access
from portal.errors import NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.models import OutboxMessage, Store, User, WebhookDelivery, WebhookEndpoint, WebhookEvent
from portal.models.accounts import ADMIN, MANAGER
from portal.services import outbox
from portal.timeutil import now

EVENT_ID = re.compile(r"evt_[0-9a-f]{32}")
PING = "ping"  # a test event a manager sends by hand; never subscribed to, never emitted
CHANNEL = "endpoint"  # the outbox channel of webhook deliveries
MAX_ENDPOINTS_PER_STORE = 10

# Each event type and what it means, in the order the back office lists them.
EVENT_TYPES = {
    "booking.created": _l("A repair booking is made"),
    "booking.decided": _l("A booking is accepted, declined or offered another time"),
    "booking.cancelled": _l("The owner cancels a booking"),
    "service.completed": _l("A job is completed and its service record written"),
    "order.paid": _l("A shop order is paid"),
    "lead.created": _l("A new sales lead comes in"),
    "rescue.created": _l("A roadside rescue is requested"),
    "rescue.resolved": _l("A roadside rescue is resolved"),
}


# --- the secret, sealed at rest ------------------------------------------------------------


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _seal(endpoint: WebhookEndpoint, secret: str) -> None:
    endpoint.secret_sealed = secret  # encrypted by the column type under M4S_DATA_KEYS
    endpoint.secret_hint = secret[:10]


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    """Return the endpoint's signing secret (the worker signs with it)."""
    return endpoint.secret_sealed


# --- addresses ------------------------------------------------------------------------------

LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".lan", ".home.arpa")


def is_private_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Tell whether an address is outside the public internet (private, loopback, link-local)."""
    mapped = getattr(ip, "ipv4_mapped", None)
    ip = mapped or ip
    return not ip.is_global or ip.is_multicast


def private_allowed() -> bool:
    """Tell whether this installation lets endpoints point into private networks."""
    return bool(current_app.config["WEBHOOK_ALLOW_PRIVATE"])


def check_url(url: str) -> str:
    """Return the cleaned URL, or raise ValidationError saying what is wrong with it.

    Only http(s) to a public host: an address inside the dealer's or our network (loopback,
    private ranges, link-local such as the cloud metadata service) would let a back-office
    user make the worker probe it. M4S_WEBHOOK_ALLOW_PRIVATE lifts that for tests and dev."""
    url = (url or "").strip()
    if len(url) > 500:
        raise ValidationError(_("The webhook URL is too long (500 characters at most)."), "url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(_("This is not a valid web address."), "url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            _("The webhook URL must start with http:// or https:// and name a host."), "url"
        )
    if parts.username or parts.password:
        raise ValidationError(
            _("Leave the user name and password out of the URL; the signature proves the sender."),
            "url",
        )
    if port == 0 or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValidationError(_("This is not a valid web address."), "url")
    host = parts.hostname.lower()
    if not private_allowed() and names_private_host(host):
        raise ValidationError(
            _("The webhook URL points into a private network; use a public address."), "url"
        )
    return url


def names_private_host(host: str) -> bool:
    """Tell whether a URL's host is a private address or a local-only name."""
    try:
        return is_private_ip(ipaddress.ip_address(host))
    except ValueError:
        return host == "localhost" or host.endswith(LOCAL_NAMES)


# --- managing endpoints ---------------------------------------------------------------------


def _require_manager(actor: User) -> None:
    if actor.role not in (MANAGER, ADMIN) or not actor.is_active:
        raise NotAllowed(_("Only managers manage webhooks."))


def _clean_events(events: list[str]) -> list[str]:
    chosen = [e for e in EVENT_TYPES if e in set(events or [])]
    if not chosen or len(chosen) != len(set(events)):
        raise ValidationError(_("Choose at least one event to send."), "events")
    return chosen


def create_endpoint(
    actor: User, store_id: int, url: str, events: list[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Add a store's endpoint; return it and its secret, which is shown this once."""
    _require_manager(actor)
    access.require_store(actor, store_id, _("Store not found."))
    if db.session.get(Store, store_id) is None:
        raise NotFound(_("Store not found."))
    url = check_url(url)
    chosen = _clean_events(events)
    count = db.session.scalar(
        select(func.count(WebhookEndpoint.id)).where(WebhookEndpoint.store_id == store_id)
    )
    if count >= MAX_ENDPOINTS_PER_STORE:
        raise ValidationError(
            _("A store has at most %(n)d webhook endpoints.", n=MAX_ENDPOINTS_PER_STORE), "url"
        )
    endpoint = WebhookEndpoint(
        store_id=store_id,
        url=url,
        description=(description or "").strip()[:120],
        events=chosen,
        active=True,
        created_by_id=actor.id,
        created_at=now(),
    )
    secret = _new_secret()
    _seal(endpoint, secret)
    db.session.add(endpoint)
    db.session.flush()
    return endpoint, secret


def endpoint_of(actor: User, endpoint_id) -> WebhookEndpoint:
    """Return an endpoint of the actor's store (any store for admins), else NotFound."""
    _require_manager(actor)
    return access.store_record(actor, WebhookEndpoint, endpoint_id, _("Webhook not found."))


def rotate_secret(actor: User, endpoint_id) -> tuple[WebhookEndpoint, str]:
    """Give the endpoint a new secret at once; return it (shown this once)."""
    endpoint = endpoint_of(actor, endpoint_id)
    secret = _new_secret()
    _seal(endpoint, secret)
    endpoint.secret_rotated_at = now()
    db.session.flush()
    return endpoint, secret


def set_active(actor: User, endpoint_id, active: bool) -> WebhookEndpoint:
    """Switch the endpoint on or off; switched off, it is sent nothing (queued tries included)."""
    endpoint = endpoint_of(actor, endpoint_id)
    endpoint.active = active
    db.session.flush()
    return endpoint


def deliveries(endpoint: WebhookEndpoint, before: int | None = None, limit: int = 50):
    """Return the endpoint's latest delivery tries, newest first (keyset: ids below ``before``)."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if before:
        stmt = stmt.where(WebhookDelivery.id < before)
    return db.session.scalars(stmt.order_by(WebhookDelivery.id.desc()).limit(limit)).all()


# --- events ---------------------------------------------------------------------------------


def _enqueue(endpoint_id: int, event: WebhookEvent, replay: bool = False) -> OutboxMessage:
    return outbox.enqueue(
        CHANNEL,
        str(endpoint_id),
        kind=event.type[:24],
        data={"event_id": event.id, "endpoint_id": endpoint_id, "replay": replay},
        store_id=event.store_id,
    )


def emit(event_type: str, store_id: int | None, data: dict) -> WebhookEvent | None:
    """Queue the event for the store's active endpoints that want it, in this transaction."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    if store_id is None:
        return None
    rows = db.session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.events).where(
            WebhookEndpoint.store_id == store_id, WebhookEndpoint.active.is_(True)
        )
    ).all()
    wanted = [endpoint_id for endpoint_id, events in rows if event_type in (events or [])]
    if not wanted:
        return None
    event = WebhookEvent(
        id="evt_" + uuid.uuid4().hex,
        type=event_type,
        store_id=store_id,
        data=data,
        created_at=now(),
    )
    db.session.add(event)
    db.session.flush()
    for endpoint_id in wanted:
        _enqueue(endpoint_id, event)
    return event


def iso(at) -> str | None:
    """Return a time as ISO 8601 UTC for a payload (None stays None)."""
    return at.isoformat().replace("+00:00", "Z") if at is not None else None


def emit_booking(event_type: str, booking, **extra) -> WebhookEvent | None:
    """Queue a booking event: ids, status and times; people and cars by id only."""
    data = {
        "id": booking.id,
        "status": booking.status,
        "slot_start": iso(booking.slot_start),
        "service_types": list(booking.service_types or []),
        "vehicle_id": booking.vehicle_id,
        "owner_id": booking.owner_id,
        "advisor_id": booking.advisor_id,
        **extra,
    }
    return emit(event_type, booking.store_id, {"booking": data})


def emit_rescue(event_type: str, rescue) -> WebhookEvent | None:
    """Queue a rescue event: what happened and its status; no phone number, no position."""
    data = {
        "id": rescue.id,
        "status": rescue.status,
        "problem": rescue.problem,
        "vehicle_id": rescue.vehicle_id,
        "owner_id": rescue.owner_id,
        "created_at": iso(rescue.created_at),
        "resolved_at": iso(rescue.resolved_at),
    }
    return emit(event_type, rescue.store_id, {"rescue": data})


def replay(actor: User, endpoint_id, event_id: str) -> OutboxMessage:
    """Queue an event this endpoint was sent once more, with the same event id."""
    endpoint = endpoint_of(actor, endpoint_id)
    if not EVENT_ID.fullmatch(str(event_id)):
        raise NotFound(_("This endpoint was never sent that event."))
    sent_here = exists().where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.event_id == event_id
    )
    event = db.session.scalar(select(WebhookEvent).where(WebhookEvent.id == event_id, sent_here))
    if event is None:
        raise NotFound(_("This endpoint was never sent that event."))
    return _enqueue(endpoint.id, event, replay=True)


def ping(actor: User, endpoint_id) -> WebhookEvent:
    """Queue a signed test event for this endpoint only (its delivery log shows the try)."""
    endpoint = endpoint_of(actor, endpoint_id)
    if not endpoint.active:
        raise ValidationError(_("Switch the endpoint on before sending it a test ping."), "url")
    event = WebhookEvent(
        id="evt_" + uuid.uuid4().hex,
        type=PING,
        store_id=endpoint.store_id,
        data={"ping": {"endpoint_id": endpoint.id, "sent_by": actor.id, "at": iso(now())}},
        created_at=now(),
    )
    db.session.add(event)
    db.session.flush()
    _enqueue(endpoint.id, event)
    return event
