"""Forms of complaints (the owner's, the staff member's) and of the CSI survey."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from crm.complaints import CATEGORY_LABELS, SEVERITY_LABELS

SEVERITY_CHOICES = [SelectChoice(k, v) for k, v in SEVERITY_LABELS.items()]


def _categories() -> list[SelectChoice]:
    return [SelectChoice(k, v) for k, v in CATEGORY_LABELS.items()]


class OwnerComplaintForm(FlaskForm):
    store = SelectField(_l("Store"), coerce=str, validate_choice=False)
    booking = SelectField(_l("Which visit is it about?"), coerce=str, validate_choice=False)
    category = SelectField(_l("What is it about?"), choices=_categories())
    description = TextAreaField(
        _l("What went wrong?"), validators=[DataRequired(), Length(max=4000)]
    )


class StaffComplaintForm(FlaskForm):
    source = SelectField(
        _l("Received by"),
        choices=[SelectChoice("phone", _l("Phone call")), SelectChoice("walk_in", _l("Walk-in"))],
    )
    phone = StringField(_l("Customer's mobile number"), validators=[DataRequired(), Length(max=20)])
    booking = StringField(_l("Job number (optional)"), validators=[Optional(), Length(max=12)])
    category = SelectField(_l("What is it about?"), choices=_categories())
    severity = SelectField(
        _l("Severity of the complaint"), choices=SEVERITY_CHOICES, default="medium"
    )
    technician = SelectField(_l("Technician concerned"), coerce=str, validate_choice=False)
    description = TextAreaField(
        _l("What went wrong?"), validators=[DataRequired(), Length(max=4000)]
    )


class ResolveForm(FlaskForm):
    resolution = TextAreaField(
        _l("Resolution notes and actions"), validators=[DataRequired(), Length(max=4000)]
    )


class AnswerForm(FlaskForm):
    note = TextAreaField(_l("Anything to add?"), validators=[Optional(), Length(max=2000)])


class SurveyForm(FlaskForm):
    comment = TextAreaField(_l("Anything you want to tell us?"), validators=[Length(max=2000)])
