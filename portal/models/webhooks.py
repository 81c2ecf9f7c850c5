"""Outbound webhooks: a store's endpoints, the events they were sent and each delivery try."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.encrypted import EncryptedText


class WebhookEndpoint(Base):
    """A store's receiving URL, its signing secret (sealed at rest) and the events it wants."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("url LIKE 'http://%' OR url LIKE 'https://%'", name="url_http"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(120), default="")
    # The signing secret, encrypted at rest under M4S_DATA_KEYS (rotated with the other columns).
    secret_sealed: Mapped[str] = mapped_column(EncryptedText("webhook_endpoints.secret_sealed"))
    secret_hint: Mapped[str] = mapped_column(String(16))  # the first characters, to tell apart
    events: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="endpoint", passive_deletes=True
    )

    def __str__(self) -> str:
        return self.url


class WebhookEvent(Base):
    """One business event as receivers see it; replays resend it with the same id."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_store_created", "store_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # evt_<32 hex>
    type: Mapped[str] = mapped_column(String(40))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    deliveries: Mapped[list[WebhookDelivery]] = relationship(back_populates="event")


class WebhookDelivery(Base):
    """One try at delivering an event to an endpoint: its answer, time taken or error.

    ``outbox_id`` and ``attempt`` (the outbox claim's fence) are unique together: one claim
    of one outbox message logs one try, however many workers run."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("outbox_id", "attempt"),
        Index("ix_webhook_deliveries_endpoint_log", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id"), index=True)
    outbox_id: Mapped[str] = mapped_column(String(32))
    attempt: Mapped[int] = mapped_column(default=1)
    replay: Mapped[bool] = mapped_column(default=False)
    ok: Mapped[bool] = mapped_column(default=False)
    status_code: Mapped[int | None] = mapped_column()
    latency_ms: Mapped[int | None] = mapped_column()
    error: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    endpoint: Mapped[WebhookEndpoint] = relationship(back_populates="deliveries")
    event: Mapped[WebhookEvent] = relationship(back_populates="deliveries")
