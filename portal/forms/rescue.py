"""Forms of the owner's roadside rescue pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    FloatField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput


class RescueForm(FlaskForm):
    vehicle = SelectField(_l("Car"), coerce=int, validators=[InputRequired()])
    problem = RadioField(_l("What happened?"), validators=[InputRequired()])
    address = StringField(
        _l("Where are you?"),
        validators=[Optional(), Length(max=255)],
        description=_l(
            "Road, direction, nearest exit or landmark. Needed if we cannot locate you."
        ),
    )
    note = TextAreaField(_l("Anything else (optional)"), validators=[Optional(), Length(max=1000)])
    callback_phone = StringField(
        _l("Phone to call you back"), validators=[InputRequired(), Length(max=20)]
    )
    latitude = FloatField(widget=HiddenInput(), validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField(widget=HiddenInput(), validators=[Optional(), NumberRange(-180, 180)])
    accuracy = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(0, 100000)])
    # Generated when the form is shown: a double tap or a retried POST carries the same key.
    token = HiddenField(validators=[InputRequired(), Length(min=16, max=64)])


class RescueCancelForm(FlaskForm):
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=200)])
