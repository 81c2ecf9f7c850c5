"""Service quality's tables: complaints with their deadlines, CSI surveys and their questions.

Imported at the end of crm/models.py so that every CRM table is registered with one import."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, in_values, utcnow

if TYPE_CHECKING:
    from portal.models import Store, User

# Where a complaint came from.
FROM_PORTAL, FROM_PHONE, FROM_WALK_IN, FROM_SURVEY = "portal", "phone", "walk_in", "survey"
COMPLAINT_SOURCES = (FROM_PORTAL, FROM_PHONE, FROM_WALK_IN, FROM_SURVEY)
CATEGORIES = ("quality", "price", "waiting", "attitude", "parts", "delivery", "other")
# What a survey asks about: a finished workshop job, or the handover of a new car.
SERVICE, DELIVERY = "service", "delivery"
SURVEY_KINDS = (SERVICE, DELIVERY)
SEVERITIES = ("low", "medium", "high")
# open -> acknowledged -> resolved -> closed (the owner confirms) or reopened (-> resolved...)
C_OPEN, C_ACKNOWLEDGED, C_RESOLVED, C_CLOSED, C_REOPENED = (
    "open",
    "acknowledged",
    "resolved",
    "closed",
    "reopened",
)
COMPLAINT_STATES = (C_OPEN, C_ACKNOWLEDGED, C_RESOLVED, C_CLOSED, C_REOPENED)
UNRESOLVED = (C_OPEN, C_ACKNOWLEDGED, C_REOPENED)


class Complaint(Base):
    """One customer's complaint at one store, with its deadlines and how it was closed.

    A survey opens at most one complaint: survey_id is unique."""

    __tablename__ = "crm_complaints"
    __table_args__ = (
        CheckConstraint(in_values("source", COMPLAINT_SOURCES), name="source_known"),
        CheckConstraint(in_values("category", CATEGORIES), name="category_known"),
        CheckConstraint(in_values("severity", SEVERITIES), name="severity_known"),
        CheckConstraint(in_values("status", COMPLAINT_STATES), name="status_known"),
        CheckConstraint("escalation BETWEEN 0 AND 2", name="escalation_range"),
        CheckConstraint("reopened >= 0", name="reopened_nonnegative"),
        Index("ix_crm_complaints_store_status_created", "store_id", "status", "created_at"),
        Index("ix_crm_complaints_status_escalation", "status", "escalation"),
        Index("ix_crm_complaints_brand_store_created", "brand_id", "store_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("crm_surveys.id"), unique=True)
    # The brand of the car concerned (the job's car, or the survey's): a manufacturer's
    # figures count it (portal.services.brands); None where not known.
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(12))
    severity: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text, default="")
    # The people concerned: the job's advisor and technician (staff user ids).
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), default=C_OPEN)
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str] = mapped_column(Text, default="")
    # 0 on time; 1 told the store's managers; 2 told the group (the admins).
    escalation: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("crm_tasks.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[User] = relationship(foreign_keys=[customer_id])
    store: Mapped[Store] = relationship()
    advisor: Mapped[User | None] = relationship(foreign_keys=[advisor_id])
    technician: Mapped[User | None] = relationship(foreign_keys=[technician_id])
    survey: Mapped[Survey | None] = relationship(back_populates="complaint")

    @property
    def is_open(self) -> bool:
        return self.status in UNRESOLVED


class Survey(Base):
    """The satisfaction survey of one completed job or one new-car delivery: sent once,
    reminded once, answered once. Exactly one of booking_id and sales_order_id is set, as
    its kind says; each is unique, so a job or a delivery has at most one survey."""

    __tablename__ = "crm_surveys"
    __table_args__ = (
        CheckConstraint("nps IS NULL OR nps BETWEEN 0 AND 10", name="nps_range"),
        CheckConstraint(in_values("kind", SURVEY_KINDS), name="kind_known"),
        CheckConstraint(
            "(kind = 'service' AND booking_id IS NOT NULL AND sales_order_id IS NULL)"
            " OR (kind = 'delivery' AND sales_order_id IS NOT NULL AND booking_id IS NULL)",
            name="one_subject",
        ),
        Index("ix_crm_surveys_store_answered", "store_id", "answered_at"),
        Index("ix_crm_surveys_sent_open", "sent_at", "answered_at"),
        Index("ix_crm_surveys_brand_store_answered", "brand_id", "store_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default=SERVICE, server_default=SERVICE)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), unique=True)
    sales_order_id: Mapped[int | None] = mapped_column(ForeignKey("crm_orders.id"), unique=True)
    # The brand of the car concerned (the job's car, or the car delivered): a manufacturer's
    # figures count it (portal.services.brands); None where not known.
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    # The job's service advisor, or the delivery's sales advisor.
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    nps: Mapped[int | None] = mapped_column()
    # The questions as asked and their 1-5 answers: [{"q": text, "a": 4}, ...]
    answers: Mapped[list] = mapped_column(JSON, default=list)
    csi: Mapped[int | None] = mapped_column()  # the answers' mean on 0-100, for averages
    comment: Mapped[str] = mapped_column(Text, default="")

    complaint: Mapped[Complaint | None] = relationship(back_populates="survey")


class SurveyQuestion(Base):
    """One of a store's 3-5 survey questions of one kind (service or delivery), answered 1-5;
    managers edit them."""

    __tablename__ = "crm_survey_questions"
    __table_args__ = (
        CheckConstraint("position BETWEEN 1 AND 5", name="position_range"),
        CheckConstraint(in_values("kind", SURVEY_KINDS), name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default=SERVICE, server_default=SERVICE)
    position: Mapped[int] = mapped_column()
    text_zh: Mapped[str] = mapped_column(String(200))
    text_en: Mapped[str] = mapped_column(String(200))


# The ranges a store may set for its complaint deadlines (the CHECKs below say the same).
SLA_HOURS = (1, 168)
SLA_DAYS = (1, 60)


class ComplaintSla(Base):
    """A store's deadlines for one severity: acknowledge within hours, resolve within days.

    A store without a row for a severity uses the group's default (crm/complaints.py SLA)."""

    __tablename__ = "crm_complaint_slas"
    __table_args__ = (
        UniqueConstraint("store_id", "severity"),
        CheckConstraint(in_values("severity", SEVERITIES), name="severity_known"),
        CheckConstraint(
            f"ack_hours BETWEEN {SLA_HOURS[0]} AND {SLA_HOURS[1]}", name="ack_hours_range"
        ),
        CheckConstraint(
            f"resolve_days BETWEEN {SLA_DAYS[0]} AND {SLA_DAYS[1]}", name="resolve_days_range"
        ),
        CheckConstraint("ack_hours <= resolve_days * 24", name="ack_before_resolve"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    severity: Mapped[str] = mapped_column(String(8))
    ack_hours: Mapped[int] = mapped_column()
    resolve_days: Mapped[int] = mapped_column()
