"""Bay cameras and viewing sessions (a request to watch, its camera, and how long it played)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models import Booking, Store, User
from portal.models.base import Base, UTCDateTime, utcnow
from workshop_video.sources import mask_source

REQUESTED, ASSIGNED, LIVE, ENDED = "requested", "assigned", "live", "ended"
STATUSES = (REQUESTED, ASSIGNED, LIVE, ENDED)
OPEN = (REQUESTED, ASSIGNED, LIVE)
# stopped: by the owner; job_done: the job left in_progress; closed: the viewer hung up;
# failed: the connection broke; timeout: the media server stopped reporting it;
# expired: assigned but never played; cancelled: a new request replaced it.
END_REASONS = ("stopped", "job_done", "closed", "failed", "timeout", "expired", "cancelled")
UNKNOWN, ONLINE, OFFLINE = "unknown", "online", "offline"
CAMERA_STATUSES = (UNKNOWN, ONLINE, OFFLINE)


class WorkshopArea(Base):
    """A part of a store's workshop (机电区, 钣喷区) holding some of its bays."""

    __tablename__ = "workshop_areas"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    store: Mapped[Store] = relationship()
    bays: Mapped[list[WorkshopBay]] = relationship(
        back_populates="area", order_by="WorkshopBay.number"
    )

    def __str__(self) -> str:
        return self.name


class WorkshopBay(Base):
    """A numbered bay of a store, in one area; bookings and cameras name bays by number."""

    __tablename__ = "workshop_bays"
    __table_args__ = (
        UniqueConstraint("store_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("workshop_areas.id"), index=True)
    number: Mapped[int] = mapped_column()

    area: Mapped[WorkshopArea] = relationship(back_populates="bays")


class Camera(Base):
    """A camera of a store, usually over one bay; its source may hold credentials."""

    __tablename__ = "cameras"
    __table_args__ = (
        UniqueConstraint("store_id", "name"),
        UniqueConstraint("store_id", "bay"),
        CheckConstraint("bay IS NULL OR bay >= 1", name="bay_positive"),
        CheckConstraint("status IN ('unknown', 'online', 'offline')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    bay: Mapped[int | None] = mapped_column()
    name: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(500))  # rtsp://user:pass@host/... or file:...
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(8), default=UNKNOWN, server_default=UNKNOWN)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(200), default="", server_default="")

    store: Mapped[Store] = relationship()
    sessions: Mapped[list[VideoSession]] = relationship(back_populates="camera")

    @property
    def source_display(self) -> str:
        """Return the source with its password masked, for pages and logs."""
        return mask_source(self.source)

    def __str__(self) -> str:
        return self.name


class VideoSession(Base):
    """One owner's request to watch a booking, the camera it got, and the viewing it led to."""

    __tablename__ = "video_sessions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('requested', 'assigned', 'live', 'ended')", name="status_known"
        ),
        CheckConstraint(
            "end_reason IS NULL OR end_reason IN ('stopped', 'job_done', 'closed', 'failed', "
            "'timeout', 'expired', 'cancelled')",
            name="end_reason_known",
        ),
        CheckConstraint("(status = 'ended') = (ended_at IS NOT NULL)", name="ended_when_ended"),
        CheckConstraint(
            "status IN ('requested', 'ended') OR camera_id IS NOT NULL", name="camera_assigned"
        ),
        CheckConstraint("duration_s IS NULL OR duration_s >= 0", name="duration_nonnegative"),
        CheckConstraint("ended_at IS NULL OR ended_at >= requested_at", name="end_after_request"),
        # One open session per viewer and booking: double taps and races meet this index.
        Index(
            "uq_video_sessions_open",
            "booking_id",
            "viewer_id",
            unique=True,
            sqlite_where=text("status != 'ended'"),
            postgresql_where=text("status != 'ended'"),
        ),
        Index("ix_video_sessions_store_status", "store_id", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    viewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), default=REQUESTED)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(12))
    duration_s: Mapped[int | None] = mapped_column()

    booking: Mapped[Booking] = relationship()
    viewer: Mapped[User] = relationship(foreign_keys=[viewer_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])
    store: Mapped[Store] = relationship()
    camera: Mapped[Camera | None] = relationship(back_populates="sessions")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


class TrustFollowUp(Base):
    """A staff member's note that they reached out to an owner who watches very often or long."""

    __tablename__ = "video_follow_ups"
    __table_args__ = (
        CheckConstraint("note != ''", name="note_present"),
        Index("ix_video_follow_ups_owner_created", "owner_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    staff: Mapped[User] = relationship(foreign_keys=[staff_id])
