"""Roadside rescue: a request with its live status, and its timeline."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.encrypted import EncryptedFloat

if TYPE_CHECKING:
    from portal.models.accounts import User
    from portal.models.stores import Store
    from portal.models.vehicles import Vehicle

RECEIVED, CLAIMED, DISPATCHED, ON_SITE = "received", "claimed", "dispatched", "on_site"
RESOLVED, CANCELLED = "resolved", "cancelled"
STATUSES = (RECEIVED, CLAIMED, DISPATCHED, ON_SITE, RESOLVED, CANCELLED)
OPEN = (RECEIVED, CLAIMED, DISPATCHED, ON_SITE)
TERMINAL = (RESOLVED, CANCELLED)
PROBLEMS = ("breakdown", "flat_tyre", "battery", "accident", "locked_out", "fuel", "other")


class Rescue(Base):
    """One roadside rescue request of an owner, handled by an advisor of the owner's store."""

    __tablename__ = "rescues"
    __table_args__ = (
        CheckConstraint(
            "status IN ('received', 'claimed', 'dispatched', 'on_site', 'resolved', 'cancelled')",
            name="status_known",
        ),
        CheckConstraint(
            "problem IN ('breakdown', 'flat_tyre', 'battery', 'accident', 'locked_out', "
            "'fuel', 'other')",
            name="problem_known",
        ),
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="coordinates_paired"),
        # Help must know where to go: coordinates, or else a typed address.
        CheckConstraint("latitude IS NOT NULL OR address <> ''", name="has_location"),
        CheckConstraint(
            "status = 'received' OR advisor_id IS NOT NULL OR status = 'cancelled'",
            name="handled_by_advisor",
        ),
        # A double tap or a retried POST carries the same key: one rescue, not two.
        UniqueConstraint("owner_id", "idempotency_key"),
        Index("ix_rescues_store_status_created", "store_id", "status", "created_at"),
        # The coarsening job reads only the rescues whose precise location is still kept.
        Index(
            "ix_rescues_precise_location",
            "created_at",
            sqlite_where=text("latitude IS NOT NULL AND location_coarsened_at IS NULL"),
            postgresql_where=text("latitude IS NOT NULL AND location_coarsened_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    status: Mapped[str] = mapped_column(String(16), default=RECEIVED)
    problem: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    callback_phone: Mapped[str] = mapped_column(String(20))
    # Precise locations are sensitive personal information (PIPL): encrypted at rest, so the
    # range checks live in the service; rounded to ~1 km once the retention period is over.
    latitude: Mapped[float | None] = mapped_column(EncryptedFloat("rescues.latitude"))
    longitude: Mapped[float | None] = mapped_column(EncryptedFloat("rescues.longitude"))
    location_coarsened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accuracy_m: Mapped[int | None] = mapped_column()
    address: Mapped[str] = mapped_column(String(255), default="")
    idempotency_key: Mapped[str] = mapped_column(String(64))
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    eta_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_site_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    # Set once by the escalation job, with a conditional UPDATE: the managers hear it once.
    unclaimed_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unresolved_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    advisor: Mapped[User | None] = relationship(foreign_keys=[advisor_id])
    vehicle: Mapped[Vehicle] = relationship()
    store: Mapped[Store] = relationship()
    events: Mapped[list[RescueEvent]] = relationship(
        back_populates="rescue", order_by="RescueEvent.id", cascade="all, delete-orphan"
    )

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def has_coordinates(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def __str__(self) -> str:
        return f"#{self.id}"


class RescueEvent(Base):
    """One step of a rescue's timeline: who changed it, when, from what to what, and why."""

    __tablename__ = "rescue_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    rescue_id: Mapped[int] = mapped_column(ForeignKey("rescues.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(24))  # a status, or "eta", "escalated", ...
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")

    rescue: Mapped[Rescue] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
