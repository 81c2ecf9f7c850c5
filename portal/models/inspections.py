"""Digital vehicle inspections: templates managers edit, inspections of a booking with their
items (severity, note, photo, price), the owner's decision per item, and the job lines that
approved items become."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from portal.models.accounts import User
    from portal.models.bookings import Booking
    from portal.models.media import Image
    from portal.models.stores import Store

GREEN, AMBER, RED = "green", "amber", "red"
SEVERITIES = (GREEN, AMBER, RED)
PENDING, APPROVED, DECLINED = "pending", "approved", "declined"
DECISIONS = (PENDING, APPROVED, DECLINED)
DRAFT, SENT = "draft", "sent"
# The shop part an approved item needs: reserved from stock, on order (none was left),
# released again (the line was withdrawn) or used (the job was completed).
RESERVED, ON_ORDER, RELEASED, USED = "reserved", "on_order", "released", "used"
PART_STATES = (RESERVED, ON_ORDER, RELEASED, USED)
# A video clip of an item: uploaded and waiting for the worker, being transcoded, ready to
# play, or refused by the worker (the reason says why).
CLIP_PENDING, CLIP_PROCESSING = "pending", "processing"
CLIP_READY, CLIP_REFUSED = "ready", "refused"
CLIP_STATES = (CLIP_PENDING, CLIP_PROCESSING, CLIP_READY, CLIP_REFUSED)


class InspectionTemplate(Base):
    """A store's multipoint checklist; managers edit its items."""

    __tablename__ = "inspection_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    store: Mapped[Store] = relationship()
    items: Mapped[list[TemplateItem]] = relationship(
        back_populates="template",
        order_by="(TemplateItem.position, TemplateItem.id)",
        cascade="all, delete-orphan",
    )

    def __str__(self) -> str:
        return self.name


class TemplateItem(Base):
    """One point of a checklist, named in Chinese and English, linked to a maintenance item
    (its code) where one exists, with the usual price of the fix."""

    __tablename__ = "inspection_template_items"
    __table_args__ = (CheckConstraint("price_fen >= 0", name="price_nonnegative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("inspection_templates.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    plan_item_code: Mapped[str | None] = mapped_column(String(40))
    price_fen: Mapped[int] = mapped_column(default=0)

    template: Mapped[InspectionTemplate] = relationship(back_populates="items")

    def __str__(self) -> str:
        return f"{self.name_zh} / {self.name_en}"


class Inspection(Base):
    """The inspection of one booking's car: recorded by staff or the job's technician (who
    marks it finished), then sent to the owner by the store's staff."""

    __tablename__ = "inspections"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'sent')", name="status_known"),
        Index("ix_inspections_store_sent", "store_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection_templates.id", ondelete="SET NULL")
    )
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(8), default=DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A technician finished recording it: ready for the advisor to check and send.
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    booking: Mapped[Booking] = relationship(back_populates="inspection")
    store: Mapped[Store] = relationship()
    inspector: Mapped[User | None] = relationship(foreign_keys=[inspector_id])
    sent_by: Mapped[User | None] = relationship(foreign_keys=[sent_by_id])
    finished_by: Mapped[User | None] = relationship(foreign_keys=[finished_by_id])
    items: Mapped[list[InspectionItem]] = relationship(
        back_populates="inspection",
        order_by="(InspectionItem.position, InspectionItem.id)",
        cascade="all, delete-orphan",
    )

    @property
    def recommendations(self) -> list[InspectionItem]:
        return [i for i in self.items if i.severity != GREEN]


class InspectionItem(Base):
    """One checked point: severity, note, photo and the price of the fix; amber and red items
    are recommendations the owner approves or declines, once."""

    __tablename__ = "inspection_items"
    __table_args__ = (
        UniqueConstraint("inspection_id", "position"),
        CheckConstraint("severity IN ('green', 'amber', 'red')", name="severity_known"),
        CheckConstraint("decision IN ('pending', 'approved', 'declined')", name="decision_known"),
        CheckConstraint("decision = 'pending' OR severity <> 'green'", name="green_not_decided"),
        CheckConstraint("price_fen >= 0", name="price_nonnegative"),
        CheckConstraint("part_quantity > 0", name="part_quantity_positive"),
        CheckConstraint(
            "part_state IS NULL OR (product_id IS NOT NULL AND decision <> 'pending' AND "
            "part_state IN ('reserved', 'on_order', 'released', 'used'))",
            name="part_state_known",
        ),
        # The reminders job reads declined items not yet reminded.
        Index("ix_inspection_items_decision_reminded", "decision", "reminded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    plan_item_code: Mapped[str | None] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(8), default=GREEN)
    note: Mapped[str] = mapped_column(Text, default="")
    image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id"), index=True)
    price_fen: Mapped[int] = mapped_column(default=0)
    decision: Mapped[str] = mapped_column(String(8), default=PENDING)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The shop part the fix needs (its price is part of price_fen), and what became of it.
    product_id: Mapped[int | None] = mapped_column(ForeignKey("shop_products.id"), index=True)
    part_quantity: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    part_state: Mapped[str | None] = mapped_column(String(10))

    inspection: Mapped[Inspection] = relationship(back_populates="items")
    image: Mapped[Image | None] = relationship()
    job_line: Mapped[JobLine | None] = relationship(back_populates="inspection_item")
    # Loaded with the items (one query, without the videos): every item's card shows its clip.
    clip: Mapped[InspectionClip | None] = relationship(
        back_populates="item", cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )

    @property
    def uptake_key(self) -> str:
        """The item as the decision counters know it: its maintenance code, else its name."""
        return self.plan_item_code or self.name_en.strip().lower()[:80]


class InspectionClip(Base):
    """An item's short video clip: the upload waits (``original``) until the worker transcodes
    it to a small phone-friendly video and a poster frame, without the upload's metadata; the
    upload is deleted either way. Kept in the database, like images, so app nodes and workers
    share nothing else."""

    __tablename__ = "inspection_clips"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'processing', 'ready', 'refused')", name="status_known"
        ),
        # The worker looks for pending clips (and processing ones whose worker died).
        Index("ix_inspection_clips_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("inspection_items.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(10), default=CLIP_PENDING)
    reason: Mapped[str | None] = mapped_column(String(20))  # why the worker refused it
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    original: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    video: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    poster: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    content_type: Mapped[str | None] = mapped_column(String(32))
    video_bytes: Mapped[int | None] = mapped_column()
    sha256: Mapped[str | None] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    duration_ms: Mapped[int | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    item: Mapped[InspectionItem] = relationship(back_populates="clip")


class InspectionItemSave(Base):
    """One save of an item sent from a technician's phone, by the key the phone chose: a retry
    after a lost answer finds its key here and changes nothing."""

    __tablename__ = "inspection_item_saves"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("inspection_items.id", ondelete="CASCADE"), index=True
    )
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InspectionUptake(Base):
    """Owners' decisions per inspection item and severity: approved of decided."""

    __tablename__ = "inspection_uptake"
    __table_args__ = (
        CheckConstraint("approved >= 0 AND approved <= decided", name="approved_within_decided"),
    )

    item_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    severity: Mapped[str] = mapped_column(String(8), primary_key=True)
    approved: Mapped[int] = mapped_column(default=0)
    decided: Mapped[int] = mapped_column(default=0)


class JobLine(Base):
    """A line of work on a booking's job; approved inspection items add one each, once."""

    __tablename__ = "job_lines"
    __table_args__ = (
        CheckConstraint("price_fen >= 0", name="price_nonnegative"),
        CheckConstraint("part_fen >= 0 AND part_fen <= price_fen", name="part_within_price"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    description_zh: Mapped[str] = mapped_column(String(200))
    description_en: Mapped[str] = mapped_column(String(200))
    price_fen: Mapped[int] = mapped_column(default=0)
    # The parts' share of price_fen (the part's shop price when approved); the rest is labour.
    part_fen: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    inspection_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection_items.id"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    booking: Mapped[Booking] = relationship(back_populates="job_lines")
    inspection_item: Mapped[InspectionItem | None] = relationship(back_populates="job_line")

    @property
    def labour_fen(self) -> int:
        return self.price_fen - self.part_fen
