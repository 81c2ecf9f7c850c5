"""API tables: integration tokens (stored hashed) and the answers kept per Idempotency-Key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models import Store, User
from portal.models.base import Base, UTCDateTime, utcnow

# What a token may do: read or write, per resource. Bookings, leads, customers (contact
# details, vehicles' mileage) and the shop's stock can be written.
RESOURCES = ("customers", "service_records", "bookings", "shop", "cameras", "leads", "orders")
WRITABLE = ("bookings", "leads", "customers", "shop")
SCOPES = tuple(f"{r}:read" for r in RESOURCES) + tuple(f"{r}:write" for r in WRITABLE)


class ApiToken(Base):
    """An integration's bearer token: its scopes and store limit; only a hash of the secret."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    # The first characters of the secret, to tell tokens apart in lists; not enough to use it.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the secret
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    # None: every store (only an admin makes such a token); else this store's records only.
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    # Whole phone numbers, as a store manager sees them; otherwise masked as for a colleague.
    full_phones: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    store: Mapped[Store | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    idempotency_keys: Mapped[list[IdempotencyKey]] = relationship(back_populates="token")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotencyKey(Base):
    """A POST's Idempotency-Key: the request's hash and the answer given, replayed on retry."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and body
    status: Mapped[int] = mapped_column()
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    token: Mapped[ApiToken] = relationship(back_populates="idempotency_keys")
