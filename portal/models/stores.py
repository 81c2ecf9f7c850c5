"""A store: one dealership site of the group; a region: the stores a regional manager follows."""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from portal.models.accounts import User


class Region(Base):
    """A region of the group: the stores one regional manager compares (aggregates only)."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)

    stores: Mapped[list[Store]] = relationship(back_populates="region", order_by="Store.id")

    def __str__(self) -> str:
        return self.name


class Store(Base):
    __tablename__ = "stores"
    __table_args__ = (
        CheckConstraint("bays >= 0", name="bays_nonnegative"),
        CheckConstraint("closes_at > opens_at", name="hours_order"),
        CheckConstraint(
            "first_contact_minutes BETWEEN 1 AND 240", name="first_contact_minutes_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    # The 24-hour roadside rescue line the SOS page calls in one tap ("" = use the store phone).
    rescue_phone: Mapped[str] = mapped_column(String(32), default="", server_default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    opens_at: Mapped[time] = mapped_column(Time, default=time(8, 30))
    closes_at: Mapped[time] = mapped_column(Time, default=time(18, 0))
    # Weekdays the store is closed, as digits 0 (Monday) to 6 (Sunday): "6" = closed Sundays.
    closed_weekdays: Mapped[str] = mapped_column(String(7), server_default="")
    # A new lead's first contact is due this many minutes after it arrives, while open.
    first_contact_minutes: Mapped[int] = mapped_column(server_default="5")
    bays: Mapped[int] = mapped_column(default=6)
    # How many days ahead an owner may choose to pick up a pay-at-store shop order.
    pickup_hold_days: Mapped[int] = mapped_column(server_default="3")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)

    region: Mapped[Region | None] = relationship(back_populates="stores")

    staff: Mapped[list[User]] = relationship(
        back_populates="store", foreign_keys="User.store_id", viewonly=True
    )

    def __str__(self) -> str:
        return self.name
