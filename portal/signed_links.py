"""Signed, expiring links that name one record and need no login (inspection, repair status).

itsdangerous derives a separate key from SECRET_KEY for each salt, so a link signed for one
purpose never opens another. The payload is {key: record id}; nothing else travels in it."""

from __future__ import annotations

from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class LinkInvalid(Exception):
    """The link was not signed by us for this purpose, or names no record."""


class LinkExpired(LinkInvalid):
    """The link was ours but is older than it may be."""


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"], salt)


@lru_cache(maxsize=32)
def _serializer_for(secret: str, salt: str) -> URLSafeTimedSerializer:
    # Built once per key and purpose: a campaign batch signs thousands of links.
    return URLSafeTimedSerializer(secret, salt=salt)


def sign(salt: str, key: str, record_id: int) -> str:
    """Return a signed token naming the record for the purpose the salt names."""
    return _serializer(salt).dumps({key: record_id})


def read(salt: str, key: str, token: str, max_age: int) -> int:
    """Return the record id a token names; raise LinkExpired or LinkInvalid."""
    try:
        payload = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkExpired from None
    except BadSignature:
        raise LinkInvalid from None
    record_id = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(record_id, int) or isinstance(record_id, bool) or not 0 < record_id < 2**31:
        raise LinkInvalid
    return record_id
