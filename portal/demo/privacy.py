"""Demo privacy policy: two versions (the second in force for a week), and consents with their
sources: the demo owner's at registration and at sign-in, walk-in customers' on paper, on a
recorded call and in person; every other owner accepted both (idempotent)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import exists, func, insert, literal, select

from portal.demo.people import DEMO_LOGINS
from portal.extensions import db
from portal.models import ConsentRecord, PolicyVersion, User
from portal.models.accounts import ADVISOR, OWNER
from portal.models.base import UTCDateTime
from portal.models.consents import CONSENT_METHODS, POLICY
from portal.services import consent, policy
from portal.timeutil import now

HERE = Path(__file__).parent


def _text(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8").strip()


def _policies() -> tuple[PolicyVersion, PolicyVersion]:
    if not db.session.scalar(select(exists().where(PolicyVersion.id.is_not(None)))):
        t = now()
        policy.publish_policy(
            None,
            text_zh=_text("policy_v1.zh.md"),
            text_en=_text("policy_v1.en.md"),
            effective_at=t - timedelta(days=400),
        )
        policy.publish_policy(
            None,
            text_zh=_text("policy_v1.zh.md") + "\n\n" + _text("policy_v2_added.zh.md"),
            text_en=_text("policy_v1.en.md") + "\n\n" + _text("policy_v2_added.en.md"),
            effective_at=t - timedelta(days=7),
            summary_zh="新增第六、七条：我们使用的第三方服务商，以及如何联系我们。",
            summary_en="New sections 6 and 7: the service providers we use, and how to reach us.",
        )
    first, second = db.session.scalars(
        select(PolicyVersion).order_by(PolicyVersion.version).limit(2)
    ).all()
    return first, second


def load_privacy_demo() -> dict[str, int]:
    """Publish the two demo policy versions and record the demo consents (idempotent)."""
    first, second = _policies()
    demo_owner = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[OWNER]))
    done = 0
    if demo_owner is not None and not policy.has_accepted(demo_owner, first):
        policy.accept_policy(demo_owner, first, source="registration")
        for channel in ("sms", "wechat"):
            consent.set_consent(demo_owner.id, channel, True, "registration")
        policy.accept_policy(demo_owner, second, source="policy_prompt")
        done += 1
    advisor = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[ADVISOR]))
    walk_ins = (
        []
        if advisor is None
        else db.session.scalars(
            select(User)
            .where(
                User.role == OWNER,
                User.advisor_id == advisor.id,
                User.id != (demo_owner.id if demo_owner else 0),
                ~exists().where(ConsentRecord.user_id == User.id),
            )
            .order_by(User.id)
            .limit(3)
        ).all()
    )
    for customer, method in zip(walk_ins, CONSENT_METHODS, strict=False):
        policy.accept_policy(customer, second, source="staff", method=method, by=advisor)
        channels = {"sms"} if method == "phone_recording" else {"sms", "email"}
        for channel in channels:
            consent.set_consent(customer.id, channel, True, "staff", method=method, by=advisor)
        done += 1
    done += _everyone_else_accepted(first, second)
    db.session.flush()
    return {"policies": 2, "owners_with_consents": done}


def _everyone_else_accepted(first: PolicyVersion, second: PolicyVersion) -> int:
    """The other demo owners agreed to version 1 when they registered and to version 2 at
    their next sign-in (one INSERT .. SELECT per version), so the journeys see no prompt.

    Counted, not read from rowcount: drivers do not all report it for INSERT .. SELECT."""
    added = 0
    for row, source, days in ((first, "registration", 300), (second, "policy_prompt", 5)):
        stmt = insert(ConsentRecord).from_select(
            ["user_id", "kind", "granted", "policy_id", "source", "at"],
            select(
                User.id,
                literal(POLICY),
                literal(True),
                literal(row.id),
                literal(source),
                literal(now() - timedelta(days=days), UTCDateTime()),
            ).where(
                User.role == OWNER,
                ~exists().where(
                    ConsentRecord.user_id == User.id,
                    ConsentRecord.kind == POLICY,
                    ConsentRecord.policy_id == row.id,
                ),
            ),
        )
        before = db.session.scalar(select(func.count(ConsentRecord.id)))
        db.session.execute(stmt)
        added += db.session.scalar(select(func.count(ConsentRecord.id))) - before
    return added
