"""The workshop's job cards: the technicians assigned to a booking, and the card's labour and
parts lines, entered before completion, that become the service record's items."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from portal.models.accounts import User
    from portal.models.bookings import Booking

MAX_HOURS_TENTHS = 999  # 99.9 hours on one line


class BookingTechnician(Base):
    """A technician assigned to a booking's job; a job can have several, each once."""

    __tablename__ = "booking_technicians"
    # The technician's "My jobs" page reads their assignments.
    __table_args__ = (Index("ix_booking_technicians_technician", "technician_id", "booking_id"),)

    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
    )
    technician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    booking: Mapped[Booking] = relationship(back_populates="assignments")
    technician: Mapped[User] = relationship()


class JobLabourLine(Base):
    """Labour on the job card: an operation, hours in tenths, an hourly rate, who did it."""

    __tablename__ = "job_labour_lines"
    __table_args__ = (
        CheckConstraint(f"hours_tenths BETWEEN 1 AND {MAX_HOURS_TENTHS}", name="hours_range"),
        CheckConstraint("rate_fen >= 0", name="rate_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    operation: Mapped[str] = mapped_column(String(200))
    hours_tenths: Mapped[int] = mapped_column()
    rate_fen: Mapped[int] = mapped_column()
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Who entered the line: staff at the job card, or a technician on their phone (who may
    # remove only the lines they entered themselves).
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    booking: Mapped[Booking] = relationship(back_populates="labour_lines")
    technician: Mapped[User | None] = relationship(foreign_keys=[technician_id])
    added_by: Mapped[User | None] = relationship(foreign_keys=[added_by_id])

    @property
    def total_fen(self) -> int:
        """The line's amount: hours x rate, rounded half up to the fen."""
        return (self.hours_tenths * self.rate_fen + 5) // 10


class JobPartLine(Base):
    """A part on the job card: a shop product where its part number matched one, else the
    part number as typed; quantity and unit price in fen."""

    __tablename__ = "job_part_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_fen >= 0", name="price_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("shop_products.id"), index=True)
    part_no: Mapped[str] = mapped_column(String(40), default="")
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(default=1)
    unit_price_fen: Mapped[int] = mapped_column()
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # as labour's
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    booking: Mapped[Booking] = relationship(back_populates="part_lines")
    added_by: Mapped[User | None] = relationship()

    @property
    def total_fen(self) -> int:
        return self.quantity * self.unit_price_fen
