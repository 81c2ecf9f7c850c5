"""Marketing consent per channel: given and withdrawn with their times, and the signed
one-tap unsubscribe link every marketing message carries (no sign-in needed)."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from portal.extensions import db
from portal.models.channels import MARKETING_CHANNELS, MarketingConsent
from portal.timeutil import now

SALT = "m4s-marketing-unsubscribe"


def consents(user_id: int) -> dict[str, bool]:
    """Return, per marketing channel, whether the owner consents now."""
    rows = db.session.execute(
        select(MarketingConsent.channel, MarketingConsent.withdrawn_at).where(
            MarketingConsent.user_id == user_id
        )
    ).all()
    given = {channel for channel, withdrawn in rows if withdrawn is None}
    return {channel: channel in given for channel in MARKETING_CHANNELS}


def set_consent(user_id: int, channel: str, on: bool, source: str = "settings") -> bool:
    """Give or withdraw consent on one channel; return whether anything changed (flushed)."""
    if channel not in MARKETING_CHANNELS:
        raise ValueError(channel)
    at = now()
    if not on:
        result = db.session.execute(
            update(MarketingConsent)
            .where(
                MarketingConsent.user_id == user_id,
                MarketingConsent.channel == channel,
                MarketingConsent.withdrawn_at.is_(None),
            )
            .values(withdrawn_at=at, source=source)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1
    row = db.session.scalar(
        select(MarketingConsent)
        .where(MarketingConsent.user_id == user_id, MarketingConsent.channel == channel)
        .with_for_update()
    )
    if row is None:
        db.session.add(
            MarketingConsent(user_id=user_id, channel=channel, granted_at=at, source=source)
        )
    elif row.withdrawn_at is not None:
        row.granted_at, row.withdrawn_at, row.source = at, None, source
    else:
        return False
    db.session.flush()
    return True


def save_consents(user_id: int, channels_on: set[str]) -> None:
    """Make the owner's consents exactly the given set of channels (flushed)."""
    for channel in MARKETING_CHANNELS:
        set_consent(user_id, channel, channel in channels_on)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def unsubscribe_token(user_id: int, channel: str) -> str:
    """Return the signed token of an owner's one-tap unsubscribe link for one channel."""
    return _serializer().dumps([user_id, channel])


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """Return (user id, channel) from a genuine token, else None."""
    try:
        user_id, channel = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(user_id, int) or channel not in MARKETING_CHANNELS:
        return None
    return user_id, channel
