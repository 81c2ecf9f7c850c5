"""The owner's loans (with the repayment schedule) and insurance policies."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from portal.auth import owner_required
from portal.services import finance as svc
from portal.timeutil import now, to_local

bp = Blueprint("finance", __name__, url_prefix="/finance")


def _labels() -> dict:
    return {"coverage_labels": svc.COVERAGE_LABELS, "loan_labels": svc.LOAN_STATUS_LABELS}


@bp.route("/")
@owner_required
def overview():
    """List my loans and insurance policies, with renewals coming up."""
    today = to_local(now(), current_app.config["DEFAULT_TIMEZONE"]).date()
    soon = today + timedelta(days=current_app.config["POLICY_REMINDER_DAYS"])
    loans = svc.owner_loans(current_user)
    payments = {
        loan.id: svc.monthly_payment(loan.principal_fen, loan.annual_rate_bp, loan.term_months)
        for loan in loans
    }
    return render_template(
        "finance/overview.html",
        loans=loans,
        payments=payments,
        policies=svc.owner_policies(current_user),
        today=today,
        soon=soon,
        **_labels(),
    )


@bp.route("/loans/<int:loan_id>")
@owner_required
def loan_show(loan_id: int):
    """Show one of my loans with its full repayment schedule."""
    loan = svc.owned_loan(current_user, loan_id)
    rows = svc.schedule(loan.principal_fen, loan.annual_rate_bp, loan.term_months, loan.start_date)
    return render_template("finance/loan.html", loan=loan, rows=rows, **_labels())
