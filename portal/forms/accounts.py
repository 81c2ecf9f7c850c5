"""Sign-in, registration and password forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    Optional,
)


class LoginForm(FlaskForm):
    login = StringField(_l("Mobile number or email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class MarketingChoices:
    """One unticked box per marketing channel (marketing_sms, _wechat, _email on the form)."""

    def marketing_channels(self) -> set[str]:
        """Return the marketing channels that were ticked."""
        ticked = {
            "sms": self.marketing_sms.data,
            "wechat": self.marketing_wechat.data,
            "email": self.marketing_email.data,
        }
        return {channel for channel, on in ticked.items() if on}


class RegisterForm(MarketingChoices, FlaskForm):
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
    # Never ticked in advance (PIPL): the policy is agreed to, marketing asked per channel.
    accept_policy = BooleanField(
        _l("I have read and agree to the privacy policy"),
        validators=[DataRequired(_l("Agree to the privacy policy to create an account."))],
    )
    policy_version = HiddenField()
    marketing_sms = BooleanField(_l("Offers by SMS"))
    marketing_wechat = BooleanField(_l("Offers by WeChat"))
    marketing_email = BooleanField(_l("Offers by email"))


class PolicyAcceptForm(FlaskForm):
    accept_policy = BooleanField(
        _l("I have read and agree to the new privacy policy"),
        validators=[DataRequired(_l("Agree to the new privacy policy to go on."))],
    )
    policy_version = HiddenField()


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


class ErasureForm(FlaskForm):
    """Delete my account: the password again, so that a borrowed phone cannot do it."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=1024)])
