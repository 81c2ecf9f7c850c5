"""Secret template values (a sign-in code) kept encrypted, with a lifetime, in outbox rows."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from portal.channels.base import DeliveryError


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
