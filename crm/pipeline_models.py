"""The new-car sales pipeline's tables: demo cars and test drives, quotes with lines, orders.

Imported at the end of crm/models.py so that every CRM table is registered with one import."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

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

from portal.models.base import Base, UTCDateTime, in_values, utcnow

if TYPE_CHECKING:
    from crm.models import Lead
    from portal.models import Store, User, Vehicle

# Test drives: a booking holds one slot of one demo car; cancelled ones free it.
BOOKED, DRIVEN, NO_SHOW, CANCELLED = "booked", "driven", "no_show", "cancelled"
DRIVE_STATES = (BOOKED, DRIVEN, NO_SHOW, CANCELLED)
# Quotes: a draft is priced and printable; a discount over the store's limit waits for a manager.
DRAFT, AWAITING, APPROVED, REFUSED, ACCEPTED, SUPERSEDED = (
    "draft",
    "awaiting_approval",
    "approved",
    "refused",
    "accepted",
    "superseded",
)
QUOTE_STATES = (DRAFT, AWAITING, APPROVED, REFUSED, ACCEPTED, SUPERSEDED)
# What a customer answers on the quote's link: "I accept" or "call me" (one answer per quote).
ANSWER_ACCEPT, ANSWER_CALL = "accept", "call"
QUOTE_ANSWERS = (ANSWER_ACCEPT, ANSWER_CALL)
LINE_KINDS = ("vehicle", "accessory", "insurance", "registration", "discount")
# Orders move forward one stage at a time; delivered makes the car the customer's vehicle.
ORDERED, ALLOCATED, INVOICED, DELIVERED_ORDER = "ordered", "allocated", "invoiced", "delivered"
ORDER_STAGES = (ORDERED, ALLOCATED, INVOICED, DELIVERED_ORDER)


class SalesSettings(Base):
    """A store's sales rules: the discount an advisor may give without a manager, slot length."""

    __tablename__ = "crm_sales_settings"
    __table_args__ = (
        CheckConstraint("discount_limit_fen >= 0", name="limit_nonnegative"),
        CheckConstraint("slot_minutes IN (30, 45, 60, 90)", name="slot_known"),
    )

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    discount_limit_fen: Mapped[int] = mapped_column(default=5_000_00)
    slot_minutes: Mapped[int] = mapped_column(default=60)


class DemoCar(Base):
    """A car of the store kept for test drives: a resource with a calendar of slots."""

    __tablename__ = "crm_demo_cars"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    brand: Mapped[str] = mapped_column(String(40))
    model_zh: Mapped[str] = mapped_column(String(80))
    model_en: Mapped[str] = mapped_column(String(80))
    plate: Mapped[str] = mapped_column(String(8), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    store: Mapped[Store] = relationship()
    drives: Mapped[list[DriveBooking]] = relationship(back_populates="car")

    def name(self, lang: str) -> str:
        """Return the car's full name in the language (zh unless English is asked for)."""
        return self.model_en if lang.startswith("en") else self.model_zh


class DriveBooking(Base):
    """One booked slot of a demo car for one lead, with the licence seen and the outcome."""

    __tablename__ = "crm_test_drives"
    __table_args__ = (
        CheckConstraint(in_values("status", DRIVE_STATES), name="status_known"),
        CheckConstraint("ends_at > starts_at", name="time_order"),
        # One car, one booking per slot: the database refuses the second, even at the same moment.
        Index(
            "uq_crm_test_drives_car_slot",
            "car_id",
            "starts_at",
            unique=True,
            sqlite_where=text("status <> 'cancelled'"),
            postgresql_where=text("status <> 'cancelled'"),
        ),
        Index("ix_crm_test_drives_store_starts", "store_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("crm_leads.id"), index=True)
    car_id: Mapped[int] = mapped_column(ForeignKey("crm_demo_cars.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default=BOOKED)
    licence_no: Mapped[str] = mapped_column(String(18))
    licence_valid_until: Mapped[date] = mapped_column(Date)
    licence_checked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    licence_checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead: Mapped[Lead] = relationship()
    car: Mapped[DemoCar] = relationship(back_populates="drives")
    advisor: Mapped[User | None] = relationship(foreign_keys=[advisor_id])
    licence_checked_by: Mapped[User] = relationship(foreign_keys=[licence_checked_by_id])


class Quote(Base):
    """One version of a priced offer to a lead; totals are computed by crm.quotes only."""

    __tablename__ = "crm_quotes"
    __table_args__ = (
        UniqueConstraint("lead_id", "version"),
        CheckConstraint(in_values("status", QUOTE_STATES), name="status_known"),
        CheckConstraint("discount_fen >= 0 AND total_fen >= 0", name="amounts_nonnegative"),
        CheckConstraint("trade_in_fen >= 0 AND trade_in_fen <= total_fen", name="trade_in_valid"),
        CheckConstraint(
            "(finance_months IS NULL AND finance_down_fen IS NULL AND finance_monthly_fen IS NULL)"
            " OR (finance_months BETWEEN 6 AND 84 AND finance_down_fen >= 0"
            " AND finance_monthly_fen > 0)",
            name="finance_valid",
        ),
        CheckConstraint("answer IS NULL OR answer IN ('accept', 'call')", name="answer_known"),
        # The quotes awaiting a manager's decision in a store, oldest first (the quotes page).
        Index("ix_crm_quotes_store_status_id", "store_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("crm_leads.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    version: Mapped[int] = mapped_column()
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    brand: Mapped[str] = mapped_column(String(40))
    series: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    subtotal_fen: Mapped[int] = mapped_column(default=0)
    discount_fen: Mapped[int] = mapped_column(default=0)
    total_fen: Mapped[int] = mapped_column(default=0)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    # The customer's car taken in part exchange, its value taken off what they pay.
    trade_in_fen: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    trade_in_car: Mapped[str] = mapped_column(String(120), default="", server_default="")
    # A finance option: the down payment, the term and the monthly instalment the lender quoted.
    finance_down_fen: Mapped[int | None] = mapped_column()
    finance_months: Mapped[int | None] = mapped_column()
    finance_monthly_fen: Mapped[int | None] = mapped_column()
    # The signed link sent to the customer (crm.quote_links) and their one answer on it.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(String(8))
    answer_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead: Mapped[Lead] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    lines: Mapped[list[QuoteLine]] = relationship(
        back_populates="quote", order_by="QuoteLine.position", cascade="all, delete-orphan"
    )

    @property
    def due_fen(self) -> int:
        """Return what the customer pays: the total less the trade-in's value."""
        return self.total_fen - self.trade_in_fen


class QuoteLine(Base):
    """One line of a quote: the car, an accessory from the shop, insurance, registration or
    the discount (entered positive, subtracted in the total)."""

    __tablename__ = "crm_quote_lines"
    __table_args__ = (
        CheckConstraint(in_values("kind", LINE_KINDS), name="kind_known"),
        CheckConstraint("quantity >= 1 AND unit_fen >= 0", name="amounts_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("crm_quotes.id"), index=True)
    position: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("shop_products.id"))
    label: Mapped[str] = mapped_column(String(120), default="")
    quantity: Mapped[int] = mapped_column(default=1)
    unit_fen: Mapped[int] = mapped_column()

    quote: Mapped[Quote] = relationship(back_populates="lines")

    @property
    def amount_fen(self) -> int:
        return self.quantity * self.unit_fen


class SalesOrder(Base):
    """A signed order from an accepted quote, with the deposit, moving to delivery."""

    __tablename__ = "crm_orders"
    __table_args__ = (
        CheckConstraint(in_values("stage", ORDER_STAGES), name="stage_known"),
        CheckConstraint("deposit_fen > 0 AND deposit_fen <= total_fen", name="deposit_valid"),
        # One car (VIN) is allocated to one order.
        Index(
            "uq_crm_orders_vin",
            "vin",
            unique=True,
            sqlite_where=text("vin IS NOT NULL"),
            postgresql_where=text("vin IS NOT NULL"),
        ),
        Index("ix_crm_orders_store_created", "store_id", "created_at"),
        Index("ix_crm_orders_brand_store_signed", "brand_id", "store_id", "signed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("crm_leads.id"), unique=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("crm_quotes.id"), unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stage: Mapped[str] = mapped_column(String(12), default=ORDERED)
    total_fen: Mapped[int] = mapped_column()
    deposit_fen: Mapped[int] = mapped_column()
    vin: Mapped[str | None] = mapped_column(String(17))
    invoice_no: Mapped[str] = mapped_column(String(32), default="")
    delivery_date: Mapped[date | None] = mapped_column(Date)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    # The brand of the car sold (its quote's), else the store's one brand: a manufacturer's
    # figures count it; None where not known.
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    allocated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invoiced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead: Mapped[Lead] = relationship()
    quote: Mapped[Quote] = relationship()
    customer: Mapped[User] = relationship(foreign_keys=[customer_id])
    advisor: Mapped[User | None] = relationship(foreign_keys=[advisor_id])
    vehicle: Mapped[Vehicle | None] = relationship()


class DeliveryCheck(Base):
    """One item of an order's delivery checklist, ticked by the person who did it (crm.delivery)."""

    __tablename__ = "crm_delivery_checks"
    __table_args__ = (UniqueConstraint("order_id", "item"),)  # ticked once, whoever is first

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("crm_orders.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(24))
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    done_by: Mapped[User | None] = relationship()
