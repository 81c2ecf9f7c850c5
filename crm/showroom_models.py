"""The handoff between the call centre and the showroom: invitations to visit, and each call.

Imported at the end of crm/models.py so that every CRM table is registered with one import."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, in_values, utcnow

if TYPE_CHECKING:
    from crm.models import Lead, Task
    from portal.models import Store, User

# An invitation waits (invited) until reception checks the customer in (arrived), its time
# passes without them (no_show: the worker sends the lead back to the agent), or it is called off.
INVITED, ARRIVED, MISSED, CALLED_OFF = "invited", "arrived", "no_show", "cancelled"
INVITATION_STATES = (INVITED, ARRIVED, MISSED, CALLED_OFF)
VISIT, DRIVE = "visit", "test_drive"
INVITATION_KINDS = (VISIT, DRIVE)


class Invitation(Base):
    """An agent's invitation of a lead to the showroom at a time, to meet a named salesperson."""

    __tablename__ = "crm_invitations"
    __table_args__ = (
        CheckConstraint(in_values("kind", INVITATION_KINDS), name="kind_known"),
        CheckConstraint(in_values("status", INVITATION_STATES), name="status_known"),
        CheckConstraint("status <> 'arrived' OR arrived_at IS NOT NULL", name="arrival_timed"),
        # One live invitation per lead: a second one while the first waits is refused.
        Index(
            "uq_crm_invitations_live_lead",
            "lead_id",
            unique=True,
            sqlite_where=text("status = 'invited'"),
            postgresql_where=text("status = 'invited'"),
        ),
        Index("ix_crm_invitations_status_starts", "status", "starts_at"),
        Index("ix_crm_invitations_store_starts", "store_id", "starts_at"),
        Index("ix_crm_invitations_agent_starts", "agent_id", "starts_at"),
        Index("ix_crm_invitations_advisor_starts", "advisor_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("crm_leads.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(12), default=VISIT)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default=INVITED)
    note: Mapped[str] = mapped_column(Text, default="")
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recovery_task_id: Mapped[int | None] = mapped_column(ForeignKey("crm_tasks.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead: Mapped[Lead] = relationship()
    customer: Mapped[User] = relationship(foreign_keys=[customer_id])
    store: Mapped[Store] = relationship()
    agent: Mapped[User] = relationship(foreign_keys=[agent_id])
    advisor: Mapped[User | None] = relationship(foreign_keys=[advisor_id])
    checked_in_by: Mapped[User | None] = relationship(foreign_keys=[checked_in_by_id])
    recovery_task: Mapped[Task | None] = relationship()


class CallLog(Base):
    """One call someone logged on a task: what the daily activity report counts as a call."""

    __tablename__ = "crm_call_logs"
    __table_args__ = (
        Index("ix_crm_call_logs_store_at", "store_id", "at"),
        Index("ix_crm_call_logs_actor_at", "actor_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("crm_tasks.id"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    outcome: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
