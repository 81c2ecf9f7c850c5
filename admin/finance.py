"""Back office records of car loans and insurance policies; state changes go through services."""

from __future__ import annotations

from flask import flash
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from admin import listing
from admin.base import StaffModelView
from portal.auth import current_account
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.forms import YuanField
from portal.models import InsurancePolicy, Loan, User, Vehicle
from portal.models.accounts import OWNER
from portal.models.finance import policy_number_hash
from portal.services import accounts
from portal.services import finance as svc
from portal.validation import InvalidIdentifier, normalize_plate


class _CustomerForm(FlaskForm):
    customer = StringField(_l("Customer's mobile number"), validators=[DataRequired()])
    vehicle = StringField(_l("Plate number (optional)"), validators=[Optional(), Length(max=12)])


class LoanForm(_CustomerForm):
    lender = StringField(_l("Lender"), validators=[DataRequired(), Length(max=80)])
    principal = YuanField(_l("Principal (yuan)"), validators=[DataRequired()])
    rate = StringField(_l("Annual rate (%)"), validators=[DataRequired(), Length(max=8)])
    term_months = IntegerField(
        _l("Term (months)"), validators=[InputRequired(), NumberRange(min=1, max=120)]
    )
    start_date = DateField(_l("Start date"), validators=[InputRequired()])


class PolicyForm(_CustomerForm):
    insurer = StringField(_l("Insurer"), validators=[DataRequired(), Length(max=80)])
    policy_number = StringField(_l("Policy number"), validators=[DataRequired(), Length(max=40)])
    coverage = SelectField(
        _l("Coverage"), choices=[SelectChoice(k, v) for k, v in svc.COVERAGE_LABELS.items()]
    )
    premium = YuanField(_l("Premium (yuan)"), validators=[DataRequired()])
    starts_on = DateField(_l("Starts on"), validators=[InputRequired()])
    ends_on = DateField(_l("Ends on"), validators=[InputRequired()])


def _lookup(form) -> tuple[User | None, Vehicle | None]:
    phone = accounts.normalize_phone(form.customer.data or "")
    customer = (
        db.session.scalar(select(User).where(User.phone == phone, User.role == OWNER))
        if phone
        else None
    )
    vehicle = None
    if form.vehicle.data:
        try:
            plate = normalize_plate(form.vehicle.data)
        except InvalidIdentifier as exc:
            raise ValidationError(_(str(exc)), field="vehicle") from exc
        vehicle = db.session.scalar(select(Vehicle).where(Vehicle.plate == plate))
        if vehicle is None:
            raise ValidationError(_("No vehicle has this plate."), field="vehicle")
    return customer, vehicle


class _RecordAdmin(StaffModelView):
    store_column = "store_id"
    can_edit = False
    can_view_details = True
    column_default_sort = ("id", True)

    def _save(self, form, record):
        try:
            customer, vehicle = _lookup(form)
            obj = record(current_account(), customer, vehicle)
        except DomainError as exc:
            db.session.rollback()
            field = getattr(form, exc.field or "", None)
            if field is not None:
                field.errors = [*field.errors, exc.message]
            flash(exc.message, "error")
            return False
        db.session.commit()
        return obj


class LoanAdmin(_RecordAdmin):
    """Car loans of the store's customers, with the computed repayment schedule."""

    column_list = ("customer", "vehicle", "lender", "principal_fen", "annual_rate_bp",
                   "term_months", "start_date", "status")  # fmt: skip
    column_filters = ("status", "lender")
    # Principal and rate are encrypted at rest: the database cannot sort by them.
    column_sortable_list = ("lender", "term_months", "start_date", "status")
    column_searchable_list = ("lender",)
    # The lender's name as typed, from its start (ix_loans_lender_prefix): a scan of every loan
    # for '%text%' grew with the group (170 ms at 1M customers).
    search_rules = {"lender": listing.PREFIX}
    column_formatters = {
        "principal_fen": lambda v, c, m, n: _cny(m.principal_fen),
        "annual_rate_bp": lambda v, c, m, n: m.rate_percent,
    }
    column_labels = {
        "customer": _l("Customer"),
        "vehicle": _l("Vehicle"),
        "lender": _l("Lender"),
        "principal_fen": _l("Principal"),
        "annual_rate_bp": _l("Annual rate"),
        "term_months": _l("Term (months)"),
        "start_date": _l("Start date"),
        "ends_on": _l("Ends on"),
        "status": _l("Status"),
    }
    details_template = "admin/finance/loan_details.html"

    def create_form(self, obj=None):
        return LoanForm()

    def create_model(self, form):
        def record(actor, customer, vehicle):
            return svc.record_loan(
                actor,
                customer=customer,
                vehicle=vehicle,
                lender=form.lender.data,
                principal_fen=form.principal.fen,
                annual_rate_bp=svc.parse_rate_percent(form.rate.data),
                term_months=form.term_months.data,
                start_date=form.start_date.data,
            )

        return self._save(form, record)

    def render(self, template, **kwargs):
        model = kwargs.get("model")
        if template == self.details_template and isinstance(model, Loan):
            kwargs["rows"] = svc.schedule(
                model.principal_fen, model.annual_rate_bp, model.term_months, model.start_date
            )
            kwargs["loan"] = model
        return super().render(template, **kwargs)

    @action("paid_off", _l("Mark as paid off"))
    def action_paid_off(self, ids):
        self._close(ids, "paid_off")

    @action("cancel", _l("Cancel"), _l("Cancel the selected loans?"))
    def action_cancel(self, ids):
        self._close(ids, "cancelled")

    def _close(self, ids, status: str) -> None:
        actor = current_account()
        for loan in self.get_query().filter(Loan.id.in_([int(i) for i in ids])):
            try:
                with db.session.begin_nested():
                    svc.set_loan_status(actor, loan, status)
            except DomainError as exc:
                flash(exc.message, "error")
        db.session.commit()
        flash(_("Saved."), "success")


class PolicyNumberIs(BaseSQLAFilter):
    """The policy with this exact number: found by its keyed hash (the number is encrypted)."""

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) == policy_number_hash(value))

    def operation(self):
        return _l("is")


class PolicyAdmin(_RecordAdmin):
    """Insurance policies of the store's customers."""

    column_list = ("customer", "vehicle", "insurer", "policy_number", "coverage", "premium_fen",
                   "starts_on", "ends_on")  # fmt: skip
    column_filters = (
        "insurer",
        "coverage",
        "ends_on",
        PolicyNumberIs(InsurancePolicy.policy_number_hash, _l("Policy number")),
    )
    # The number and the premium are encrypted at rest: the database cannot sort or search them.
    # Sorted through an index each (the insurer's unique key, ix_insurance_policies_ends_on):
    # the coverage is filtered, not sorted by; sorting the group's 2.6M policies by it, or by
    # the start, read every one for a page of 50 (340 ms at 1M customers).
    column_sortable_list = ("insurer", "ends_on")
    column_searchable_list = ("insurer",)
    # The insurer's name as typed, from its start (ix_insurance_policies_insurer_prefix): a
    # scan of every policy for '%text%' took 2 s at 1M customers.
    search_rules = {"insurer": listing.PREFIX}
    column_formatters = {
        "premium_fen": lambda v, c, m, n: _cny(m.premium_fen),
    }
    column_labels = {
        "customer": _l("Customer"),
        "vehicle": _l("Vehicle"),
        "insurer": _l("Insurer"),
        "policy_number": _l("Policy number"),
        "coverage": _l("Coverage"),
        "premium_fen": _l("Premium"),
        "starts_on": _l("Starts on"),
        "ends_on": _l("Ends on"),
    }

    def create_form(self, obj=None):
        return PolicyForm()

    def create_model(self, form):
        def record(actor, customer, vehicle):
            return svc.record_policy(
                actor,
                customer=customer,
                vehicle=vehicle,
                insurer=form.insurer.data,
                policy_number=form.policy_number.data,
                coverage=form.coverage.data,
                premium_fen=form.premium.fen,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
            )

        return self._save(form, record)


def _cny(fen: int) -> str:
    from portal.i18n import cny

    return cny(fen)
