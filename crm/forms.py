"""Forms of a new-car inquiry: the owner's (portal) and the staff member's (phone, walk-in)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from crm.leads import SOURCE_LABELS, TIMEFRAME_LABELS
from crm.models import PHONE, REFERRAL, WALK_IN
from portal.forms import YuanField

BUDGET_MAX_FEN = 10_000_000_00  # ten million yuan: beyond any car we sell


class InterestForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=20)])
    store = SelectField(_l("Store"), coerce=str, validate_choice=False)
    model_interest = StringField(_l("Model of interest"), validators=[Optional(), Length(max=80)])
    budget = YuanField(_l("Budget (yuan)"), max_fen=BUDGET_MAX_FEN)
    timeframe = SelectField(
        _l("When do you plan to buy?"),
        choices=[SelectChoice(k, v) for k, v in TIMEFRAME_LABELS.items()],
        default="later",
    )
    test_drive = BooleanField(_l("I would like a test drive"))
    note = TextAreaField(_l("Anything else?"), validators=[Optional(), Length(max=2000)])
    utm_source = HiddenField(validators=[Optional(), Length(max=60)])
    utm_medium = HiddenField(validators=[Optional(), Length(max=60)])
    utm_campaign = HiddenField(validators=[Optional(), Length(max=60)])


class TradeInForm(FlaskForm):
    """A request to value the car the customer would trade in (crm.trade_in)."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=20)])
    store = SelectField(_l("Store"), coerce=str, validate_choice=False)
    vehicle = SelectField(_l("Your car"), coerce=str, validate_choice=False, default="")
    brand = StringField(_l("Brand"), validators=[Optional(), Length(max=40)])
    series = StringField(_l("Model"), validators=[Optional(), Length(max=60)])
    model_year = IntegerField(_l("Model year"), validators=[Optional()])
    mileage_km = IntegerField(_l("Mileage (km)"), validators=[Optional()])
    model_interest = StringField(
        _l("The new car you would like (optional)"), validators=[Optional(), Length(max=80)]
    )
    note = TextAreaField(_l("Anything else?"), validators=[Optional(), Length(max=2000)])


class StaffLeadForm(FlaskForm):
    source = SelectField(
        _l("Source"),
        choices=[SelectChoice(k, SOURCE_LABELS[k]) for k in (PHONE, WALK_IN, REFERRAL)],
        default=PHONE,
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=20)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    vin = StringField(
        _l("VIN of a car they own (optional)"), validators=[Optional(), Length(max=24)]
    )
    model_interest = StringField(_l("Model of interest"), validators=[Optional(), Length(max=80)])
    budget = YuanField(_l("Budget (yuan)"), max_fen=BUDGET_MAX_FEN)
    timeframe = SelectField(
        _l("Purchase timeframe"),
        choices=[SelectChoice(k, v) for k, v in TIMEFRAME_LABELS.items()],
        default="later",
    )
    test_drive = BooleanField(_l("Wants a test drive"))
    note = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])


class InvitationForm(FlaskForm):
    """An agent's invitation of a lead to the showroom: when, what for, and whom they meet."""

    kind = SelectField(_l("What the visit is for"), choices=[], default="visit")
    starts_at = StringField(
        _l("Date and time of the visit"), validators=[DataRequired(), Length(max=16)]
    )
    advisor = SelectField(_l("Salesperson to meet"), coerce=str, choices=[])
    note = TextAreaField(_l("Note for the salesperson"), validators=[Optional(), Length(max=2000)])


class ProfileForm(FlaskForm):
    """The structured customer card that staff keep: wishes, budget, car to trade in, tags."""

    model_interest = StringField(_l("Model of interest"), validators=[Optional(), Length(max=80)])
    budget = YuanField(_l("Budget (yuan)"), max_fen=BUDGET_MAX_FEN)
    timeframe = SelectField(
        _l("Purchase timeframe"),
        choices=[SelectChoice("", "—"), *(SelectChoice(k, v) for k, v in TIMEFRAME_LABELS.items())],
        default="",
    )
    trade_in = StringField(_l("Car to trade in"), validators=[Optional(), Length(max=120)])
    driving = StringField(_l("Driving preferences"), validators=[Optional(), Length(max=300)])
    competitors = StringField(
        _l("Competitors considered"), validators=[Optional(), Length(max=200)]
    )
    birthday = DateField(_l("Birthday"), validators=[Optional()])
    tier = SelectField(_l("Customer tier"), coerce=str, choices=[], validate_choice=False)
    tags = StringField(_l("Tags, separated by commas"), validators=[Optional(), Length(max=300)])
    notes = TextAreaField(
        _l("Notes (hobbies, family, anything else)"), validators=[Optional(), Length(max=4000)]
    )


class QuoteAnswerForm(FlaskForm):
    """A customer answers the quote sent to them: I accept, or call me (with a note)."""

    note = TextAreaField(
        _l("Anything to tell your advisor? (optional)"),
        validators=[Optional(), Length(max=500)],
    )


class CallMeForm(FlaskForm):
    """A campaign recipient asks the store to call (the offer page of a tracked link)."""

    note = TextAreaField(
        _l("What would you like to talk about? (optional)"),
        validators=[Optional(), Length(max=500)],
    )
