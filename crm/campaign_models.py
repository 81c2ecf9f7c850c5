"""Marketing tables: saved segments, campaigns with their messages, audience and sends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models import Store, User
from portal.models.base import Base, UTCDateTime, in_values, utcnow
from shop.coupon_models import CouponOffer

DRAFT, SENDING, PAUSED, DONE = "draft", "sending", "paused", "done"
CAMPAIGN_STATUSES = (DRAFT, SENDING, PAUSED, DONE)
# A send waits (pending), is in the outbox (queued), was written in-app (delivered), or was
# dropped before it left because consent was withdrawn meanwhile (skipped).
PENDING, QUEUED, DELIVERED, SKIPPED = "pending", "queued", "delivered", "skipped"
SEND_STATUSES = (PENDING, QUEUED, DELIVERED, SKIPPED)
# What a recipient did that we heard of: left details on the offer page, replied by SMS, booked
# after a click, or replied TD (withdrew marketing consent on SMS).
DETAILS, REPLY, BOOKING, UNSUBSCRIBE = "details", "reply", "booking", "unsubscribe"
RESPONSE_KINDS = (DETAILS, REPLY, BOOKING, UNSUBSCRIBE)
# An A/B test: a stable random share of the reached audience (variant_b_pct) gets variant B.
VARIANT_A, VARIANT_B = "a", "b"
VARIANTS = (VARIANT_A, VARIANT_B)
MAINTENANCE_DUE = "maintenance_due"
POLICY_RENEWAL, RETURN_VISIT, BIRTHDAY = "policy_renewal", "return_visit", "birthday"
# A recall notice (Campaign.builtin): a safety message to the owners of a VIN list, sent on
# every channel they can be reached on whatever their marketing consent, with no holdout.
RECALL = "recall"
BUILTINS = (MAINTENANCE_DUE, POLICY_RENEWAL, RETURN_VISIT, BIRTHDAY)


class Segment(Base):
    """A saved rule over customers (a JSON tree of all/any/not), evaluated in one query."""

    __tablename__ = "crm_segments"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    rule: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    store: Mapped[Store] = relationship()
    campaigns: Mapped[list[Campaign]] = relationship(back_populates="segment")

    def __str__(self) -> str:
        return self.name


class Campaign(Base):
    """Messages to a segment's snapshot, with a holdout that gets nothing and a cost."""

    __tablename__ = "crm_campaigns"
    __table_args__ = (
        CheckConstraint(in_values("status", CAMPAIGN_STATUSES), name="status_known"),
        CheckConstraint("holdout_pct >= 0 AND holdout_pct <= 50", name="holdout_range"),
        CheckConstraint("cost_fen >= 0", name="cost_nonnegative"),
        CheckConstraint("window_days >= 1 AND window_days <= 180", name="window_range"),
        CheckConstraint("variant_b_pct >= 0 AND variant_b_pct <= 90", name="variant_b_range"),
        Index("ix_crm_campaigns_status", "status"),
        Index("ix_crm_campaigns_store_created", "store_id", "created_at"),
        Index("ix_crm_campaigns_status_send_at", "status", "send_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("crm_segments.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default=DRAFT)
    builtin: Mapped[str | None] = mapped_column(String(24))
    holdout_pct: Mapped[int] = mapped_column(default=10)
    # The share of the reached audience that gets variant B's texts (0: no A/B test).
    variant_b_pct: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    cost_fen: Mapped[int] = mapped_column(default=0)  # what the manager says it cost
    window_days: Mapped[int] = mapped_column(default=14)  # outcomes counted this long after
    audience: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    holdout: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the snapshot's time
    # A draft with send_at is scheduled: the worker starts it once this time has come.
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The coupon each recipient gets (crm.campaign_offers), if the campaign carries one.
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("shop_coupon_offers.id"), unique=True)

    store: Mapped[Store] = relationship()
    segment: Mapped[Segment] = relationship(back_populates="campaigns")
    offer: Mapped[CouponOffer | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    messages: Mapped[list[CampaignMessage]] = relationship(
        back_populates="campaign", order_by="CampaignMessage.id", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name


class CampaignMessage(Base):
    """A campaign's text on one channel and variant, in Chinese and English, and its cost per
    message. Every channel has variant A; an A/B test adds variant B on some channels."""

    __tablename__ = "crm_campaign_messages"
    __table_args__ = (
        UniqueConstraint("campaign_id", "channel", "variant"),
        CheckConstraint(
            in_values("channel", ("inapp", "email", "sms", "wechat")), name="channel_known"
        ),
        CheckConstraint(in_values("variant", VARIANTS), name="variant_known"),
        CheckConstraint("unit_cost_fen >= 0", name="unit_cost_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("crm_campaigns.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    variant: Mapped[str] = mapped_column(String(1), default=VARIANT_A, server_default="a")
    subject_zh: Mapped[str] = mapped_column(String(120), default="")
    body_zh: Mapped[str] = mapped_column(Text, default="")
    subject_en: Mapped[str] = mapped_column(String(120), default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    unit_cost_fen: Mapped[int] = mapped_column(default=0)

    campaign: Mapped[Campaign] = relationship(back_populates="messages")


class CampaignMember(Base):
    """One customer of a campaign's audience snapshot; the holdout gets nothing, everyone
    else variant A or B (no variant for the holdout)."""

    __tablename__ = "crm_campaign_members"
    __table_args__ = (
        Index("ix_crm_campaign_members_customer", "customer_id"),
        CheckConstraint(in_values("variant", VARIANTS), name="variant_known"),
    )

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("crm_campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    holdout: Mapped[bool] = mapped_column(default=False)
    variant: Mapped[str | None] = mapped_column(String(1))


class CampaignSend(Base):
    """One marketing message to one customer on one channel: the unit the monthly cap counts."""

    __tablename__ = "crm_campaign_sends"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id", "channel"),
        CheckConstraint(in_values("status", SEND_STATUSES), name="status_known"),
        Index("ix_crm_campaign_sends_customer_created", "customer_id", "created_at"),
        Index("ix_crm_campaign_sends_campaign_status", "campaign_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("crm_campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    outbox_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first time the recipient opened the message's tracked link (a replay changes nothing).
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CampaignResponse(Base):
    """One answer of a recipient to a campaign message; most become a lead (lead_id).

    An inbound SMS carries the provider's message key, unique, so a provider posting the same
    reply twice records it once. A reply from a known number that no campaign sent to in the
    last weeks is kept without a campaign (a TD still withdraws consent)."""

    __tablename__ = "crm_campaign_responses"
    __table_args__ = (
        CheckConstraint(in_values("kind", RESPONSE_KINDS), name="kind_known"),
        UniqueConstraint("inbound_key"),
        Index("ix_crm_campaign_responses_campaign_kind", "campaign_id", "kind"),
        Index("ix_crm_campaign_responses_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_campaigns.id", ondelete="CASCADE")
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    send_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_campaign_sends.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text, default="")
    inbound_key: Mapped[str | None] = mapped_column(String(80))  # provider:message id
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("crm_leads.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign | None] = relationship()
    customer: Mapped[User] = relationship()


class MarketingSettings(Base):
    """The group's marketing rules (one row): the monthly cap. Snapshots lock this row, so
    two campaigns snapshotting at once cannot both take a customer's last place under it."""

    __tablename__ = "crm_marketing_settings"
    __table_args__ = (CheckConstraint("cap_per_month >= 0", name="cap_nonnegative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cap_per_month: Mapped[int] = mapped_column(default=4)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BuiltinCampaign(Base):
    """A ready-made campaign a store switched on; the worker starts it again every day."""

    __tablename__ = "crm_builtin_campaigns"
    __table_args__ = (CheckConstraint(in_values("key", BUILTINS), name="key_known"),)

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(24), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_run_on: Mapped[str | None] = mapped_column(String(10))  # the store date, ISO


class RecallList(Base):
    """A manufacturer's recall: the VINs it affects, uploaded by a store's manager."""

    __tablename__ = "crm_recall_lists"
    __table_args__ = (
        UniqueConstraint("store_id", "name"),
        CheckConstraint("vins >= 1", name="vins_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    vins: Mapped[int] = mapped_column()  # how many VINs the list holds
    segment_id: Mapped[int] = mapped_column(ForeignKey("crm_segments.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When its notice last went out: a second tap within a day is refused (conditional UPDATE).
    notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    store: Mapped[Store] = relationship()
    segment: Mapped[Segment] = relationship()


class RecallVin(Base):
    """One VIN of a recall list (canonical form, checked)."""

    __tablename__ = "crm_recall_vins"
    __table_args__ = (Index("ix_crm_recall_vins_vin", "vin"),)

    list_id: Mapped[int] = mapped_column(
        ForeignKey("crm_recall_lists.id", ondelete="CASCADE"), primary_key=True
    )
    vin: Mapped[str] = mapped_column(String(17), primary_key=True)
