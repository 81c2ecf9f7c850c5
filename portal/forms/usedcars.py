"""Used cars: the owner's sell request, buyers' inquiries, the market filter."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from portal.forms.fields import KM_RANGE, YEAR_RANGE, YUAN_RANGE, YuanField


class UsedCarEditForm(FlaskForm):
    """The car's state, which the owner gives when selling and changes when the expert asks."""

    mileage_km = IntegerField(
        _l("Mileage (km)"), validators=[InputRequired(), NumberRange(min=0, max=3_000_000)]
    )
    first_registered_on = DateField(_l("First registration date"), validators=[InputRequired()])
    asking_price = YuanField(_l("Asking price (yuan)"), validators=[DataRequired()])
    condition = TextAreaField(_l("Condition"), validators=[Optional(), Length(max=4000)])
    accident_history = TextAreaField(
        _l("Accident history"), validators=[Optional(), Length(max=4000)]
    )
    photos = MultipleFileField(_l("Add photos"))


class UsedCarForm(UsedCarEditForm):
    """A new sell request: which car (one of mine, or another typed in), then its state."""

    vehicle = SelectField(_l("Which car?"), coerce=int, default=0)
    vin = StringField(_l("VIN"), validators=[Optional(), Length(max=24)])
    brand = StringField(_l("Brand"), validators=[Optional(), Length(max=40)])
    series = StringField(_l("Series"), validators=[Optional(), Length(max=60)])
    model_year = IntegerField(
        _l("Model year"), validators=[Optional(), NumberRange(min=1950, max=2100)]
    )
    accident_history = TextAreaField(
        _l("Accident history"),
        validators=[Optional(), Length(max=4000)],
        description=_l('Say "none" if there was none.'),
    )
    photos = MultipleFileField(
        _l("Photos"), description=_l("Up to 12 photos (JPEG, PNG or WebP, 8 MB each).")
    )


class InquiryForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=20)])
    message = TextAreaField(_l("Message"), validators=[Optional(), Length(max=2000)])


class MarketFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    brand = SelectField(_l("Brand"), default="", validate_choice=False)
    price_min = IntegerField(_l("Price from (yuan)"), validators=[Optional(), YUAN_RANGE])
    price_max = IntegerField(_l("Price to (yuan)"), validators=[Optional(), YUAN_RANGE])
    year_min = IntegerField(_l("Model year from"), validators=[Optional(), YEAR_RANGE])
    year_max = IntegerField(_l("Model year to"), validators=[Optional(), YEAR_RANGE])
    km_max = IntegerField(_l("Mileage up to (km)"), validators=[Optional(), KM_RANGE])
