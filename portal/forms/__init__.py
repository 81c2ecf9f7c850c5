"""Owner-facing forms, one module per area. Validation messages appear next to their fields."""

from portal.forms.accounts import (
    ChangePasswordForm,
    ForgotForm,
    LoginForm,
    RegisterForm,
    ResetForm,
)
from portal.forms.fields import YuanField, field_error
from portal.forms.usedcars import InquiryForm, MarketFilterForm, UsedCarEditForm, UsedCarForm
from portal.forms.vehicles import MileageForm, VehicleEditForm, VehicleForm

__all__ = [
    "ChangePasswordForm",
    "ForgotForm",
    "InquiryForm",
    "LoginForm",
    "MarketFilterForm",
    "MileageForm",
    "RegisterForm",
    "ResetForm",
    "UsedCarEditForm",
    "UsedCarForm",
    "VehicleEditForm",
    "VehicleForm",
    "YuanField",
    "field_error",
]
