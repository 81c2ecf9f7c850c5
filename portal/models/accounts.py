"""Accounts: users of every role, advisor profiles, password history, resets and unlocks."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from portal.models.media import Image
    from portal.models.stores import Brand, Region, Store
    from portal.models.vehicles import Vehicle

OWNER, ADVISOR, MANAGER, ADMIN = "owner", "advisor", "manager", "admin"
AGENT = "agent"  # a call-centre agent of one store (inbound and outbound calls)
# The group's view across stores: headquarters compares every store, a regional manager the
# stores of their region; both see figures only, never a customer's record (portal/access.py).
HQ, REGION = "hq", "region"
# A car maker's officer (厂家, the brand's DMS officer): the figures of the stores that sell
# their brand, and of their brand's cars where a figure is per car; never a person's record.
MANUFACTURER = "manufacturer"
# A workshop technician of one store: sees only the jobs assigned to them (portal/access.py).
TECHNICIAN = "technician"
ROLES = (OWNER, ADVISOR, MANAGER, ADMIN, AGENT, HQ, REGION, TECHNICIAN, MANUFACTURER)
STAFF_ROLES = (ADVISOR, MANAGER, ADMIN, AGENT, HQ, REGION, TECHNICIAN, MANUFACTURER)
GROUP_ROLES = (HQ, REGION, MANUFACTURER)  # back-office accounts without a store


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('owner', 'advisor', 'manager', 'admin', 'agent', 'hq', 'region', "
            "'technician', 'manufacturer')",
            name="role_known",
        ),
        CheckConstraint(
            "role IN ('owner', 'admin', 'hq', 'region', 'manufacturer') OR store_id IS NOT NULL",
            name="staff_has_store",
        ),
        # The group's roles see no store's records: they have no store; a regional manager
        # always has their region (and only they have one).
        CheckConstraint(
            "role NOT IN ('hq', 'region', 'manufacturer') OR store_id IS NULL",
            name="group_role_storeless",
        ),
        CheckConstraint("(role = 'region') = (region_id IS NOT NULL)", name="region_of_region"),
        # A manufacturer's officer always has their one brand, and only they have one.
        CheckConstraint(
            "(role = 'manufacturer') = (brand_id IS NOT NULL)", name="brand_of_manufacturer"
        ),
        CheckConstraint("phone IS NOT NULL OR email IS NOT NULL", name="has_login"),
        CheckConstraint("failed_logins >= 0", name="failed_logins_nonnegative"),
        # Back-office lists (admin/listing.py): owners of a store, or all owners, by name;
        # names found by trigram and phones by prefix (both served by these on PostgreSQL).
        # Covers the customer search by name store by store (crm.customer_search.find_customers) as
        # an index-only scan, and lists of a store's people by name.
        Index("ix_users_store_name", "store_id", "name", "role", "id"),
        Index("ix_users_role_name", "role", "name"),
        # A store's active customers from the index alone: where every segment starts.
        Index("ix_users_store_role_active", "store_id", "role", "is_active", "id"),
        # What a car's (owner_id, store_id) refers to: the car follows its owner's store.
        Index("uq_users_id_store", "id", "store_id", unique=True),
        Index(
            "ix_users_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
        Index("ix_users_phone_prefix", "phone", postgresql_ops={"phone": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"), index=True)
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Who brought this owner in (an advisor or another owner), from a referral code.
    referred_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    session_version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    locale: Mapped[str | None] = mapped_column(String(10))
    # Secret of the owner's private calendar feed; rotating it kills the old URL.
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Maintenance reminder channels the owner wants.
    remind_inapp: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    remind_email: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the owner asked to delete the account (PIPL); erased after the grace period.
    erasure_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    store: Mapped[Store | None] = relationship(back_populates="staff", foreign_keys=[store_id])
    region: Mapped[Region | None] = relationship()
    brand: Mapped[Brand | None] = relationship()
    advisor: Mapped[User | None] = relationship(
        back_populates="customers", remote_side=[id], foreign_keys=[advisor_id]
    )
    customers: Mapped[list[User]] = relationship(
        back_populates="advisor", foreign_keys=[advisor_id]
    )
    referred_by: Mapped[User | None] = relationship(
        back_populates="referrals", remote_side=[id], foreign_keys=[referred_by_id]
    )
    referrals: Mapped[list[User]] = relationship(
        back_populates="referred_by", foreign_keys=[referred_by_id]
    )
    profile: Mapped[AdvisorProfile | None] = relationship(back_populates="user")
    vehicles: Mapped[list[Vehicle]] = relationship(
        back_populates="owner", order_by="Vehicle.id", foreign_keys="Vehicle.owner_id"
    )

    # Flask-Login protocol. The id carries the session version so that a password change,
    # an unlock or a deactivation ends every other session of the account.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def login(self) -> str:
        return self.phone or self.email or ""

    def __str__(self) -> str:
        return f"{self.name} ({self.login})"


class AdvisorProfile(Base):
    __tablename__ = "advisor_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str] = mapped_column(String(20), default="")
    department: Mapped[str] = mapped_column(String(80), default="")
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("images.id"))

    user: Mapped[User] = relationship(back_populates="profile")
    photo: Mapped[Image | None] = relationship()

    def __str__(self) -> str:
        return self.display_name


class PasswordHistory(Base):
    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PasswordResetToken(Base):
    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UnlockRequest(Base):
    __tablename__ = "unlock_requests"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'applied', 'broken_glass')", name="status_known"),
        # At most one open request per locked account, enforced by the database.
        Index(
            "uq_unlock_requests_open_user",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    store: Mapped[Store | None] = relationship()
    approvals: Mapped[list[UnlockApproval]] = relationship(
        back_populates="request", order_by="UnlockApproval.created_at"
    )


class UnlockApproval(Base):
    __tablename__ = "unlock_approvals"
    __table_args__ = (UniqueConstraint("request_id", "approver_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("unlock_requests.id"))
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[UnlockRequest] = relationship(back_populates="approvals")
    approver: Mapped[User] = relationship()


class LoginSession(Base):
    """A server-side record of a login; the cookie carries its random id, rotated at login."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # to the minute
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
