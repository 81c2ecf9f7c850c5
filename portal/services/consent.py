"""Marketing consent per channel: given and withdrawn with their times, and the signed
one-tap unsubscribe link every marketing message carries (no sign-in needed).

Every change also adds a ConsentRecord: when, under which policy version, from where (and for
staff entries how the customer's consent was obtained), and is audited."""

from __future__ import annotations

from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from portal import access
from portal.extensions import db
from portal.models import User
from portal.models.accounts import ADVISOR, OWNER
from portal.models.channels import MARKETING_CHANNELS, MarketingConsent
from portal.models.consents import MARKETING, ConsentRecord
from portal.services import audit
from portal.services.policy import current_policy
from portal.timeutil import now

# The channels a new owner, or staff entering a customer, say yes or no to one by one.
SIGNUP_CHANNELS = ("sms", "wechat", "email")

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


def set_consent(
    user_id: int,
    channel: str,
    on: bool,
    source: str = "settings",
    *,
    method: str | None = None,
    by: User | None = None,
) -> bool:
    """Give or withdraw consent on one channel; return whether anything changed (flushed).

    A change is recorded with its time, the policy in force and its source, and audited."""
    if channel not in MARKETING_CHANNELS:
        raise ValueError(channel)
    if _change(user_id, channel, on, source):
        _record(user_id, channel, on, source, method, by)
        return True
    return False


def _change(user_id: int, channel: str, on: bool, source: str) -> bool:
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


def _record(
    user_id: int, channel: str, on: bool, source: str, method: str | None, by: User | None
) -> None:
    policy = current_policy()
    db.session.add(
        ConsentRecord(
            user_id=user_id,
            kind=MARKETING,
            channel=channel,
            granted=on,
            policy_id=policy.id if policy else None,
            source=source,
            method=method if source == "staff" else None,
            recorded_by_id=by.id if by else None,
            at=now(),
        )
    )
    owner = db.session.get(User, user_id)
    audit.record(
        "marketing_consent_given" if on else "marketing_consent_withdrawn",
        actor=by or owner,
        target=owner,
        channel=channel,
        source=source,
        method=method if source == "staff" else None,
        version=policy.version if policy else None,
    )
    db.session.flush()


def record_choices(
    user: User,
    channels_on: set[str],
    *,
    source: str,
    method: str | None = None,
    by: User | None = None,
) -> None:
    """Set the SMS, WeChat and email consents to exactly the ticked ones (flushed)."""
    for channel in SIGNUP_CHANNELS:
        set_consent(user.id, channel, channel in channels_on, source, method=method, by=by)


def save_consents(user_id: int, channels_on: set[str]) -> None:
    """Make the owner's consents exactly the given set of channels (flushed)."""
    for channel in MARKETING_CHANNELS:
        set_consent(user_id, channel, channel in channels_on)


def _serializer() -> URLSafeSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"])


@lru_cache(maxsize=8)
def _serializer_for(secret: str) -> URLSafeSerializer:
    # Built once per key: a campaign batch signs a link for every message.
    return URLSafeSerializer(secret, salt=SALT)


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


def staff_may_record(staff: User, customer: User) -> bool:
    """Return whether the staff member may record this customer's consent: a customer of
    their store, and for an advisor one of their own (a colleague's is only seen masked)."""
    if customer.role != OWNER or not access.is_active_staff(staff):
        return False
    if not access.in_store(staff, customer.store_id):
        return False
    return staff.role != ADVISOR or customer.advisor_id == staff.id
