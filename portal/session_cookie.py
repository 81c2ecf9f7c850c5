"""Flask's signed-cookie session, with each distinct cookie verified once per process.

Every logged-in request opens the session cookie: a new serializer, a base64 and a zlib
pass and two HMACs, about as long as the page's own database query. A browser sends the
same cookie until the session changes, so the first request to verify a cookie keeps its
payload (a plain dict when every value is immutable, else the serializer's JSON: every
request gets its own copy either way) and the time it was signed; later requests with the
same cookie only check its age. Only cookies that verified are kept, so nothing enters the
cache without the secret key.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature


class VerifiedCookieSessionInterface(SecureCookieSessionInterface):
    """SecureCookieSessionInterface that remembers the cookies it has verified."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._verified: OrderedDict[str, tuple[float, dict | str]] = OrderedDict()
        self._lock = threading.Lock()

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie or not app.secret_key or self.size <= 0:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        with self._lock:
            known = self._verified.get(cookie)
            if known is not None:
                self._verified.move_to_end(cookie)
        if known is not None and time.time() - known[0] <= max_age:
            signed_at, payload = known
            if isinstance(payload, dict):  # only immutable values: a shallow copy is a copy
                return self.session_class(payload)
            return self.session_class(self.serializer.loads(payload))
        signer = self.get_signing_serializer(app)
        try:
            data, signed_at = signer.loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:  # forged, or expired (SignatureExpired is a BadSignature)
            return self.session_class()
        flat = all(isinstance(v, str | int | float | bool | None) for v in data.values())
        payload = dict(data) if flat else self.serializer.dumps(data)
        with self._lock:
            self._verified[cookie] = (signed_at.timestamp(), payload)
            while len(self._verified) > self.size:
                self._verified.popitem(last=False)
        return self.session_class(data)
