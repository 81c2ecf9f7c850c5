"""The outbox's deliverers for SMS, WeChat and webhooks: a queued row in, a provider call out.

The worker imports this module (portal.services.outbox.DELIVERER_MODULES); importing it
registers the three channels."""

from __future__ import annotations

from flask import current_app

from portal.channels.base import Message
from portal.channels.sealed import unseal
from portal.channels.sms import send_sms
from portal.channels.webhook import send_webhook
from portal.channels.wechat import send_wechat
from portal.models import OutboxMessage
from portal.services.outbox import register


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
