"""CRM tables of what staff know about a customer: the profile, tags, tiers and relations."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models import TIMEFRAMES
from portal.models import User
from portal.models.base import Base, UTCDateTime, in_values, utcnow

HOUSEHOLD, COMPANY, REFERRAL = "household", "company", "referral"
RELATION_KINDS = (HOUSEHOLD, COMPANY, REFERRAL)


class CustomerTier(Base):
    """A level of customer a store's managers define (VIP, key account...), shown in order."""

    __tablename__ = "crm_customer_tiers"
    __table_args__ = (
        UniqueConstraint("store_id", "name_zh", name="uq_crm_customer_tiers_store_name_zh"),
        CheckConstraint("position BETWEEN 1 AND 99", name="position_range"),
        CheckConstraint("name_zh <> ''", name="name_present"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(30))
    name_en: Mapped[str] = mapped_column(String(30), default="")
    position: Mapped[int] = mapped_column(default=1)

    def label(self, locale: str) -> str:
        """Return the name in the reader's language (Chinese when no English is given)."""
        return self.name_en if locale.startswith("en") and self.name_en else self.name_zh


class CustomerProfile(Base):
    """The structured part of the customer card: what they want, can spend, and drive now."""

    __tablename__ = "crm_customer_profiles"
    __table_args__ = (
        CheckConstraint("budget_fen IS NULL OR budget_fen >= 0", name="budget_nonnegative"),
        CheckConstraint(
            f"timeframe IS NULL OR {in_values('timeframe', TIMEFRAMES)}", name="timeframe_known"
        ),
    )

    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    model_interest: Mapped[str] = mapped_column(String(80), default="")
    budget_fen: Mapped[int | None] = mapped_column()
    timeframe: Mapped[str | None] = mapped_column(String(8))
    trade_in: Mapped[str] = mapped_column(String(120), default="")
    driving: Mapped[str] = mapped_column(String(300), default="")
    competitors: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    birthday: Mapped[date | None] = mapped_column(Date)  # the birthday campaign's date
    tier_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_customer_tiers.id", ondelete="SET NULL"), index=True
    )
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tier: Mapped[CustomerTier | None] = relationship()


class Tag(Base):
    """A store's free tag, kept normalised (trimmed, one space, lower case) so it is found once."""

    __tablename__ = "crm_tags"
    __table_args__ = (UniqueConstraint("store_id", "name", name="uq_crm_tags_store_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    name: Mapped[str] = mapped_column(String(20))


class CustomerTag(Base):
    """A tag on a customer: the pair is the key, so a tag is on a customer once."""

    __tablename__ = "crm_customer_tags"
    __table_args__ = (Index("ix_crm_customer_tags_tag_id", "tag_id"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("crm_tags.id", ondelete="CASCADE"), primary_key=True
    )

    tag: Mapped[Tag] = relationship()


class CustomerRelation(Base):
    """Two customers linked: one household, a company and its driver, or a referral.

    The pair is stored lower id first (``low_id < high_id``), so the database itself refuses a
    customer linked to themselves and a second link between the same two, in either order.
    ``low_first`` says which way a directed link points: the company or the referrer is the low
    side when it is true, the high side when it is false."""

    __tablename__ = "crm_customer_relations"
    __table_args__ = (
        CheckConstraint("low_id < high_id", name="ordered_pair"),
        UniqueConstraint("low_id", "high_id", name="uq_crm_customer_relations_pair"),
        CheckConstraint(in_values("kind", RELATION_KINDS), name="kind_known"),
        Index("ix_crm_customer_relations_high_id", "high_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    low_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    high_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(12))
    low_first: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    low: Mapped[User] = relationship(foreign_keys=[low_id])
    high: Mapped[User] = relationship(foreign_keys=[high_id])

    def source_id(self) -> int:
        """Return the referrer's or company's id (for a household: the lower id)."""
        return self.low_id if self.low_first else self.high_id
