"""Loans and insurance: records kept by the store, the annuity schedule, renewal reminders.

Rounding rules of the repayment schedule (all amounts in integer fen):

1. The monthly rate is r = annual_rate_bp / 10000 / 12, computed exactly (Decimal, 50 digits).
2. The regular payment is P * r / (1 - (1 + r) ** -n), rounded half-up to the fen; with r = 0
   it is P / n, rounded half-up to the fen.
3. Each month's interest is the outstanding balance * r, rounded half-up to the fen; the
   principal part is the payment minus that interest.
4. The last instalment repays exactly the remaining balance (plus its interest), so it absorbs
   every rounding difference and the principal parts always sum to P exactly.
   (With r = 0 and a payment rounded up, an earlier instalment never repays more than the
   balance left: it is capped, and the remaining instalments are 0.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from portal import access, transitions
from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.models import InsurancePolicy, Loan, PolicyReminder, User, Vehicle
from portal.models.accounts import OWNER
from portal.services import audit
from portal.timeutil import add_months

COVERAGE_LABELS = {
    "compulsory": _l("Compulsory traffic insurance"),
    "commercial": _l("Commercial insurance"),
    "combined": _l("Compulsory and commercial"),
}
LOAN_STATUS_LABELS = {
    "active": _l("Repaying"),
    "paid_off": _l("Paid off"),
    "cancelled": _l("Cancelled"),
}
MAX_RATE_BP = 3600  # 36 %: the legal ceiling of private lending in China
MAX_TERM = 120


@dataclass(frozen=True)
class Instalment:
    number: int
    due_on: date
    payment_fen: int
    interest_fen: int
    principal_fen: int
    balance_fen: int  # outstanding after this instalment


def _round_fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def monthly_payment(principal_fen: int, annual_rate_bp: int, months: int) -> int:
    """Return the regular monthly payment in fen (rule 2 above)."""
    if months < 1:
        raise ValueError("months must be at least 1")
    with localcontext() as ctx:
        ctx.prec = 50
        if annual_rate_bp == 0:
            return _round_fen(Decimal(principal_fen) / months)
        r = Decimal(annual_rate_bp) / Decimal(120000)
        return _round_fen(Decimal(principal_fen) * r / (1 - (1 + r) ** -months))


def schedule(principal_fen: int, annual_rate_bp: int, months: int, start: date) -> list[Instalment]:
    """Return the full repayment schedule (rules 3 and 4 above); the first is due a month in."""
    payment = monthly_payment(principal_fen, annual_rate_bp, months)
    rows, balance = [], principal_fen
    with localcontext() as ctx:
        ctx.prec = 50
        r = Decimal(annual_rate_bp) / Decimal(120000)
        for k in range(1, months + 1):
            interest = _round_fen(Decimal(balance) * r)
            part = balance if k == months else min(payment - interest, balance)
            balance -= part
            rows.append(
                Instalment(k, add_months(start, k), part + interest, interest, part, balance)
            )
    return rows


def parse_rate_percent(raw: str) -> int:
    """Turn an annual rate typed in percent ("4.35") into basis points (435)."""
    try:
        value = Decimal((raw or "").strip().rstrip("%"))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise ValidationError(_("Enter the annual rate in percent, such as 4.35."), field="rate")
    bp = int(value * 100)
    if not 0 <= bp <= MAX_RATE_BP:
        raise ValidationError(_("The annual rate must be between 0 and 36 %."), field="rate")
    return bp


# ---------------------------------------------------------------- records


def _customer(actor: User, customer: User | None, vehicle: Vehicle | None) -> None:
    if customer is None or customer.role != OWNER:
        raise ValidationError(_("No owner has this mobile number."), field="customer")
    if not access.in_store(actor, customer.store_id):
        raise ValidationError(_("This owner is not a customer of your store."), field="customer")
    if vehicle is not None and vehicle.owner_id != customer.id:
        raise ValidationError(_("This vehicle belongs to someone else."), field="vehicle")


def record_loan(
    actor: User,
    *,
    customer: User | None,
    vehicle: Vehicle | None,
    lender: str,
    principal_fen: int | None,
    annual_rate_bp: int,
    term_months: int | None,
    start_date: date | None,
) -> Loan:
    """Record a car loan of a customer of the store."""
    _customer(actor, customer, vehicle)
    if not (lender or "").strip():
        raise ValidationError(_("Give the lender."), field="lender")
    if not principal_fen or principal_fen <= 0:
        raise ValidationError(_("Give the principal."), field="principal")
    if not 0 <= annual_rate_bp <= MAX_RATE_BP:
        raise ValidationError(_("The annual rate must be between 0 and 36 %."), field="rate")
    if term_months is None or not 1 <= term_months <= MAX_TERM:
        raise ValidationError(_("The term is 1 to 120 months."), field="term_months")
    if start_date is None:
        raise ValidationError(_("Give the start date."), field="start_date")
    loan = Loan(
        customer_id=customer.id,
        vehicle_id=vehicle.id if vehicle else None,
        store_id=customer.store_id,
        lender=lender.strip(),
        principal_fen=principal_fen,
        annual_rate_bp=annual_rate_bp,
        term_months=term_months,
        start_date=start_date,
        created_by_id=actor.id,
    )
    db.session.add(loan)
    db.session.flush()
    audit.record("loan_recorded", actor=actor, target=loan)
    return loan


def set_loan_status(actor: User, loan: Loan, status: str) -> None:
    """Close an active loan as paid off or cancelled (one writer wins)."""
    if status not in ("paid_off", "cancelled"):
        raise ValidationError(_("Unknown loan status."), field="status")
    access.require_store(actor, loan.store_id, _("Loan not found."))
    res = db.session.execute(
        update(Loan)
        .where(Loan.id == loan.id, Loan.status == "active")
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        raise Conflict(_("This loan is already closed."))
    db.session.expire(loan)
    audit.record("loan_" + status, actor=actor, target=loan)


def record_policy(
    actor: User,
    *,
    customer: User | None,
    vehicle: Vehicle | None,
    insurer: str,
    policy_number: str,
    coverage: str,
    premium_fen: int | None,
    starts_on: date | None,
    ends_on: date | None,
) -> InsurancePolicy:
    """Record an insurance policy; a policy number is unique per insurer."""
    _customer(actor, customer, vehicle)
    if not (insurer or "").strip():
        raise ValidationError(_("Give the insurer."), field="insurer")
    number = (policy_number or "").strip().upper()
    if not number:
        raise ValidationError(_("Give the policy number."), field="policy_number")
    if coverage not in COVERAGE_LABELS:
        raise ValidationError(_("Choose the coverage."), field="coverage")
    if premium_fen is None or premium_fen < 0:
        raise ValidationError(_("Give the premium."), field="premium")
    if starts_on is None or ends_on is None or ends_on <= starts_on:
        raise ValidationError(_("The policy must end after it starts."), field="ends_on")
    policy = InsurancePolicy(
        customer_id=customer.id,
        vehicle_id=vehicle.id if vehicle else None,
        store_id=customer.store_id,
        insurer=insurer.strip(),
        policy_number=number,
        coverage=coverage,
        premium_fen=premium_fen,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by_id=actor.id,
    )
    if not transitions.insert_unique(policy):
        raise ValidationError(
            _("This insurer already has a policy with this number."), field="policy_number"
        )
    audit.record("policy_recorded", actor=actor, target=policy)
    return policy


def owner_loans(owner: User) -> list[Loan]:
    """Return the owner's loans, newest first."""
    stmt = access.owner_scope(select(Loan), Loan.customer_id, owner)
    stmt = stmt.order_by(Loan.start_date.desc())
    return list(db.session.scalars(stmt))


def owner_policies(owner: User) -> list[InsurancePolicy]:
    """Return the owner's policies, the one ending soonest first."""
    stmt = access.owner_scope(select(InsurancePolicy), InsurancePolicy.customer_id, owner)
    return list(db.session.scalars(stmt.order_by(InsurancePolicy.ends_on)))


def owned_loan(owner: User, loan_id: int) -> Loan:
    """Return the owner's loan or raise NotFound."""
    return access.owned_record(owner, Loan, loan_id, _("Loan not found."), "customer_id")


# ---------------------------------------------------------------- renewal reminders


def policies_due(today: date, days: int) -> list[InsurancePolicy]:
    """Return the policies ending within `days` of today that have no renewal reminder yet."""
    reminded = select(PolicyReminder.policy_id).where(PolicyReminder.kind == "renewal")
    stmt = (
        select(InsurancePolicy)
        .where(
            InsurancePolicy.ends_on >= today,
            InsurancePolicy.ends_on <= date.fromordinal(today.toordinal() + days),
            InsurancePolicy.id.not_in(reminded),
        )
        .order_by(InsurancePolicy.id)
    )
    return list(db.session.scalars(stmt))


def claim_reminder(policy: InsurancePolicy, kind: str, channel: str) -> PolicyReminder | None:
    """Insert the unique (policy, kind) row; None when another run claimed it first."""
    reminder = PolicyReminder(policy_id=policy.id, kind=kind, channel=channel)
    return reminder if transitions.insert_unique(reminder) else None
