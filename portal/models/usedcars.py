"""Used cars: sell requests, their photos, the vetting trail, plausibility flags and leads."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, in_values, utcnow

if TYPE_CHECKING:
    from portal.models.accounts import User
    from portal.models.media import Image
    from portal.models.stores import Store
    from portal.models.vehicles import Vehicle

SUBMITTED, UNDER_REVIEW, CHANGES_REQUESTED = "submitted", "under_review", "changes_requested"
REJECTED, APPROVED, LISTED, SOLD, WITHDRAWN = "rejected", "approved", "listed", "sold", "withdrawn"
STATUSES = (
    SUBMITTED,
    UNDER_REVIEW,
    CHANGES_REQUESTED,
    REJECTED,
    APPROVED,
    LISTED,
    SOLD,
    WITHDRAWN,
)
ACTIVE = (SUBMITTED, UNDER_REVIEW, CHANGES_REQUESTED, APPROVED, LISTED)
GRADES = ("A", "B", "C", "D")
FLAG_KINDS = ("vin_active", "vin_other_owner", "mileage_low")
MAX_PHOTOS = 12


class UsedCarRequest(Base):
    __tablename__ = "used_car_requests"
    __table_args__ = (
        CheckConstraint(in_values("status", STATUSES), name="status_known"),
        CheckConstraint("mileage_km >= 0", name="mileage_nonnegative"),
        CheckConstraint("asking_price_fen > 0", name="price_positive"),
        CheckConstraint("length(vin) = 17", name="vin_length"),
        CheckConstraint("grade IS NULL OR grade IN ('A', 'B', 'C', 'D')", name="grade_known"),
        CheckConstraint(
            "valuation_low_fen IS NULL OR (valuation_low_fen > 0 "
            "AND valuation_high_fen >= valuation_low_fen)",
            name="valuation_range",
        ),
        # One listing per VIN at a time, whatever the application does.
        Index(
            "uq_used_car_requests_listed_vin",
            "vin",
            unique=True,
            sqlite_where=text("status = 'listed'"),
            postgresql_where=text("status = 'listed'"),
        ),
        Index("ix_used_car_requests_store_status", "store_id", "status"),
        Index("ix_used_car_requests_brand_store", "brand_id", "store_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    vin: Mapped[str] = mapped_column(String(17), index=True)
    brand: Mapped[str] = mapped_column(String(40))
    # The car's make when it is a brand the group knows (portal.services.brands): a
    # manufacturer's figures count it; None otherwise.
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"))
    series: Mapped[str] = mapped_column(String(60))
    model_year: Mapped[int] = mapped_column()
    mileage_km: Mapped[int] = mapped_column()
    first_registered_on: Mapped[date] = mapped_column(Date)
    asking_price_fen: Mapped[int] = mapped_column()
    condition: Mapped[str] = mapped_column(Text, default="")
    accident_history: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=SUBMITTED)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The expert's report, filled at approval.
    grade: Mapped[str | None] = mapped_column(String(1))
    checked_items: Mapped[list | None] = mapped_column(JSON)
    valuation_low_fen: Mapped[int | None] = mapped_column()
    valuation_high_fen: Mapped[int | None] = mapped_column()
    report_notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    listed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    expert: Mapped[User | None] = relationship(foreign_keys=[expert_id])
    store: Mapped[Store] = relationship()
    vehicle: Mapped[Vehicle | None] = relationship()
    photos: Mapped[list[UsedCarPhoto]] = relationship(
        back_populates="request", order_by="UsedCarPhoto.position", cascade="all, delete-orphan"
    )
    transitions: Mapped[list[UsedCarTransition]] = relationship(
        back_populates="request", order_by="UsedCarTransition.id"
    )
    flags: Mapped[list[UsedCarFlag]] = relationship(
        back_populates="request", order_by="UsedCarFlag.id"
    )
    events: Mapped[list[UsedCarEvent]] = relationship(
        back_populates="request", order_by="UsedCarEvent.id.desc()"
    )
    leads: Mapped[list[UsedCarLead]] = relationship(
        back_populates="request", order_by="UsedCarLead.id.desc()"
    )

    @property
    def label(self) -> str:
        return f"{self.brand} {self.series} {self.model_year}"

    @property
    def open_flags(self) -> list[UsedCarFlag]:
        return [f for f in self.flags if f.resolved_at is None]

    def __str__(self) -> str:
        return f"#{self.id} {self.label}"


class UsedCarPhoto(Base):
    __tablename__ = "used_car_photos"
    __table_args__ = (
        UniqueConstraint("request_id", "position"),
        CheckConstraint(f"position >= 0 AND position < {MAX_PHOTOS}", name="position_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("used_car_requests.id", ondelete="CASCADE"), index=True
    )
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"), unique=True)
    position: Mapped[int] = mapped_column()

    request: Mapped[UsedCarRequest] = relationship(back_populates="photos")
    image: Mapped[Image] = relationship()


class UsedCarTransition(Base):
    """Who moved the request from which status to which, when and why. Append-only."""

    __tablename__ = "used_car_transitions"
    __table_args__ = (CheckConstraint(in_values("to_status", STATUSES), name="to_status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("used_car_requests.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[UsedCarRequest] = relationship(back_populates="transitions")
    actor: Mapped[User] = relationship()


class UsedCarFlag(Base):
    """Implausible data found on submission; it must be resolved before approval."""

    __tablename__ = "used_car_flags"
    __table_args__ = (
        CheckConstraint(in_values("kind", FLAG_KINDS), name="kind_known"),
        # At most one open flag of a kind per request.
        Index(
            "uq_used_car_flags_open_kind",
            "request_id",
            "kind",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("used_car_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[UsedCarRequest] = relationship(back_populates="flags")
    resolved_by: Mapped[User | None] = relationship()


class UsedCarEvent(Base):
    """A message to the owner about their request, shown on the request page.

    The shared notification centre will deliver these later; until then they live here."""

    __tablename__ = "usedcar_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("used_car_requests.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # the new status, or "lead"
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[UsedCarRequest] = relationship(back_populates="events")


class UsedCarLead(Base):
    """A buyer's inquiry about a listed car, assigned to an advisor of the store."""

    __tablename__ = "used_car_leads"
    __table_args__ = (
        CheckConstraint("status IN ('new', 'contacted', 'closed')", name="status_known"),
        # The worker's fold reads only what is left to fold.
        Index(
            "ix_used_car_leads_unfolded",
            "id",
            sqlite_where=text("folded_at IS NULL"),
            postgresql_where=text("folded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("used_car_requests.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="new")
    ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Folded into the CRM (crm.used_car_fold): when, the lead it became or joined, or why not.
    folded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_leads.id", ondelete="SET NULL"), index=True
    )
    fold_note: Mapped[str] = mapped_column(String(200), default="")

    request: Mapped[UsedCarRequest] = relationship(back_populates="leads")
    advisor: Mapped[User | None] = relationship()
    store: Mapped[Store] = relationship()

    def __str__(self) -> str:
        return f"{self.name} {self.phone}"
