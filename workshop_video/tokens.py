"""Signed viewing tokens and signed media reports, shared by the portal and the media server.

No Flask and no database here: the media server imports this module with only the secret key
(M4S_SECRET_KEY) in hand. itsdangerous derives a separate HMAC key from the secret for each
salt, so a viewing token can never pass for a session cookie or a report, and the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

TOKEN_SALT = "m4s-video-token"  # noqa: S105  (a salt, not a secret)
REPORT_SALT = "m4s-video-report"
SOURCE_SALT = b"m4s-video-source"
REPORT_MAX_AGE = 30  # seconds a signed report stays acceptable


class BadToken(Exception):
    """The token is forged, malformed or expired."""


@dataclass(frozen=True)
class Grant:
    """What a valid token allows: one viewer, one session of one booking, one camera."""

    session_id: int
    camera_id: int
    viewer_id: int
    booking_id: int
    expires: float
    source: str


def _fernet(secret: str) -> Fernet:
    key = hashlib.sha256(SOURCE_SALT + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def make_token(
    secret: str,
    *,
    session_id: int,
    camera_id: int,
    viewer_id: int,
    booking_id: int,
    source: str,
    ttl: float,
    now: float | None = None,
) -> str:
    """Return a signed token; the camera source travels encrypted (it may hold credentials)."""
    expires = (time.time() if now is None else now) + ttl
    payload = {
        "s": session_id,
        "c": camera_id,
        "v": viewer_id,
        "b": booking_id,
        "exp": round(expires, 3),
        "src": _fernet(secret).encrypt(source.encode()).decode(),
    }
    return URLSafeSerializer(secret, salt=TOKEN_SALT).dumps(payload)


def read_token(secret: str, token: str, now: float | None = None) -> Grant:
    """Return the grant of a valid token; raise BadToken if forged, malformed or expired."""
    try:
        data = URLSafeSerializer(secret, salt=TOKEN_SALT).loads(token)
        source = _fernet(secret).decrypt(data["src"].encode()).decode()
        grant = Grant(
            session_id=int(data["s"]),
            camera_id=int(data["c"]),
            viewer_id=int(data["v"]),
            booking_id=int(data["b"]),
            expires=float(data["exp"]),
            source=source,
        )
    except (BadSignature, InvalidToken, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadToken("invalid token") from exc
    if grant.expires < (time.time() if now is None else now):
        raise BadToken("expired token")
    return grant


def sign_report(secret: str, payload: dict) -> str:
    """Return the media server's report, signed and timestamped."""
    return URLSafeTimedSerializer(secret, salt=REPORT_SALT).dumps(payload)


def read_report(secret: str, body: str, max_age: int = REPORT_MAX_AGE) -> dict:
    """Return a report's payload; raise BadToken if it is forged or older than max_age."""
    try:
        return URLSafeTimedSerializer(secret, salt=REPORT_SALT).loads(body, max_age=max_age)
    except BadSignature as exc:
        raise BadToken("invalid report") from exc
