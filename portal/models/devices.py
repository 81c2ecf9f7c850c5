"""Staff sign-in records: device cookies, recent wrong passwords, TOTP and recovery codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime, utcnow


class StaffDevice(Base):
    """A browser where a staff member has signed in before; its cookie carries a random nonce,
    stored here only as a hash. Wrong passwords from it count against it alone."""

    __tablename__ = "staff_devices"
    __table_args__ = (CheckConstraint("failed_logins >= 0", name="failed_logins_nonnegative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the nonce
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    failed_logins: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecentLoginFailure(Base):
    """A keyed hash (HMAC with the app secret, never the password) of a recent wrong password,
    per account and source (a device, or 0 for unknown browsers): a repeat does not count."""

    __tablename__ = "recent_login_failures"
    __table_args__ = (UniqueConstraint("user_id", "source", "password_mac"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    source: Mapped[int] = mapped_column(default=0)  # a StaffDevice id; 0: unknown browsers
    password_mac: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffTotp(Base):
    """A staff member's TOTP second factor (RFC 6238); the secret never leaves the server
    after enrolment, and the last accepted time step stops a code being used twice."""

    __tablename__ = "staff_totp"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(64))  # base32
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_step: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    # Wrong codes in a row, counted here (not in the cookie, which a guesser could replay).
    failed_codes: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TotpRecoveryCode(Base):
    """A single-use recovery code for a lost authenticator, stored as a SHA-256 hash."""

    __tablename__ = "totp_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
