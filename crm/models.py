"""CRM tables: leads (one record from inquiry to delivery), their steps, tasks and routing turns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models import Store, User
from portal.models.base import Base, UTCDateTime, in_values, utcnow

# Where a lead came from (the UTM "source" is kept beside it, free text).
PORTAL, PHONE, WALK_IN, IMPORT, REFERRAL = "portal", "phone", "walk_in", "import", "referral"
SOURCES = (PORTAL, PHONE, WALK_IN, IMPORT, REFERRAL)
# The new-car pipeline, in order; lost is a state beside it, so funnel counts stay honest.
NEW, CONTACTED, VISITED, TEST_DRIVE, QUOTE, ORDER, DELIVERED = (
    "new",
    "contacted",
    "visited",
    "test_drive",
    "quote",
    "order",
    "delivered",
)
STAGES = (NEW, CONTACTED, VISITED, TEST_DRIVE, QUOTE, ORDER, DELIVERED)
OPEN, LOST_PENDING, LOST, WON = "open", "lost_pending", "lost", "won"
STATES = (OPEN, LOST_PENDING, LOST, WON)
ACTIVE_STATES = (OPEN, LOST_PENDING)  # at most one such lead per customer and store
GRADES = ("H", "A", "B", "C")
TIMEFRAMES = ("7d", "15d", "30d", "90d", "later")
LOST_REASONS = ("competitor", "elsewhere", "postponed", "budget", "unreachable", "other")
FIRST_CONTACT = "first_contact"


class Lead(Base):
    """One customer's interest in a new car at one store, from first inquiry to delivery."""

    __tablename__ = "crm_leads"
    __table_args__ = (
        CheckConstraint(in_values("source", SOURCES), name="source_known"),
        CheckConstraint(in_values("stage", STAGES), name="stage_known"),
        CheckConstraint(in_values("state", STATES), name="state_known"),
        CheckConstraint(in_values("grade", GRADES), name="grade_known"),
        CheckConstraint(in_values("timeframe", TIMEFRAMES), name="timeframe_known"),
        CheckConstraint("budget_fen IS NULL OR budget_fen >= 0", name="budget_nonnegative"),
        # Dedupe under concurrency: one active lead per customer and store, held by the database.
        Index(
            "uq_crm_leads_active_customer_store",
            "customer_id",
            "store_id",
            unique=True,
            sqlite_where=text("state IN ('open', 'lost_pending')"),
            postgresql_where=text("state IN ('open', 'lost_pending')"),
        ),
        Index("ix_crm_leads_store_state_created", "store_id", "state", "created_at"),
        Index("ix_crm_leads_advisor_state", "advisor_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(16))
    utm_source: Mapped[str] = mapped_column(String(60), default="")
    utm_medium: Mapped[str] = mapped_column(String(60), default="")
    utm_campaign: Mapped[str] = mapped_column(String(60), default="")
    model_interest: Mapped[str] = mapped_column(String(80), default="")
    budget_fen: Mapped[int | None] = mapped_column()
    timeframe: Mapped[str] = mapped_column(String(8), default="later")
    grade: Mapped[str] = mapped_column(String(1), default="C")
    wants_test_drive: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(16), default=NEW)
    state: Mapped[str] = mapped_column(String(16), default=OPEN)
    lost_reason: Mapped[str | None] = mapped_column(String(16))
    lost_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[User] = relationship(foreign_keys=[customer_id])
    store: Mapped[Store] = relationship()
    advisor: Mapped[User | None] = relationship(foreign_keys=[advisor_id])
    events: Mapped[list[LeadEvent]] = relationship(
        back_populates="lead", order_by="LeadEvent.id.desc()"
    )
    tasks: Mapped[list[Task]] = relationship(back_populates="lead", order_by="Task.id")

    def __str__(self) -> str:
        return f"#{self.id} {self.model_interest}".strip()


class LeadEvent(Base):
    """One step of a lead: who did what, when (stage reached, reassigned, lost asked...)."""

    __tablename__ = "crm_lead_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("crm_leads.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str | None] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead: Mapped[Lead] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Task(Base):
    """A dated piece of work for one advisor on one lead (the first contact, due in minutes)."""

    __tablename__ = "crm_tasks"
    __table_args__ = (Index("ix_crm_tasks_owner_open_due", "owner_id", "done_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("crm_leads.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20), default=FIRST_CONTACT)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead: Mapped[Lead] = relationship(back_populates="tasks")
    owner: Mapped[User | None] = relationship()


class RoutingTurn(Base):
    """The store's round-robin counter: each new lead takes the next turn with one UPDATE."""

    __tablename__ = "crm_routing_turns"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    turn: Mapped[int] = mapped_column(default=0, server_default=text("0"))
