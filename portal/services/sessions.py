"""Server-side login sessions: a new random id at every login, revoked at logout."""

from __future__ import annotations

import hashlib
import secrets

from flask import request
from sqlalchemy import bindparam, select, update

from portal.extensions import db
from portal.models import LoginSession, User
from portal.timeutil import now


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User) -> str:
    """Record a new login session for the user and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(
            id=_key(token),
            user_id=user.id,
            created_at=now(),
            ip=(request.remote_addr or "")[:64],
            user_agent=(request.user_agent.string or "")[:255],
        )
    )
    return token


# Built once: this runs on every authenticated request, and building the statement cost as
# much as running it.
_LIVE_USER = (
    select(User)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(
        User.id == bindparam("user_id"),
        LoginSession.id == bindparam("key"),
        LoginSession.revoked_at.is_(None),
    )
)


def live_user(token: str | None, user_id: int) -> User | None:
    """Return the user if the token names a live session of the user's, in one query."""
    if not token:
        return None
    params = {"user_id": user_id, "key": _key(token)}
    return db.session.execute(_LIVE_USER, params).scalar_one_or_none()


def revoke(token: str | None) -> None:
    """End one login session."""
    if token:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.id == _key(token), LoginSession.revoked_at.is_(None))
            .values(revoked_at=now())
        )


def revoke_all(user: User) -> None:
    """End every login session of the user (deactivation, unlock)."""
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now())
    )
