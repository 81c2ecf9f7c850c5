"""The owner's cars: add, edit, mileage."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)


class VehicleEditForm(FlaskForm):
    plate = StringField(_l("Plate number"), validators=[DataRequired(), Length(max=12)])
    brand = StringField(_l("Brand"), validators=[DataRequired(), Length(max=40)])
    series = StringField(_l("Series"), validators=[DataRequired(), Length(max=60)])
    model_year = IntegerField(
        _l("Model year"), validators=[InputRequired(), NumberRange(min=1950, max=2100)]
    )
    purchase_date = DateField(_l("Purchase date"), validators=[Optional()])


class VehicleForm(VehicleEditForm):
    vin = StringField(
        _l("VIN"),
        validators=[DataRequired(), Length(max=24)],
        description=_l("17 characters, on the registration certificate (行驶证)."),
    )
    km = IntegerField(
        _l("Current mileage (km)"),
        default=0,
        validators=[InputRequired(), NumberRange(min=0, max=3_000_000)],
    )

    field_order = ("vin", "plate", "brand", "series", "model_year", "purchase_date", "km")


class MileageForm(FlaskForm):
    km = IntegerField(
        _l("Current mileage (km)"),
        validators=[InputRequired(), NumberRange(min=0, max=3_000_000)],
    )
