"""CRM tables of who serves whom: customer merges, the duty roster, routing rules, escalations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models import User
from portal.models.base import Base, UTCDateTime, utcnow


class CustomerMerge(Base):
    """One customer record folded into another: kept forever, the old id redirects.

    ``merged_id`` is the key, so a record is merged once, however many managers try at once."""

    __tablename__ = "crm_customer_merges"
    __table_args__ = (CheckConstraint("merged_id <> survivor_id", name="not_itself"),)

    merged_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What moved, per table and column ({"vehicles.owner_id": 2, ...}), and what stayed.
    moved: Mapped[dict] = mapped_column(JSON, default=dict)

    survivor: Mapped[User] = relationship(foreign_keys=[survivor_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])


class DutyShift(Base):
    """One advisor on duty at one store on one weekday, from one minute of the day to another."""

    __tablename__ = "crm_duty_shifts"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint(
            "start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440",
            name="minutes_in_order",
        ),
        UniqueConstraint("advisor_id", "weekday", "start_minute", name="uq_crm_duty_shifts_slot"),
        Index("ix_crm_duty_shifts_store_weekday", "store_id", "weekday"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    advisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    weekday: Mapped[int] = mapped_column()  # Monday 0 ... Sunday 6, in the store's zone
    start_minute: Mapped[int] = mapped_column()
    end_minute: Mapped[int] = mapped_column()

    advisor: Mapped[User] = relationship()


class RoutingRule(Base):
    """A store's rule, tried in order: leads of this source, model line and/or customer's
    language go to an advisor."""

    __tablename__ = "crm_routing_rules"
    __table_args__ = (
        CheckConstraint("position >= 1", name="position_positive"),
        Index("ix_crm_routing_rules_store_position", "store_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    position: Mapped[int] = mapped_column()
    source: Mapped[str] = mapped_column(String(16), default="")  # "" matches every source
    model_contains: Mapped[str] = mapped_column(String(40), default="")  # "" matches every model
    # The customer's language ("zh_CN", "en"); "" matches every language.
    language: Mapped[str] = mapped_column(String(10), default="", server_default="")
    advisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    advisor: Mapped[User] = relationship()


class TaskEscalation(Base):
    """One step of a missed first contact: 1 the managers were told, 2 the next advisor has it.

    The (task, level) key makes each step happen once, however many workers run the job."""

    __tablename__ = "crm_task_escalations"

    task_id: Mapped[int] = mapped_column(ForeignKey("crm_tasks.id"), primary_key=True)
    level: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
