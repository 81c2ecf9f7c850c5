"""Vehicles and their mileage history."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    event,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, attributes, mapped_column, relationship

from portal.models.accounts import User
from portal.models.base import Base, UTCDateTime, utcnow
from portal.timeutil import add_months

WARRANTY_MONTHS = 36  # the statutory minimum (家用汽车三包: 3 years) when the maker's is unknown


class Vehicle(Base):
    __tablename__ = "vehicles"
    __table_args__ = (
        CheckConstraint("current_km >= 0", name="km_nonnegative"),
        CheckConstraint("length(vin) = 17", name="vin_length"),
        # The back office finds cars by plate or VIN prefix (admin/listing.py).
        Index("ix_vehicles_plate_prefix", "plate", postgresql_ops={"plate": "varchar_pattern_ops"}),
        Index("ix_vehicles_vin_prefix", "vin", postgresql_ops={"vin": "varchar_pattern_ops"}),
        # A store's cars by plate: the store filter and the list's sort in one index.
        Index("ix_vehicles_store_plate", "store_id", "plate"),
        # The lifecycle rules read the cars reaching an age or their warranty's end by date.
        Index("ix_vehicles_store_purchase_date", "store_id", "purchase_date"),
        Index("ix_vehicles_store_warranty_ends_on", "store_id", "warranty_ends_on"),
        # An owner's cars; with the id in the index, segment conditions that join a car's
        # records (maintenance due) read the index alone.
        Index("ix_vehicles_owner_vehicle", "owner_id", "id"),
        # The car's store is its owner's: the database refuses another, and an owner who
        # moves takes their cars along (ON UPDATE CASCADE). The flush hooks below fill it in.
        ForeignKeyConstraint(
            ["owner_id", "store_id"],
            ["users.id", "users.store_id"],
            name="fk_vehicles_owner_store",
            onupdate="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The owner's store, copied here so a store's cars are found without joining the owners;
    # kept equal to the owner's store_id (the hooks below; fk_vehicles_owner_store checks).
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    # One VIN belongs to one owner: no duplicate customers, no stolen customers.
    vin: Mapped[str] = mapped_column(String(17), unique=True)
    plate: Mapped[str] = mapped_column(String(8), unique=True)
    brand: Mapped[str] = mapped_column(String(40))
    series: Mapped[str] = mapped_column(String(60))
    model_year: Mapped[int] = mapped_column()
    purchase_date: Mapped[date | None] = mapped_column(Date)
    # The maker's warranty end; by default the statutory minimum (三包: 3 years from purchase).
    warranty_ends_on: Mapped[date | None] = mapped_column(Date)
    current_km: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship(back_populates="vehicles", foreign_keys=[owner_id])
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
        CheckConstraint("source IN ('owner', 'staff', 'service', 'api')", name="source_known"),
        # The trade-in rule: whether a car had a reading at or over 100,000 km before a window.
        Index(
            "ix_mileage_readings_km_passed",
            "vehicle_id",
            "recorded_at",
            sqlite_where=text("km >= 100000"),
            postgresql_where=text("km >= 100000"),
        ),
        # The trade-in rule's nightly run: the group's readings at or over 100,000 km in a
        # window of days, read once per run (vehicle_id in it: an index-only scan).
        Index(
            "ix_mileage_readings_km_window",
            "recorded_at",
            "vehicle_id",
            sqlite_where=text("km >= 100000"),
            postgresql_where=text("km >= 100000"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(
        ForeignKey("vehicles.id", ondelete="CASCADE"), index=True
    )
    km: Mapped[int] = mapped_column()
    source: Mapped[str] = mapped_column(String(16), default="owner")
    # Indexed by time; the trade-in rule reads its window through ix_mileage_readings_km_window.
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    vehicle: Mapped[Vehicle] = relationship(back_populates="readings")


def _owner_store(connection, owner_id: int) -> int | None:
    return connection.scalar(select(User.store_id).where(User.id == owner_id))


@event.listens_for(Vehicle, "before_insert")
def _store_of_new_vehicle(mapper, connection, vehicle: Vehicle) -> None:
    """A new car belongs to its owner's store; its warranty runs from its purchase."""
    vehicle.store_id = _owner_store(connection, vehicle.owner_id)
    if vehicle.warranty_ends_on is None and vehicle.purchase_date is not None:
        vehicle.warranty_ends_on = add_months(vehicle.purchase_date, WARRANTY_MONTHS)


@event.listens_for(Vehicle, "before_update")
def _store_of_moved_vehicle(mapper, connection, vehicle: Vehicle) -> None:
    """A car given to another owner moves to that owner's store."""
    if attributes.get_history(vehicle, "owner_id").has_changes():
        vehicle.store_id = _owner_store(connection, vehicle.owner_id)


@event.listens_for(User, "after_update")
def _follow_owner_store(mapper, connection, owner: User) -> None:
    """An owner who moves to another store takes their cars along."""
    if attributes.get_history(owner, "store_id").has_changes():
        connection.execute(
            update(Vehicle.__table__)
            .where(Vehicle.__table__.c.owner_id == owner.id)
            .values(store_id=owner.store_id)
        )
