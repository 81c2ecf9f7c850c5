"""Owner-facing forms. Validation messages appear next to their fields."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    MultipleFileField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal.money import MAX_FEN, MoneyError, parse_yuan

# Filters take what a real car can have; a larger number is a typo, never a database overflow.
_YUAN_RANGE = NumberRange(min=0, max=MAX_FEN // 100)
_YEAR_RANGE = NumberRange(min=1950, max=2100)
_KM_RANGE = NumberRange(min=0, max=3_000_000)


class LoginForm(FlaskForm):
    login = StringField(_l("Mobile number or email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class RegisterForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Mobile number"), validators=[Optional(), Length(max=20)])
    email = EmailField(_l("Email (optional)"), validators=[Optional(), Length(max=254)])
    store = SelectField(_l("Your store"), coerce=int, validators=[InputRequired()])
    referral = StringField(
        _l("Referral code (optional)"),
        validators=[Optional(), Length(max=20)],
        description=_l("From your advisor or a friend who already drives with us."),
    )
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


class YuanField(StringField):
    """An amount typed in yuan (up to two decimals); .fen holds it as integer fen."""

    fen: int | None = None
    error: str | None = None

    def __init__(self, *args, max_fen: int = MAX_FEN, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_fen = max_fen

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.fen, self.error = None, None
        if not (self.data or "").strip():
            return
        try:
            self.fen = parse_yuan(self.data, max_fen=self.max_fen)
        except MoneyError as exc:
            self.error = str(exc)

    def pre_validate(self, form):
        if self.error:
            raise ValidationError(_(self.error))


class UsedCarForm(FlaskForm):
    vehicle = SelectField(_l("Which car?"), coerce=int, default=0)
    vin = StringField(_l("VIN"), validators=[Optional(), Length(max=24)])
    brand = StringField(_l("Brand"), validators=[Optional(), Length(max=40)])
    series = StringField(_l("Series"), validators=[Optional(), Length(max=60)])
    model_year = IntegerField(
        _l("Model year"), validators=[Optional(), NumberRange(min=1950, max=2100)]
    )
    mileage_km = IntegerField(
        _l("Mileage (km)"), validators=[InputRequired(), NumberRange(min=0, max=3_000_000)]
    )
    first_registered_on = DateField(_l("First registration date"), validators=[InputRequired()])
    asking_price = YuanField(_l("Asking price (yuan)"), validators=[DataRequired()])
    condition = TextAreaField(_l("Condition"), validators=[Optional(), Length(max=4000)])
    accident_history = TextAreaField(
        _l("Accident history"),
        validators=[Optional(), Length(max=4000)],
        description=_l('Say "none" if there was none.'),
    )
    photos = MultipleFileField(
        _l("Photos"), description=_l("Up to 12 photos (JPEG, PNG or WebP, 8 MB each).")
    )


class UsedCarEditForm(FlaskForm):
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


class InquiryForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=20)])
    message = TextAreaField(_l("Message"), validators=[Optional(), Length(max=2000)])


class MarketFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    brand = SelectField(_l("Brand"), default="", validate_choice=False)
    price_min = IntegerField(_l("Price from (yuan)"), validators=[Optional(), _YUAN_RANGE])
    price_max = IntegerField(_l("Price to (yuan)"), validators=[Optional(), _YUAN_RANGE])
    year_min = IntegerField(_l("Model year from"), validators=[Optional(), _YEAR_RANGE])
    year_max = IntegerField(_l("Model year to"), validators=[Optional(), _YEAR_RANGE])
    km_max = IntegerField(_l("Mileage up to (km)"), validators=[Optional(), _KM_RANGE])


def field_error(form, exc, default: str) -> None:
    """Show a service's domain error next to the field it names (or the default field)."""
    field = getattr(form, exc.field or default, None) or getattr(form, default)
    field.errors = [*field.errors, exc.message]
