"""Vehicles and their mileage history."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from portal.models.accounts import User


class Vehicle(Base):
    __tablename__ = "vehicles"
    __table_args__ = (
        CheckConstraint("current_km >= 0", name="km_nonnegative"),
        CheckConstraint("length(vin) = 17", name="vin_length"),
        # The back office finds cars by plate or VIN prefix (admin/listing.py).
        Index("ix_vehicles_plate_prefix", "plate", postgresql_ops={"plate": "varchar_pattern_ops"}),
        Index("ix_vehicles_vin_prefix", "vin", postgresql_ops={"vin": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # One VIN belongs to one owner: no duplicate customers, no stolen customers.
    vin: Mapped[str] = mapped_column(String(17), unique=True)
    plate: Mapped[str] = mapped_column(String(8), unique=True)
    brand: Mapped[str] = mapped_column(String(40))
    series: Mapped[str] = mapped_column(String(60))
    model_year: Mapped[int] = mapped_column()
    purchase_date: Mapped[date | None] = mapped_column(Date)
    current_km: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship(back_populates="vehicles")
    readings: Mapped[list[MileageReading]] = relationship(
        back_populates="vehicle", order_by="MileageReading.recorded_at.desc()"
    )

    @property
    def label(self) -> str:
        return f"{self.brand} {self.series} {self.model_year}"

    def __str__(self) -> str:
        return f"{self.plate} {self.label}"


class MileageReading(Base):
    __tablename__ = "mileage_readings"
    __table_args__ = (
        CheckConstraint("km >= 0", name="km_nonnegative"),
        CheckConstraint("source IN ('owner', 'staff', 'service')", name="source_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(
        ForeignKey("vehicles.id", ondelete="CASCADE"), index=True
    )
    km: Mapped[int] = mapped_column()
    source: Mapped[str] = mapped_column(String(16), default="owner")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    vehicle: Mapped[Vehicle] = relationship(back_populates="readings")
