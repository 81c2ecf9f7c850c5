"""Integration tokens: made and revoked by admins, shown once, kept as a sha256 hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update

from api.models import SCOPES, ApiToken
from portal.errors import NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.models import Store, User
from portal.models.accounts import ADMIN, MANAGER
from portal.timeutil import now

SECRET_PREFIX = "m4s_"  # noqa: S105 (not a secret: marks M4S tokens for secret scanners)
TOUCH_EVERY = timedelta(minutes=1)  # last-used time to the minute: one write a minute at most


def token_hash(secret: str) -> str:
    """Return the stored form of a token's secret."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _can_manage(actor: User) -> bool:
    return bool(actor.is_active) and actor.role == ADMIN


def create_token(
    actor: User, name: str, scopes: list[str], store: Store | None, full_phones: bool = False
) -> tuple[ApiToken, str]:
    """Create an integration's token; return it with its secret, which is never shown again."""
    if not _can_manage(actor):
        raise NotAllowed(_("Only admins manage API tokens."))
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError(_("Name the integration (at most 80 characters)."), field="name")
    chosen = [s for s in SCOPES if s in set(scopes or [])]
    if not chosen or len(chosen) != len(set(scopes or [])):
        raise ValidationError(_("Choose at least one scope."), field="scopes")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)  # 256 bits of randomness
    token = ApiToken(
        name=name,
        prefix=secret[:10],
        token_hash=token_hash(secret),
        scopes=chosen,
        store_id=store.id if store is not None else None,
        full_phones=bool(full_phones),
        created_by_id=actor.id,
        created_at=now(),
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def revoke_token(actor: User, token_id: int) -> ApiToken:
    """Revoke a token at once; requests with it are refused from now on."""
    if not _can_manage(actor):
        raise NotAllowed(_("Only admins manage API tokens."))
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(_("No such token."))
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(token)
    return token


def find_token(secret: str | None) -> ApiToken | None:
    """Return the live token with this secret, or None."""
    if not secret or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
    if token is None or token.revoked_at is not None:
        return None
    return token


def touch(token: ApiToken) -> None:
    """Note when the token was last used (to the minute), and commit that at once."""
    at = now()
    if token.last_used_at is not None and at - token.last_used_at < TOUCH_EVERY:
        return
    token_id = token.id  # read before the commit, which expires the token (no reload here)
    db.session.commit()  # end the read, so that the write below starts its own
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .values(last_used_at=at)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()  # a refused request after this rolls back its own work only


@dataclass(frozen=True)
class TokenActor:
    """The token as portal.access reads an actor: a manager of its store, or an admin of all."""

    id: int
    role: str
    store_id: int | None
    is_active: bool = True
    is_authenticated: bool = True
    api_token_id: int | None = None  # audit events name the token (portal.services.audit)


def actor_for(token: ApiToken) -> TokenActor:
    """Return the access actor of a token: its store limit decides what it sees."""
    role = ADMIN if token.store_id is None else MANAGER
    # id 0 is nobody: a token is never a customer's own advisor.
    return TokenActor(id=0, role=role, store_id=token.store_id, api_token_id=token.id)
