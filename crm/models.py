"""CRM tables: leads (one record from inquiry to delivery), their steps, tasks and routing turns."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, attributes, mapped_column, relationship

from portal.models import Store, UsedCarRequest, User
from portal.models.base import Base, UTCDateTime, in_values, utcnow

# Where a lead came from (the UTM "source" is kept beside it, free text).
PORTAL, PHONE, WALK_IN, IMPORT, REFERRAL = "portal", "phone", "walk_in", "import", "referral"
# Third-party car platforms whose lead exports a manager imports (crm/lead_import.py).
AUTOHOME, DONGCHEDI, YICHE = "autohome", "dongchedi", "yiche"
PLATFORMS = (AUTOHOME, DONGCHEDI, YICHE)
# A recipient who answered a campaign message (crm.campaign_responses); utm_campaign names it.
CAMPAIGN = "campaign"
# A buyer who asked about a listed used car on the portal (the car is the lead's used_car_id).
USED_CAR = "used_car"
# A customer who asked the portal to value the car they would trade in (crm.trade_in).
TRADE_IN_VALUATION = "trade_in"
SOURCES = (
    PORTAL,
    PHONE,
    WALK_IN,
    IMPORT,
    REFERRAL,
    *PLATFORMS,
    CAMPAIGN,
    USED_CAR,
    TRADE_IN_VALUATION,
)
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
# A lead whose customer is not the store's own (of another store, or of none): the customer
# search reads only these from the leads, the store's own customers it finds by name.
CUSTOMER_ELSEWHERE = "customer_store_id IS NULL OR customer_store_id <> store_id"


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
        Index("ix_crm_leads_brand_store_created", "brand_id", "store_id", "created_at"),
        # The group's leads of a period, every store at once (the comparison dashboard): its
        # counts and its median time to first contact read the index alone on PostgreSQL.
        Index(
            "ix_crm_leads_created",
            "created_at",
            postgresql_include=["store_id", "first_contact_at", "arrived_at", "brand_id"],
        ),
        # The customer's store is copied onto the lead, and the database keeps it the
        # customer's: an owner who moves takes it along (ON UPDATE CASCADE), a lead given to
        # another customer must carry theirs. The flush hooks below fill it in.
        ForeignKeyConstraint(
            ["customer_id", "customer_store_id"],
            ["users.id", "users.store_id"],
            name="fk_crm_leads_customer_store",
            onupdate="CASCADE",
        ),
        Index(
            "ix_crm_leads_store_visitors",
            "store_id",
            "customer_id",
            sqlite_where=text(CUSTOMER_ELSEWHERE),
            postgresql_where=text(CUSTOMER_ELSEWHERE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    # The customer's own store (users.store_id), None while they have none: whether the lead's
    # customer is the store's own is then a comparison on the lead (CUSTOMER_ELSEWHERE).
    customer_store_id: Mapped[int | None] = mapped_column()
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(16))
    utm_source: Mapped[str] = mapped_column(String(60), default="")
    utm_medium: Mapped[str] = mapped_column(String(60), default="")
    utm_campaign: Mapped[str] = mapped_column(String(60), default="")
    model_interest: Mapped[str] = mapped_column(String(80), default="")
    # The brand of the model asked about, else the store's one brand (portal.services.brands):
    # a manufacturer's figures count it; None where not known.
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"))
    budget_fen: Mapped[int | None] = mapped_column()
    timeframe: Mapped[str] = mapped_column(String(8), default="later")
    grade: Mapped[str] = mapped_column(String(1), default="C")
    wants_test_drive: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    # The listed used car a buyer asked about (source used_car); the seller is told of it.
    used_car_id: Mapped[int | None] = mapped_column(
        ForeignKey("used_car_requests.id", ondelete="SET NULL"), index=True
    )
    stage: Mapped[str] = mapped_column(String(16), default=NEW)
    state: Mapped[str] = mapped_column(String(16), default=OPEN)
    lost_reason: Mapped[str | None] = mapped_column(String(16))
    lost_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the lead reached us, if later than created_at (an imported platform lead keeps the
    # platform's time in created_at): speed to lead counts from here.
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[User] = relationship(foreign_keys=[customer_id])
    store: Mapped[Store] = relationship()
    advisor: Mapped[User | None] = relationship(foreign_keys=[advisor_id])
    used_car: Mapped[UsedCarRequest | None] = relationship()
    events: Mapped[list[LeadEvent]] = relationship(
        back_populates="lead", order_by="LeadEvent.id.desc()"
    )
    tasks: Mapped[list[Task]] = relationship(back_populates="lead", order_by="Task.id")

    def __str__(self) -> str:
        return f"#{self.id} {self.model_interest}".strip()


def customer_elsewhere():
    """Return the condition on leads that their customer is not the store's own (what
    ix_crm_leads_store_visitors holds, spelled as its predicate so the planner matches it)."""
    return or_(Lead.customer_store_id.is_(None), Lead.customer_store_id != Lead.store_id)


def _customer_store(lead: Lead):
    # Read in the INSERT or UPDATE itself: no statement of its own.
    return select(User.store_id).where(User.id == lead.customer_id).scalar_subquery()


@event.listens_for(Lead, "before_insert")
def _customer_store_of_new_lead(mapper, connection, lead: Lead) -> None:
    """A new lead carries its customer's store."""
    lead.customer_store_id = _customer_store(lead)


@event.listens_for(Lead, "before_update")
def _customer_store_of_moved_lead(mapper, connection, lead: Lead) -> None:
    """A lead given to another customer carries that customer's store."""
    if attributes.get_history(lead, "customer_id").has_changes():
        lead.customer_store_id = _customer_store(lead)


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


# Task types (the call centre's and the showroom's dated work) and how a task ends.
FOLLOW_UP, APPOINTMENT_CONFIRM, POST_SERVICE, RENEWAL = (
    "follow_up",
    "appointment_confirm",
    "post_service",
    "renewal",
)
MAINTENANCE_DUE, COMPLAINT_CALLBACK, NO_SHOW = "maintenance_due", "complaint_callback", "no_show"
TRADE_IN = "trade_in"  # the sales side's call about a car reaching an age, mileage or warranty end
TASK_KINDS = (
    FIRST_CONTACT,
    FOLLOW_UP,
    APPOINTMENT_CONFIRM,
    POST_SERVICE,
    RENEWAL,
    MAINTENANCE_DUE,
    COMPLAINT_CALLBACK,
    NO_SHOW,
    TRADE_IN,
)
TASK_OPEN, TASK_AWAITING, TASK_DONE, TASK_CANCELLED = "open", "awaiting", "done", "cancelled"
TASK_STATUSES = (TASK_OPEN, TASK_AWAITING, TASK_DONE, TASK_CANCELLED)
TASK_LIVE = (TASK_OPEN, TASK_AWAITING)  # still on someone's list
REACHED, NO_ANSWER, CALL_BACK, APPOINTMENT, NOT_INTERESTED, CLEARED = (
    "reached",
    "no_answer",
    "call_back",
    "appointment",
    "not_interested",
    "cleared",
)
OUTCOMES = (REACHED, NO_ANSWER, CALL_BACK, APPOINTMENT, NOT_INTERESTED, CLEARED)
ASK_CANCEL, ASK_CLEAR = "cancel", "clear"  # what a manager is asked to approve
HIGH, NORMAL, LOW = 1, 2, 3


class Task(Base):
    """A dated piece of work for one person about one customer (a call, a confirmation...).

    A rule's task carries the rule and its cause (a lead's contact, a finished job): the pair
    is unique, so a rule fires once per cause however many workers run it at once."""

    __tablename__ = "crm_tasks"
    __table_args__ = (
        Index("ix_crm_tasks_owner_open_due", "owner_id", "done_at", "due_at"),
        Index("ix_crm_tasks_store_status_due", "store_id", "status", "due_at"),
        # The live tasks of every store (a group's admin: approvals, overdue per person): a
        # few thousand among millions done, read without the history.
        Index(
            "ix_crm_tasks_live_status_due",
            "status",
            "due_at",
            "id",
            postgresql_include=["store_id", "owner_id", "overdue_at"],
            postgresql_where=text("status IN ('open', 'awaiting')"),
            sqlite_where=text("status IN ('open', 'awaiting')"),
        ),
        # The daily activity report's tasks done on a day, and those closed after it.
        Index("ix_crm_tasks_store_done", "store_id", "done_at"),
        UniqueConstraint("rule", "cause", name="uq_crm_tasks_rule_cause"),
        CheckConstraint(in_values("kind", TASK_KINDS), name="kind_known"),
        CheckConstraint(in_values("status", TASK_STATUSES), name="status_known"),
        CheckConstraint(
            f"outcome IS NULL OR {in_values('outcome', OUTCOMES)}", name="outcome_known"
        ),
        CheckConstraint("priority BETWEEN 1 AND 3", name="priority_range"),
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
        # A live task is not done: lists of live tasks add "done_at IS NULL" so that the
        # (owner_id, done_at, due_at) index reads only them, not the owner's whole history.
        CheckConstraint(
            "status NOT IN ('open', 'awaiting') OR done_at IS NULL", name="live_not_done"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("crm_leads.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20), default=FIRST_CONTACT)
    priority: Mapped[int] = mapped_column(default=NORMAL, server_default=text("2"))
    status: Mapped[str] = mapped_column(String(12), default=TASK_OPEN, server_default=TASK_OPEN)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Flagged at the store's closing time when still open on its due day: top of tomorrow.
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_task_id: Mapped[int | None] = mapped_column(ForeignKey("crm_tasks.id"))
    rule: Mapped[str | None] = mapped_column(String(24))
    cause: Mapped[str | None] = mapped_column(String(64))
    # A manager's approval: asked (cancel, or clear a call that never reached the customer).
    ask: Mapped[str | None] = mapped_column(String(8))
    ask_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where its owner put it in the plan of that local day (tomorrow's plan, reordered by hand).
    plan_day: Mapped[date | None] = mapped_column(Date)
    plan_position: Mapped[int | None] = mapped_column()

    lead: Mapped[Lead | None] = relationship(back_populates="tasks")
    customer: Mapped[User] = relationship(foreign_keys=[customer_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    asked_by: Mapped[User | None] = relationship(foreign_keys=[asked_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    next_task: Mapped[Task | None] = relationship(remote_side=[id], foreign_keys=[next_task_id])

    @property
    def is_live(self) -> bool:
        return self.status in TASK_LIVE


class TaskRule(Base):
    """A store's setting of one built-in rule: on or off, and its number of days."""

    __tablename__ = "crm_task_rules"
    __table_args__ = (
        UniqueConstraint("store_id", "rule", name="uq_crm_task_rules_store_rule"),
        CheckConstraint("days BETWEEN 1 AND 365", name="days_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    rule: Mapped[str] = mapped_column(String(24))
    days: Mapped[int] = mapped_column()
    is_active: Mapped[bool] = mapped_column(default=True)


class LifecycleMark(Base):
    """How far one lifecycle rule has looked at a store: every threshold date (a policy's end,
    a car's birthday, the day a reading passed 100,000 km) through ``covered_through`` has been
    called about. A run locks the row, covers the dates after it and moves it on, in the
    transaction that inserts the calls (crm/lifecycle_marks.py)."""

    __tablename__ = "crm_lifecycle_marks"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(24), primary_key=True)
    covered_through: Mapped[date] = mapped_column(Date)


class ScreenPop(Base):
    """A caller ID posted by the phone system for one agent: their console opens the card."""

    __tablename__ = "crm_screen_pops"
    __table_args__ = (Index("ix_crm_screen_pops_agent_id", "agent_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    phone: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoutingTurn(Base):
    """The store's round-robin counter: each new lead takes the next turn with one UPDATE."""

    __tablename__ = "crm_routing_turns"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    turn: Mapped[int] = mapped_column(default=0, server_default=text("0"))


# The sales pipeline's tables (test drives, quotes, orders), service quality's (complaints,
# surveys), the showroom handoff's (invitations, call logs) and the platform leads' ids live in
# their own modules.
from crm import (  # noqa: E402, F401
    lead_import_models,
    pipeline_models,
    profile_models,
    quality_models,
    showroom_models,
)
