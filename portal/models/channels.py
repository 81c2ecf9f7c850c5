"""Channels: owners' choices per kind of message, WeChat bindings, SMS sign-in codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime, utcnow

# The kinds of message an owner chooses channels for, in the order the form shows them.
REMINDER, BOOKING, RESCUE, MARKETING = "reminder", "booking", "rescue", "marketing"
PREFERENCE_KINDS = (REMINDER, BOOKING, RESCUE, MARKETING)
# Channels an owner can switch per kind (the in-app message centre is always on).
PREFERENCE_CHANNELS = ("email", "sms", "wechat")


class ChannelPreference(Base):
    """Which channels an owner wants for one kind of message; no row means the defaults."""

    __tablename__ = "channel_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", "kind"),
        CheckConstraint(
            "kind IN ('reminder', 'booking', 'rescue', 'marketing')", name="kind_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    email: Mapped[bool] = mapped_column(default=True)
    sms: Mapped[bool] = mapped_column(default=True)
    wechat: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WeChatBinding(Base):
    """An owner's openid with the store group's Official Account."""

    __tablename__ = "wechat_bindings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsLoginCode(Base):
    """A one-time sign-in code sent by SMS: only its keyed hash is kept."""

    __tablename__ = "sms_login_codes"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
        Index("ix_sms_login_codes_phone_created", "phone", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    # None for a number with no owner account: the row exists all the same (same work,
    # same answer), but no code is sent and none can match.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class ChannelToken(Base):
    """A provider's access token shared by every worker (WeChat's lasts two hours)."""

    __tablename__ = "channel_tokens"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(1024))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Channels marketing may use; each needs the owner's own consent, given and withdrawn apart.
MARKETING_CHANNELS = ("inapp", "email", "sms", "wechat")


class MarketingConsent(Base):
    """An owner's consent to marketing on one channel: when given, and when withdrawn."""

    __tablename__ = "marketing_consents"
    __table_args__ = (
        UniqueConstraint("user_id", "channel"),
        CheckConstraint("channel IN ('inapp', 'email', 'sms', 'wechat')", name="channel_known"),
        # The segment and snapshot queries ask "consented on this channel now".
        Index("ix_marketing_consents_channel_user", "channel", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16), default="settings")  # settings | unsubscribe
