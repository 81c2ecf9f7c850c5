"""The privacy policy's versions, and every consent an owner gave or withdrew (PIPL)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, in_values, utcnow

if TYPE_CHECKING:
    from portal.models.accounts import User

POLICY, MARKETING = "policy", "marketing"
# Where a consent came from; a staff entry also says how the customer's consent was obtained.
CONSENT_SOURCES = ("registration", "settings", "unsubscribe", "staff", "policy_prompt")
CONSENT_METHODS = ("paper_form", "phone_recording", "in_person")


class PolicyVersion(Base):
    """One published version of the privacy policy, in both languages; in force from its date."""

    __tablename__ = "privacy_policies"
    __table_args__ = (CheckConstraint("version > 0", name="version_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # UNIQUE: two publishers at once cannot both make "version 3".
    version: Mapped[int] = mapped_column(unique=True)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    summary_zh: Mapped[str] = mapped_column(String(300), default="")
    summary_en: Mapped[str] = mapped_column(String(300), default="")
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    consents: Mapped[list[ConsentRecord]] = relationship(back_populates="policy")


class ConsentRecord(Base):
    """One consent given or withdrawn: to the policy, or to marketing on one channel.

    Rows are only ever added; the owner's current marketing choice is MarketingConsent."""

    __tablename__ = "consent_records"
    __table_args__ = (
        CheckConstraint(in_values("kind", (POLICY, MARKETING)), name="kind_known"),
        CheckConstraint(
            "(kind = 'policy' AND channel IS NULL) OR "
            "(kind = 'marketing' AND channel IN ('inapp', 'email', 'sms', 'wechat'))",
            name="channel_matches_kind",
        ),
        CheckConstraint(in_values("source", CONSENT_SOURCES), name="source_known"),
        # Staff entries say how consent was obtained; nothing else claims a method.
        CheckConstraint(
            "(source = 'staff' AND method IN ('paper_form', 'phone_recording', 'in_person'))"
            " OR (source <> 'staff' AND method IS NULL)",
            name="method_with_staff",
        ),
        Index("ix_consent_records_user_at", "user_id", "at"),
        # An owner accepts one policy version once, however many tabs submit at once.
        Index(
            "uq_consent_records_policy_accepted",
            "user_id",
            "policy_id",
            unique=True,
            sqlite_where=text("kind = 'policy' AND granted"),
            postgresql_where=text("kind = 'policy' AND granted"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(8))
    granted: Mapped[bool]
    # The policy in force when the consent was given (None before any was published).
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("privacy_policies.id"))
    source: Mapped[str] = mapped_column(String(16))
    method: Mapped[str | None] = mapped_column(String(16))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    policy: Mapped[PolicyVersion | None] = relationship(back_populates="consents")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
