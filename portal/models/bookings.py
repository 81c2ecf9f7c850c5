"""Repair bookings: workshop capacity, bookings with their timeline, service records, ratings."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from portal.models.accounts import User
    from portal.models.inspections import Inspection, JobLine
    from portal.models.jobcards import BookingTechnician, JobLabourLine, JobPartLine
    from portal.models.media import Image
    from portal.models.stores import Store
    from portal.models.vehicles import Vehicle

SERVICE_TYPES = ("maintenance", "repair", "inspection", "bodywork", "tyres", "other")
FAULT_CATEGORIES = (
    "engine",
    "transmission",
    "brakes",
    "suspension",
    "electrical",
    "air_conditioning",
    "body",
    "tyres",
    "maintenance",
    "other",
)
REJECT_REASONS = ("no_capacity", "parts_unavailable", "other")
# Why the store proposes another time (kept in decision_reason, like a rejection's reason).
PROPOSE_REASONS = ("no_capacity", "parts_unavailable", "other")
# How a booking came in: booked by the owner online, or entered by staff for a caller or a
# customer who walked in.
APP, PHONE, WALK_IN = "app", "phone", "walk_in"
BOOKING_SOURCES = (APP, PHONE, WALK_IN)

SUBMITTED, ACCEPTED, REJECTED, PROPOSED = "submitted", "accepted", "rejected", "proposed"
CHECKED_IN, IN_PROGRESS, READY, COMPLETED = "checked_in", "in_progress", "ready", "completed"
CANCELLED, NO_SHOW = "cancelled", "no_show"
STATUSES = (
    SUBMITTED,
    ACCEPTED,
    REJECTED,
    PROPOSED,
    CHECKED_IN,
    IN_PROGRESS,
    READY,
    COMPLETED,
    CANCELLED,
    NO_SHOW,
)
# While in one of these states a booking holds one place in its slot.
HOLDING = (SUBMITTED, ACCEPTED, PROPOSED, CHECKED_IN, IN_PROGRESS, READY)
TERMINAL = (REJECTED, COMPLETED, CANCELLED, NO_SHOW)


class StoreDay(Base):
    """A per-day exception to a store's opening hours and bays: a holiday or a short day."""

    __tablename__ = "store_days"
    __table_args__ = (
        UniqueConstraint("store_id", "day"),
        CheckConstraint("bays IS NULL OR bays >= 0", name="bays_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    day: Mapped[date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(default=False)
    opens_at: Mapped[time | None] = mapped_column(Time)
    closes_at: Mapped[time | None] = mapped_column(Time)
    bays: Mapped[int | None] = mapped_column()
    note: Mapped[str] = mapped_column(String(120), default="")

    store: Mapped[Store] = relationship()


class SlotUsage(Base):
    """Places taken in one slot of one store; the conditional UPDATE on it enforces capacity."""

    __tablename__ = "slot_usage"
    __table_args__ = (
        UniqueConstraint("store_id", "starts_at"),
        CheckConstraint("used >= 0", name="used_nonnegative"),
        CheckConstraint("capacity >= 0", name="capacity_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column()
    used: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(
            "status IN ('submitted', 'accepted', 'rejected', 'proposed', 'checked_in', "
            "'in_progress', 'ready', 'completed', 'cancelled', 'no_show')",
            name="status_known",
        ),
        CheckConstraint("source IN ('app', 'phone', 'walk_in')", name="source_known"),
        Index("ix_bookings_store_status_created", "store_id", "status", "created_at"),
        Index("ix_bookings_store_slot", "store_id", "slot_start"),
        Index("ix_bookings_status_id", "status", "id"),  # reviewed bookings sorted by status
        # Reviewed bookings of every store sorted by the day booked for or by the decision:
        # the group's 6M decided bookings were sorted whole for a page of 50 (680 ms).
        Index(
            "ix_bookings_decided_slot",
            "slot_start",
            "id",
            sqlite_where=text("decided_at IS NOT NULL"),
            postgresql_where=text("decided_at IS NOT NULL"),
        ),
        Index(
            "ix_bookings_decided_at",
            "decided_at",
            "id",
            sqlite_where=text("decided_at IS NOT NULL"),
            postgresql_where=text("decided_at IS NOT NULL"),
        ),
        # A customer's bookings, and whether one is open (segments: "has an open booking")
        # from the index alone, not from every booking the customer ever made.
        Index("ix_bookings_owner_status", "owner_id", "status"),
        # The group's booking queue: the pending ones, oldest first, a page at a time.
        Index(
            "ix_bookings_pending_created",
            "created_at",
            "id",
            sqlite_where=text("status = 'submitted'"),
            postgresql_where=text("status = 'submitted'"),
        ),
        # The reviewed bookings' search box finds words of the owner's description and of the
        # decision's note by their three-character pieces (pg_trgm on PostgreSQL).
        Index(
            "ix_bookings_description_trgm",
            "description",
            postgresql_using="gin",
            postgresql_ops={"description": "gin_trgm_ops"},
        ),
        Index(
            "ix_bookings_decision_note_trgm",
            "decision_note",
            postgresql_using="gin",
            postgresql_ops={"decision_note": "gin_trgm_ops"},
        ),
        # A manufacturer's officer counts their brand's bookings of a store in a period.
        Index("ix_bookings_brand_store_created", "brand_id", "store_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    # The brand of the car when it was booked (portal/services/brands.py), kept when the car's
    # make is edited later: what a manufacturer's officer counts (access.compared_brand_rows).
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"))
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=SUBMITTED)
    service_types: Mapped[list] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    # Maintenance plan item codes the owner booked from the schedule ("Book these items").
    maintenance_items: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    bay: Mapped[int | None] = mapped_column()
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(String(32))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    proposed_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkin_km: Mapped[int | None] = mapped_column()
    # When the advisor promised the car back, set at check-in (shown on the status link).
    promised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(8), default=APP, server_default=APP)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    advisor: Mapped[User | None] = relationship(foreign_keys=[advisor_id])
    vehicle: Mapped[Vehicle] = relationship()
    store: Mapped[Store] = relationship()
    photos: Mapped[list[BookingPhoto]] = relationship(
        back_populates="booking", order_by="BookingPhoto.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[BookingEvent]] = relationship(
        back_populates="booking", order_by="BookingEvent.id"
    )
    record: Mapped[ServiceRecord | None] = relationship(back_populates="booking")
    rating: Mapped[Rating | None] = relationship(back_populates="booking")
    inspection: Mapped[Inspection | None] = relationship(back_populates="booking")
    job_lines: Mapped[list[JobLine]] = relationship(
        back_populates="booking", order_by="JobLine.id", cascade="all, delete-orphan"
    )
    assignments: Mapped[list[BookingTechnician]] = relationship(
        back_populates="booking", cascade="all, delete-orphan"
    )
    technicians: Mapped[list[User]] = relationship(
        secondary="booking_technicians", order_by="User.name", viewonly=True
    )
    labour_lines: Mapped[list[JobLabourLine]] = relationship(
        back_populates="booking", order_by="JobLabourLine.id", cascade="all, delete-orphan"
    )
    part_lines: Mapped[list[JobPartLine]] = relationship(
        back_populates="booking", order_by="JobPartLine.id", cascade="all, delete-orphan"
    )

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def __str__(self) -> str:
        return f"#{self.id}"


class BookingPhoto(Base):
    __tablename__ = "booking_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    # Indexed: the media server looks up the booking of a photo to apply its access rule.
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"), index=True)

    booking: Mapped[Booking] = relationship(back_populates="photos")
    image: Mapped[Image] = relationship()


class BookingEvent(Base):
    """One step of a booking's timeline: who changed it, when, from what to what, and why."""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(24))  # a status, or "edited", "progress", ...
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")

    booking: Mapped[Booking] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class ServiceRecord(Base):
    """What was done: created when a booking is completed, shown in the vehicle's history."""

    __tablename__ = "service_records"
    __table_args__ = (
        CheckConstraint("total_fen >= 0", name="total_nonnegative"),
        CheckConstraint("mileage_km >= 0", name="mileage_nonnegative"),
        Index("ix_service_records_vehicle_completed", "vehicle_id", "completed_at"),
        # Analytics read one period of one store (or of all stores).
        Index("ix_service_records_store_completed", "store_id", "completed_at"),
        Index("ix_service_records_completed", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), unique=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    mileage_km: Mapped[int] = mapped_column()
    fault_category: Mapped[str] = mapped_column(String(24), default="other")
    technician_note: Mapped[str] = mapped_column(Text, default="")
    total_fen: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    booking: Mapped[Booking | None] = relationship(back_populates="record")
    vehicle: Mapped[Vehicle] = relationship()
    advisor: Mapped[User | None] = relationship()
    items: Mapped[list[ServiceItem]] = relationship(
        back_populates="record", order_by="ServiceItem.id", cascade="all, delete-orphan"
    )


class ServiceItem(Base):
    __tablename__ = "service_items"
    __table_args__ = (
        CheckConstraint("kind IN ('labour', 'part')", name="kind_known"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_fen >= 0", name="price_nonnegative"),
        # The part lines of a period's records, for the analytics' parts lists: only parts,
        # and on PostgreSQL every column those lists read, so they never visit the table.
        Index(
            "ix_service_items_part_record",
            "record_id",
            postgresql_include=[
                "quantity",
                "unit_price_fen",
                "product_id",
                "part_no",
                "description",
            ],
            postgresql_where=text("kind = 'part'"),
            sqlite_where=text("kind = 'part'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("service_records.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(String(200))
    part_no: Mapped[str] = mapped_column(String(40), default="")
    # The maintenance plan item this work fulfils, if any (feeds the schedule and uptake).
    plan_item_code: Mapped[str | None] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(default=1)
    unit_price_fen: Mapped[int] = mapped_column()
    # From the job card: who did a labour line, which shop product a part line fitted.
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("shop_products.id"), index=True)

    record: Mapped[ServiceRecord] = relationship(back_populates="items")

    @property
    def total_fen(self) -> int:
        return self.quantity * self.unit_price_fen


class Rating(Base):
    """The owner's rating of a completed booking: the service and the advisor, once."""

    __tablename__ = "ratings"
    __table_args__ = (
        CheckConstraint("service_stars BETWEEN 1 AND 5", name="service_stars_range"),
        CheckConstraint("advisor_stars BETWEEN 1 AND 5", name="advisor_stars_range"),
        # The CSI page's ratings of the last year, newest first, and their per-advisor means
        # (index-only on PostgreSQL for those who see every store).
        Index(
            "ix_ratings_created",
            "created_at",
            postgresql_include=["advisor_id", "service_stars", "advisor_stars"],
        ),
        # A store's ratings of the last year, the same way: its manager's CSI page hashed every
        # booking of the store (400k at the 1M group's largest) to find them.
        Index(
            "ix_ratings_store_created",
            "store_id",
            "created_at",
            postgresql_include=["advisor_id", "service_stars", "advisor_stars"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    # The booking's store (a booking never changes store), kept here for the store's figures.
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    service_stars: Mapped[int] = mapped_column()
    advisor_stars: Mapped[int] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    booking: Mapped[Booking] = relationship(back_populates="rating")


class Notification(Base):
    """The in-app notification centre; email is sent beside it when SMTP is configured."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(255), default="")
