"""The privacy policy: its published versions, the one in force, and owners' acceptances."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.models import User
from portal.models.accounts import OWNER
from portal.models.consents import CONSENT_METHODS, POLICY, ConsentRecord, PolicyVersion
from portal.services import audit
from portal.timeutil import now
from portal.transitions import insert_unique

SOURCE_LABELS = {
    "registration": _l("At registration"),
    "settings": _l("In the owner's settings"),
    "unsubscribe": _l("Unsubscribe link"),
    "staff": _l("Entered by staff"),
    "policy_prompt": _l("Accepted at sign-in"),
}
METHOD_LABELS = {
    "paper_form": _l("Signed paper form"),
    "phone_recording": _l("Recorded phone call"),
    "in_person": _l("In person at the store"),
}
MAX_TEXT = 100_000


def current_policy() -> PolicyVersion | None:
    """Return the policy version in force now: the newest one whose effective date has come."""
    return db.session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.effective_at <= now())
        .order_by(PolicyVersion.version.desc())
        .limit(1)
    )


def in_force_versions() -> list[PolicyVersion]:
    """Return every version that has come into force, newest first."""
    return list(
        db.session.scalars(
            select(PolicyVersion)
            .where(PolicyVersion.effective_at <= now())
            .order_by(PolicyVersion.version.desc())
        )
    )


def policy_version(version: int) -> PolicyVersion | None:
    """Return one version that has come into force; a future or unknown one is None."""
    return db.session.scalar(
        select(PolicyVersion).where(
            PolicyVersion.version == version, PolicyVersion.effective_at <= now()
        )
    )


def publish_policy(
    actor: User | None,
    *,
    text_zh: str,
    text_en: str,
    effective_at: datetime,
    summary_zh: str = "",
    summary_en: str = "",
) -> PolicyVersion:
    """Publish the next version of the policy, in force from effective_at (flushed, audited)."""
    text_zh, text_en = (text_zh or "").strip(), (text_en or "").strip()
    if not text_zh or not text_en:
        raise ValidationError(_("The policy needs its text in both Chinese and English."))
    if len(text_zh) > MAX_TEXT or len(text_en) > MAX_TEXT:
        raise ValidationError(_("The policy text is too long."))
    latest = db.session.scalar(select(func.max(PolicyVersion.version))) or 0
    row = PolicyVersion(
        version=latest + 1,
        effective_at=effective_at,
        summary_zh=(summary_zh or "").strip()[:300],
        summary_en=(summary_en or "").strip()[:300],
        text_zh=text_zh,
        text_en=text_en,
        published_at=now(),
        published_by_id=actor.id if actor else None,
    )
    if not insert_unique(row):  # another publisher took this number a moment ago
        raise Conflict(_("Another version was published meanwhile. Try again."))
    audit.record(
        "policy_published",
        actor=actor,
        target=row,
        version=row.version,
        effective_at=effective_at.isoformat(),
    )
    return row


def has_accepted(user: User, policy: PolicyVersion) -> bool:
    """Return whether the owner accepted this version of the policy."""
    return (
        db.session.scalar(
            select(ConsentRecord.id).where(
                ConsentRecord.user_id == user.id,
                ConsentRecord.kind == POLICY,
                ConsentRecord.policy_id == policy.id,
                ConsentRecord.granted.is_(True),
            )
        )
        is not None
    )


def pending_policy(user: User) -> PolicyVersion | None:
    """Return the policy in force if the owner has not accepted it yet, else None."""
    policy = current_policy()
    if policy is None or has_accepted(user, policy):
        return None
    return policy


PENDING_KEY = "policy_pending"  # in the login session: the version an owner must accept


def note_pending_policy(user: User, session) -> None:
    """At sign-in, note in the session whether an owner has a new policy version to accept."""
    if user.role == OWNER:
        pending = pending_policy(user)
        if pending is not None:
            session[PENDING_KEY] = pending.version


def accept_policy(
    user: User,
    policy: PolicyVersion | None,
    *,
    source: str,
    method: str | None = None,
    by: User | None = None,
) -> bool:
    """Record that the owner accepted the policy; False if this version was already accepted."""
    if source == "staff" and method not in CONSENT_METHODS:
        raise ValidationError(_("Say how the customer's consent was obtained."), field="method")
    row = ConsentRecord(
        user_id=user.id,
        kind=POLICY,
        granted=True,
        policy_id=policy.id if policy else None,
        source=source,
        method=method if source == "staff" else None,
        recorded_by_id=by.id if by else None,
        at=now(),
    )
    if not insert_unique(row):  # two tabs accepted at once: the first one counts
        return False
    audit.record(
        "policy_accepted",
        actor=by or user,
        target=user,
        version=policy.version if policy else None,
        source=source,
        method=row.method,
    )
    return True


def last_acceptance(user: User) -> ConsentRecord | None:
    """Return the owner's most recent acceptance of a published policy version."""
    return db.session.scalar(
        select(ConsentRecord)
        .where(
            ConsentRecord.user_id == user.id,
            ConsentRecord.kind == POLICY,
            ConsentRecord.granted.is_(True),
            ConsentRecord.policy_id.is_not(None),
        )
        .order_by(ConsentRecord.at.desc(), ConsentRecord.id.desc())
        .limit(1)
    )


def consent_history(user: User, limit: int = 50) -> list[ConsentRecord]:
    """Return the owner's consent records, newest first."""
    return list(
        db.session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.user_id == user.id)
            .order_by(ConsentRecord.at.desc(), ConsentRecord.id.desc())
            .limit(limit)
        )
    )
