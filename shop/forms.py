"""Shop forms: quantities and checkout. Prices are never part of a form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional


def _quantity(minimum: int, out_of_range, **kw) -> IntegerField:
    """A quantity from minimum to 99 units (0 removes a cart line)."""
    return IntegerField(
        _l("Quantity"),
        validators=[
            InputRequired(message=_l("Enter a quantity.")),
            NumberRange(min=minimum, max=99, message=out_of_range),
        ],
        **kw,
    )


class QuantityForm(FlaskForm):
    quantity = _quantity(0, _l("Enter a quantity from 0 to 99."))


class AddForm(FlaskForm):
    quantity = _quantity(1, _l("Enter a quantity from 1 to 99."), default=1)


class _OrderForm(FlaskForm):
    """How the order reaches the owner and how it is paid (checkout and buy now)."""

    delivery = RadioField(
        _l("Delivery"),
        choices=[
            SelectChoice("pickup", _l("Pick up at a store")),
            SelectChoice("delivery", _l("Deliver to an address")),
        ],
        default="pickup",
        validators=[InputRequired()],
    )
    store = SelectField(_l("Store"), coerce=int, validators=[InputRequired()])
    address = StringField(_l("Delivery address"), validators=[Optional(), Length(max=255)])
    payment = RadioField(_l("Payment"), default="store", validators=[InputRequired()])
    pickup_on = DateField(_l("Pickup day (pay at the store)"), validators=[Optional()])
    fits_confirmed = BooleanField(
        _l("I know that some of these parts fit none of my cars, and I still want them.")
    )


class CheckoutForm(_OrderForm):
    expected_total_fen = HiddenField()
    # One of the owner's usable coupons (choices set per request), or a code typed instead.
    coupon = SelectField(_l("Choose one of my coupons"), validate_choice=False, default="")
    coupon_code = StringField(_l("Or enter a coupon code"), validators=[Optional(), Length(max=24)])

    def coupon_wanted(self) -> str:
        """The code the owner typed, else the coupon they picked ("" for none)."""
        return (self.coupon_code.data or "").strip() or (self.coupon.data or "")


class BuyForm(_OrderForm):
    """Buy now: one product straight from its page, without the cart."""

    quantity = _quantity(1, _l("Enter a quantity from 1 to 99."), default=1)
    expected_price_fen = HiddenField()
