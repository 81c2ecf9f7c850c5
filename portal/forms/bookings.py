"""Forms of the owner's booking pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

SERVICE_TYPE_LABELS = {
    "maintenance": _l("Maintenance"),
    "repair": _l("Repair"),
    "inspection": _l("Inspection"),
    "bodywork": _l("Bodywork"),
    "tyres": _l("Tyres"),
    "other": _l("Other"),
}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BookingForm(FlaskForm):
    vehicle = SelectField(_l("Car"), coerce=int, validators=[InputRequired()])
    store = SelectField(_l("Store"), coerce=int, validators=[InputRequired()])
    service_types = MultiCheckboxField(_l("What should we do?"))
    description = TextAreaField(
        _l("Describe the fault"),
        validators=[Optional(), Length(max=2000)],
        description=_l("What happens, since when, any warning lights or noises."),
    )
    photos = MultipleFileField(_l("Photos (up to 6)"))
    maintenance_items = HiddenField()
    day = SelectField(_l("Day"), validators=[InputRequired()])
    slot = RadioField(_l("Time"), validators=[Optional()], validate_choice=False)


class SlotForm(FlaskForm):
    day = SelectField(_l("Day"), validators=[InputRequired()])
    slot = RadioField(_l("Time"), validators=[Optional()], validate_choice=False)


class RatingForm(FlaskForm):
    service_stars = IntegerField(_l("The service"), validators=[InputRequired(), NumberRange(1, 5)])
    advisor_stars = IntegerField(
        _l("Your advisor"), validators=[InputRequired(), NumberRange(1, 5)]
    )
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=1000)])


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=200)])
