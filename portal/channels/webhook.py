"""The webhook channel: a signed JSON POST to the store's own system, ntfy or gotify."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from portal.channels.base import DeliveryError, Message, check_http_status, post

SIGNATURE_HEADER = "X-M4S-Signature"
TIMESTAMP_HEADER = "X-M4S-Timestamp"


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return the signature header value: sha256=HMAC-SHA256(secret, timestamp + '.' + body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_webhook(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Tell whether a received webhook carries a valid signature (for receivers and tests)."""
    return hmac.compare_digest(webhook_signature(secret, timestamp, body), signature)


def send_webhook(settings: Mapping[str, Any], message: Message) -> None:
    """POST the message as JSON to its URL, signed with M4S_WEBHOOK_SECRET.

    title and message are the fields ntfy and gotify read; a store's own system
    verifies the signature and reads the rest."""
    url = message.recipient or settings["WEBHOOK_URL"]
    if not url:
        raise DeliveryError("no webhook URL (M4S_WEBHOOK_URL)", retryable=False)
    secret = settings["WEBHOOK_SECRET"]
    if not secret:
        raise DeliveryError("M4S_WEBHOOK_SECRET is not set", retryable=False)
    payload = {
        "id": message.message_id,
        "kind": message.kind,
        "title": message.subject,
        "message": message.body,
        "link": message.link,
        "data": dict(message.extra),
    }
    if settings.get("WEBHOOK_TOPIC"):
        payload["topic"] = settings["WEBHOOK_TOPIC"]  # ntfy publishes JSON to its root URL
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: webhook_signature(secret, timestamp, body),
        **settings["WEBHOOK_HEADERS"],
    }
    if message.message_id:
        headers["Idempotency-Key"] = message.message_id
    response = post(url, data=body, headers=headers)
    check_http_status(response, "webhook")
