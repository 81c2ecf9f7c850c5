"""Forms of the channels: sign-in by SMS code, WeChat binding."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class SmsCodeRequestForm(FlaskForm):
    phone = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=20)])


class SmsCodeForm(FlaskForm):
    code = StringField(_l("6-digit code"), validators=[DataRequired(), Length(max=6)])


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token: a confirmation button."""
