"""A store: one dealership site of the group; a region: the stores a regional manager follows;
a brand: a car maker's marque that stores sell (a group store may sell several)."""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.models.base import Base, Bilingual, UTCDateTime, utcnow

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


# Which brands a store sells: a 4S store one, a group store several; a brand's manufacturer
# officer compares exactly the stores listed here for their brand (portal/access.py).
store_brands = Table(
    "store_brands",
    Base.metadata,
    Column("store_id", ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    Column("brand_id", ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_store_brands_brand_store", "brand_id", "store_id"),
)


class Brand(Bilingual, Base):
    """A car brand (比亚迪 BYD, 吉利 Geely): its Chinese name, English name and short code."""

    __tablename__ = "brands"
    __table_args__ = (
        CheckConstraint("length(trim(name)) > 0", name="name_given"),
        CheckConstraint("length(trim(name_en)) > 0", name="name_en_given"),
        CheckConstraint("length(trim(code)) > 0", name="code_given"),
        CheckConstraint("code = upper(code)", name="code_upper"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # BYD, GEELY
    name: Mapped[str] = mapped_column(String(40), unique=True)  # 比亚迪
    name_en: Mapped[str] = mapped_column(String(60), unique=True)  # BYD
    # The English name as compared (trimmed, lower case): unique, so "BYD" and "byd " are one
    # brand to the database too. Set by the model whenever name_en is.
    name_en_key: Mapped[str] = mapped_column(String(60), unique=True)

    stores: Mapped[list[Store]] = relationship(
        secondary=store_brands, back_populates="brands", order_by="Store.id"
    )

    @validates("name_en")
    def _keep_key(self, _key: str, value: str) -> str:
        self.name_en_key = brand_key(value)
        return value

    def __str__(self) -> str:
        return f"{self.name} {self.name_en}"


def brand_key(text: str | None) -> str:
    """Return a brand's name as compared: trimmed and lower-case ("  BYD" -> "byd")."""
    return (text or "").strip().lower()


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
    brands: Mapped[list[Brand]] = relationship(
        secondary=store_brands, back_populates="stores", order_by="Brand.code"
    )

    staff: Mapped[list[User]] = relationship(
        back_populates="store", foreign_keys="User.store_id", viewonly=True
    )

    def __str__(self) -> str:
        return self.name
