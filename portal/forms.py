"""Owner-facing forms. Validation messages appear next to their fields."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional


class LoginForm(FlaskForm):
    login = StringField(_l("Mobile number or email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class RegisterForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Mobile number"), validators=[Optional(), Length(max=20)])
    email = EmailField(_l("Email (optional)"), validators=[Optional(), Length(max=254)])
    store = SelectField(_l("Your store"), coerce=int, validators=[InputRequired()])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=1024)],
        description=_l(
            "At least 8 characters. A long phrase is easy to remember and hard to guess."
        ),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ForgotForm(FlaskForm):
    login = StringField(_l("Email"), validators=[DataRequired(), Length(max=254)])


class ResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


class VehicleEditForm(FlaskForm):
    plate = StringField(_l("Plate number"), validators=[DataRequired(), Length(max=12)])
    brand = StringField(_l("Brand"), validators=[DataRequired(), Length(max=40)])
    series = StringField(_l("Series"), validators=[DataRequired(), Length(max=60)])
    model_year = IntegerField(_l("Model year"), validators=[InputRequired()])
    purchase_date = DateField(_l("Purchase date"), validators=[Optional()])


class VehicleForm(VehicleEditForm):
    vin = StringField(
        _l("VIN"),
        validators=[DataRequired(), Length(max=24)],
        description=_l("17 characters, on the registration certificate (行驶证)."),
    )
    km = IntegerField(
        _l("Current mileage (km)"), default=0, validators=[InputRequired(), NumberRange(min=0)]
    )

    field_order = ("vin", "plate", "brand", "series", "model_year", "purchase_date", "km")


class MileageForm(FlaskForm):
    km = IntegerField(
        _l("Current mileage (km)"),
        validators=[InputRequired(), NumberRange(min=0, max=3_000_000)],
    )
