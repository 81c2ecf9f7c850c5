"""API fixtures: a token maker and a client that sends it."""

from __future__ import annotations

import uuid

import pytest

from api import tokens
from api.models import SCOPES


class ApiClient:
    """The test client with a bearer token; POSTs carry a fresh Idempotency-Key unless given."""

    def __init__(self, client, secret: str | None):
        self.client, self.secret = client, secret

    def _headers(self, extra=None):
        h = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        h.update(extra or {})
        return h

    def get(self, path, headers=None, **kw):
        return self.client.get(path, headers=self._headers(headers), **kw)

    def post(self, path, json=None, key: str | None = None, headers=None, **kw):
        h = {"Idempotency-Key": key or uuid.uuid4().hex, **(headers or {})}
        return self.client.post(path, json=json, headers=self._headers(h), **kw)


@pytest.fixture
def make_token(db, f):
    """Create a token (all scopes, all stores unless told) and return (token, secret)."""
    admin = f.admin()

    def make(scopes=SCOPES, store=None, full_phones=False, name="ERP"):
        token, secret = tokens.create_token(admin, name, list(scopes), store, full_phones)
        db.session.commit()
        return token, secret

    return make


@pytest.fixture
def api(client, make_token):
    """A client with a token that may do everything in every store."""
    _token, secret = make_token()
    return ApiClient(client, secret)


@pytest.fixture
def api_as(client, make_token):
    """Build a client for a token with these scopes and store limit."""

    def build(**kw):
        _token, secret = make_token(**kw)
        return ApiClient(client, secret)

    return build
