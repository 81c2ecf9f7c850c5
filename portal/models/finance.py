"""Car loans and insurance policies recorded by the store, and the renewal reminders sent."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import data_keys
from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.encrypted import EncryptedInt, EncryptedText
from portal.timeutil import add_months

if TYPE_CHECKING:
    from portal.models.accounts import User
    from portal.models.stores import Store
    from portal.models.vehicles import Vehicle

LOAN_STATUSES = ("active", "paid_off", "cancelled")
COVERAGES = ("compulsory", "commercial", "combined")


class Loan(Base):
    """A car loan. The annual rate is kept in basis points (1 bp = 0.01 %): an exact integer
    on both databases (SQLite has no exact decimal type), and lenders quote rates to 0.01 %."""

    __tablename__ = "loans"
    __table_args__ = (
        CheckConstraint("term_months >= 1 AND term_months <= 120", name="term_range"),
        CheckConstraint("status IN ('active', 'paid_off', 'cancelled')", name="status_known"),
        Index("ix_loans_store_ends_on", "store_id", "ends_on"),  # loans ending soon, by date
        # The back office's search box finds loans by the lender's name as typed (a prefix).
        Index("ix_loans_lender_prefix", "lender", postgresql_ops={"lender": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    lender: Mapped[str] = mapped_column(String(80))
    # Loan terms are sensitive personal information (PIPL): encrypted at rest, so their range
    # checks live in the service (record_loan) instead of the database.
    principal_fen: Mapped[int] = mapped_column(EncryptedInt("loans.principal_fen"))
    annual_rate_bp: Mapped[int] = mapped_column(EncryptedInt("loans.annual_rate_bp"))
    term_months: Mapped[int] = mapped_column()
    start_date: Mapped[date] = mapped_column(Date)
    # The last instalment's day (start + term), kept by the flush hook below.
    ends_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[User] = relationship(foreign_keys=[customer_id])
    vehicle: Mapped[Vehicle | None] = relationship()
    store: Mapped[Store] = relationship()

    @property
    def rate_percent(self) -> str:
        return f"{self.annual_rate_bp // 100}.{self.annual_rate_bp % 100:02d}%"

    def __str__(self) -> str:
        return f"{self.lender} #{self.id}"


@event.listens_for(Loan, "before_insert")
@event.listens_for(Loan, "before_update")
def _loan_end(mapper, connection, loan: Loan) -> None:
    """Keep the loan's end date: its start plus its term."""
    if loan.start_date is not None and loan.term_months:
        loan.ends_on = add_months(loan.start_date, loan.term_months)


class InsurancePolicy(Base):
    """An insurance policy. Its number and premium are sensitive personal information (PIPL):
    encrypted at rest. The number is unique per insurer and found by its keyed hash."""

    __tablename__ = "insurance_policies"
    __table_args__ = (
        UniqueConstraint("insurer", "policy_number_hash"),
        # The back office's search box finds policies by the insurer's name as typed (a prefix).
        Index(
            "ix_insurance_policies_insurer_prefix",
            "insurer",
            postgresql_ops={"insurer": "varchar_pattern_ops"},
        ),
        CheckConstraint("ends_on > starts_on", name="dates_order"),
        CheckConstraint(
            "coverage IN ('compulsory', 'commercial', 'combined')", name="coverage_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    insurer: Mapped[str] = mapped_column(String(80))
    policy_number: Mapped[str] = mapped_column(EncryptedText("insurance_policies.policy_number"))
    # HMAC of the number under M4S_LOOKUP_KEY, kept by the flush hook below.
    policy_number_hash: Mapped[str] = mapped_column(String(64))
    coverage: Mapped[str] = mapped_column(String(16))
    # Range checked in the service (record_policy): the database cannot compare ciphertexts.
    premium_fen: Mapped[int] = mapped_column(EncryptedInt("insurance_policies.premium_fen"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[User] = relationship(foreign_keys=[customer_id])
    vehicle: Mapped[Vehicle | None] = relationship()
    store: Mapped[Store] = relationship()
    reminders: Mapped[list[PolicyReminder]] = relationship(back_populates="policy")

    def __str__(self) -> str:
        return f"{self.insurer} {self.policy_number}"


def policy_number_hash(number: str) -> str:
    """Return the lookup hash of a policy number, as typed or as stored."""
    return data_keys.lookup_hash((number or "").strip().upper())


@event.listens_for(InsurancePolicy, "before_insert")
@event.listens_for(InsurancePolicy, "before_update")
def _policy_hash(mapper, connection, policy: InsurancePolicy) -> None:
    """Keep the policy number's lookup hash."""
    policy.policy_number_hash = policy_number_hash(policy.policy_number)


class PolicyReminder(Base):
    """A reminder claimed for a policy: the unique row is inserted before the mail goes out,
    so two copies of the reminder job never send the same reminder twice."""

    __tablename__ = "policy_reminders"
    __table_args__ = (UniqueConstraint("policy_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("insurance_policies.id"))
    kind: Mapped[str] = mapped_column(String(20))  # "renewal"
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(16), default="email")  # email | none

    policy: Mapped[InsurancePolicy] = relationship(back_populates="reminders")
