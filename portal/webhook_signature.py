"""Sign and verify M4S webhooks, Stripe's way: an HMAC-SHA256 of "<unix time>.<raw body>".

The header is ``M4S-Signature: t=<unix seconds>,v1=<hex digest>``. A receiver recomputes the
digest over the raw body it got, compares in constant time and refuses a timestamp outside the
tolerance window, so a captured request cannot be replayed later. This module imports nothing
from Flask: receivers may copy it as it is."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "M4S-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of "timestamp.body" under the endpoint's secret."""
    signed = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """Return the value of the M4S-Signature header for this body."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={signature(secret, t, body)}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Tell whether the header signs this body with the secret within the tolerance window.

    Several v1 entries may appear (while a rotated secret is rolled out); one match is enough."""
    timestamp, digests = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            digests.append(value)
    if timestamp is None or not digests:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, d) for d in digests)
