"""The outbox's deliverers for SMS, WeChat and webhooks: a queued row in, a provider call out.

The worker imports this module (portal.services.outbox.DELIVERER_MODULES); importing it
registers the three channels."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from portal.channels.base import DeliveryError, Message
from portal.channels.sms import send_sms
from portal.channels.webhook import send_webhook
from portal.channels.wechat import send_wechat
from portal.models import OutboxMessage
from portal.services.outbox import register


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"m4s-outbox-seal:" + current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def seal(values: dict, *, ttl_seconds: int) -> dict:
    """Encrypt secret template values (a sign-in code) for the outbox row, with a lifetime.

    The row outlives the message; the code in it must not be readable from the table, and a
    message delivered after the code expired would only confuse the owner."""
    token = _fernet().encrypt(json.dumps(values).encode()).decode()
    return {"sealed": token, "ttl": ttl_seconds}


def unseal(data: dict) -> dict:
    """Return sealed values, or fail for good when they expired or were tampered with."""
    try:
        return json.loads(_fernet().decrypt(data["sealed"].encode(), ttl=int(data["ttl"])))
    except InvalidToken:
        raise DeliveryError("sealed values expired or altered; not sent", retryable=False) from None


def to_message(row: OutboxMessage) -> Message:
    """Turn a queued row into what an adapter sends."""
    data = dict(row.data or {})
    if "sealed" in data:
        data.update(unseal(data))
    return Message(
        recipient=row.recipient,
        kind=row.kind,
        subject=row.subject,
        body=data.get("body") or row.body,
        params={str(k): str(v) for k, v in (data.get("params") or {}).items()},
        link=data.get("link", ""),
        message_id=row.id,
        extra={k: v for k, v in data.items() if k not in ("sealed", "ttl", "params", "body")},
    )


def deliver_sms(row: OutboxMessage) -> None:
    """Send a queued SMS; without a provider, development logs it instead."""
    cfg = current_app.config
    message = to_message(row)
    if not cfg["SMS_PROVIDER"] and cfg["ENV"] != "production":
        current_app.logger.info(
            "SMS to %s (%s) not sent, no M4S_SMS_PROVIDER: %s %s",
            message.recipient,
            message.kind,
            message.body,
            dict(message.params),
        )
        return
    send_sms(cfg, message)


def deliver_wechat(row: OutboxMessage) -> None:
    """Send a queued WeChat template message."""
    send_wechat(current_app.config, to_message(row))


def deliver_webhook(row: OutboxMessage) -> None:
    """POST a queued webhook."""
    send_webhook(current_app.config, to_message(row))


register("sms", deliver_sms)
register("wechat", deliver_wechat)
register("webhook", deliver_webhook)
