"""The back office's API tokens: made by admins, shown once, stored hashed, revoked at once."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from api.models import ApiToken


def _secret(page: str) -> str:
    m = re.search(r'id="new-token-secret">([^<]+)<', page)
    assert m, page[:2000]
    return m.group(1)


def test_admin_creates_a_token_shown_once_and_stored_hashed(client, auth, f, db):
    store = f.store("A")
    admin = f.admin()
    db.session.commit()
    auth.login(admin)
    r = client.post(
        "/admin/api_tokens/new",
        data={"name": "金蝶 ERP", "scopes": ["bookings:read", "customers:read"], "store": store.id},
    )
    assert r.status_code == 200
    secret = _secret(r.get_data(as_text=True))
    token = db.session.scalar(select(ApiToken))
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(token.__dict__)  # only the hash is kept
    assert token.scopes == ["customers:read", "bookings:read"] and token.store_id == store.id
    listing = client.get("/admin/api_tokens/").get_data(as_text=True)
    assert "金蝶 ERP" in listing and secret not in listing and token.prefix in listing
    api = client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200


def test_a_token_needs_a_name_and_a_scope(client, auth, f, db):
    admin = f.admin()
    db.session.commit()
    auth.login(admin)
    r = client.post("/admin/api_tokens/new", data={"name": "", "store": 0})
    assert r.status_code == 422
    assert db.session.scalar(select(ApiToken)) is None


def test_revoking_stops_the_token_at_once(client, auth, f, db):
    from api import tokens

    admin = f.admin()
    token, secret = tokens.create_token(admin, "CRM", ["bookings:read"], None)
    db.session.commit()
    auth.login(admin)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/bookings", headers=headers).status_code == 200
    r = client.post(f"/admin/api_tokens/{token.id}/revoke")
    assert r.status_code == 303
    assert client.get("/api/v1/bookings", headers=headers).status_code == 401


def test_only_admins_manage_tokens(client, auth, f, db):
    store = f.store("A")
    manager = f.manager(store)
    db.session.commit()
    auth.login(manager)
    assert client.get("/admin/api_tokens/").status_code == 403
    r = client.post(
        "/admin/api_tokens/new", data={"name": "x", "scopes": ["shop:read"], "store": 0}
    )
    assert r.status_code == 403
    assert db.session.scalar(select(ApiToken)) is None
