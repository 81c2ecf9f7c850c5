"""Back office: staff record a customer's consent (privacy policy and marketing per channel)
and say how it was obtained: a signed paper form, a recorded phone call, or in person."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from portal.forms.accounts import MarketingChoices
from portal.models import User
from portal.models.consents import CONSENT_METHODS
from portal.services import consent, policy


def method_field() -> SelectField:
    """Return the required "how was consent obtained" choice (no default: staff pick one)."""
    return SelectField(
        _l("How the customer's consent was obtained"),
        choices=[SelectChoice("", _l("Choose how consent was obtained…"))]
        + [SelectChoice(m, policy.METHOD_LABELS[m]) for m in CONSENT_METHODS],
        validators=[InputRequired(_l("Say how the customer's consent was obtained."))],
    )


class StaffConsentFields(MarketingChoices):
    """The consent part of a staff form: the method and one unticked box per channel."""

    consent_method = method_field()
    marketing_sms = BooleanField(_l("Agrees to offers by SMS"))
    marketing_wechat = BooleanField(_l("Agrees to offers by WeChat"))
    marketing_email = BooleanField(_l("Agrees to offers by email"))


class CustomerConsentForm(StaffConsentFields, FlaskForm):
    """Staff change an existing customer's marketing consents."""


def record_staff_consent(staff: User, customer: User, form: StaffConsentFields) -> None:
    """Record the policy and marketing consents a staff member took down (flushed, audited)."""
    method = form.consent_method.data
    in_force = policy.current_policy()
    if in_force is None or not policy.has_accepted(customer, in_force):
        policy.accept_policy(customer, in_force, source="staff", method=method, by=staff)
    consent.record_choices(
        customer, form.marketing_channels(), source="staff", method=method, by=staff
    )


def prefill(form: CustomerConsentForm, customer: User) -> None:
    """Tick the boxes of the channels the customer consents to now."""
    now_on = consent.consents(customer.id)
    form.marketing_sms.data = now_on["sms"]
    form.marketing_wechat.data = now_on["wechat"]
    form.marketing_email.data = now_on["email"]
