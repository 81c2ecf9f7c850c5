"""Maintenance plans, each vehicle's maintenance state, due events and uptake aggregates."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
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

from portal.models.base import Base, Bilingual, UTCDateTime, utcnow

SEVERITIES = ("must", "recommended", "inspect")
ALL = "*"  # brand/series of the all-models aggregate


class MaintenancePlan(Bilingual, Base):
    """A maintenance plan for one model (brand + series), or the default plan."""

    __tablename__ = "maintenance_plans"
    __table_args__ = (
        UniqueConstraint("brand", "series"),
        Index(
            "uq_maintenance_plans_default",
            "is_default",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80), default="", server_default="")
    brand: Mapped[str | None] = mapped_column(String(40))
    series: Mapped[str | None] = mapped_column(String(60))
    is_default: Mapped[bool] = mapped_column(default=False)

    items: Mapped[list[PlanItem]] = relationship(
        back_populates="plan", order_by="PlanItem.id", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name


class PlanItem(Bilingual, Base):
    __tablename__ = "maintenance_plan_items"
    __table_args__ = (
        UniqueConstraint("plan_id", "code"),
        CheckConstraint("severity IN ('must', 'recommended', 'inspect')", name="severity_known"),
        CheckConstraint(
            "interval_km IS NOT NULL OR interval_months IS NOT NULL", name="has_interval"
        ),
        CheckConstraint("interval_km IS NULL OR interval_km > 0", name="km_positive"),
        CheckConstraint("interval_months IS NULL OR interval_months > 0", name="months_positive"),
        CheckConstraint("typical_price_fen >= 0", name="price_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("maintenance_plans.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))  # stable across plans: "engine_oil", ...
    name: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80), default="", server_default="")
    interval_km: Mapped[int | None] = mapped_column()
    interval_months: Mapped[int | None] = mapped_column()
    first_due_km: Mapped[int | None] = mapped_column()  # first service of a new car, if earlier
    first_due_months: Mapped[int | None] = mapped_column()
    severity: Mapped[str] = mapped_column(String(16), default="recommended")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    typical_price_fen: Mapped[int] = mapped_column(default=0)

    plan: Mapped[MaintenancePlan] = relationship(back_populates="items")

    def __str__(self) -> str:
        return self.name


class VehicleItemState(Base):
    """When a vehicle last had a maintenance item done (kept current from service records)."""

    __tablename__ = "vehicle_item_states"

    vehicle_id: Mapped[int] = mapped_column(
        ForeignKey("vehicles.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_km: Mapped[int] = mapped_column()
    last_done_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DueEvent(Base):
    """A vehicle reaching the due point of an item; resolved as taken, missed or superseded."""

    __tablename__ = "maintenance_due_events"
    __table_args__ = (
        UniqueConstraint("vehicle_id", "code", "due_key"),
        CheckConstraint("status IN ('open', 'taken', 'missed', 'superseded')", name="status_known"),
        Index("ix_maintenance_due_events_status_vehicle", "status", "vehicle_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    brand: Mapped[str] = mapped_column(String(40))
    series: Mapped[str] = mapped_column(String(60))
    due_key: Mapped[str] = mapped_column(String(40))  # "<due_km>|<due_date>", the due point
    due_km: Mapped[int | None] = mapped_column()
    due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")
    # Indexed: the maintenance-due call reads the events opened a few days ago, by date.
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UptakeStat(Base):
    """Resolved due events per item and model (brand/series "*" = all models)."""

    __tablename__ = "maintenance_uptake"
    __table_args__ = (CheckConstraint("taken >= 0 AND taken <= total", name="taken_within_total"),)

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    brand: Mapped[str] = mapped_column(String(40), primary_key=True)
    series: Mapped[str] = mapped_column(String(60), primary_key=True)
    taken: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)


class MaintenanceReminder(Base):
    """One reminder sent; the UNIQUE constraint makes concurrent reminder runs send it once."""

    __tablename__ = "maintenance_reminders"
    __table_args__ = (UniqueConstraint("vehicle_id", "code", "due_key", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    due_key: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(12))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderCheck(Base):
    """When the reminders job must look at a vehicle again.

    ``km`` is the reading it was last checked at (a new reading means look again now);
    ``check_on`` is the first store date on which a status can change by time alone (NULL:
    never by time). A vehicle without a row has never been checked."""

    __tablename__ = "maintenance_reminder_checks"

    vehicle_id: Mapped[int] = mapped_column(
        ForeignKey("vehicles.id", ondelete="CASCADE"), primary_key=True
    )
    km: Mapped[int] = mapped_column()
    check_on: Mapped[date | None] = mapped_column(Date, index=True)
