"""Back-office views for stores, vehicles and the audit log."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import flash
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from admin import listing
from admin.base import StaffModelView

ZONE_MESSAGE = _l("Choose a time zone such as Asia/Shanghai or Asia/Urumqi.")


def known_zone(form, field) -> None:
    """A store's time zone must be an IANA name (Asia/Shanghai): every page shows times in it."""
    if (field.data or "") not in available_timezones():
        raise ValidationError(ZONE_MESSAGE)


class StoreAdmin(StaffModelView):
    """Stores of the group (administrators only)."""

    column_list = (
        "name",
        "address",
        "phone",
        "timezone",
        "opens_at",
        "closes_at",
        "bays",
        "is_active",
    )
    form_columns = (
        "name",
        "address",
        "phone",
        "rescue_phone",
        "timezone",
        "opens_at",
        "closes_at",
        "bays",
        "is_active",
    )
    column_labels = {"rescue_phone": _l("24-hour rescue line")}
    column_searchable_list = ("name",)
    form_args = {"timezone": {"validators": [known_zone]}}

    def on_model_change(self, form, model, is_created):
        if model.timezone not in available_timezones():  # never save a zone pages cannot show
            flash(ZONE_MESSAGE, "error")
            raise ValueError(str(ZONE_MESSAGE))
        super().on_model_change(form, model, is_created)


class VehicleAdmin(StaffModelView):
    """Vehicles of the store's owners (read-only: owners manage their own vehicles)."""

    can_create = False
    can_edit = False
    can_view_details = True
    column_list = ("plate", "vin", "brand", "series", "model_year", "current_km", "owner")
    # Plates and VINs by prefix (an index each); brand and model year are filters.
    column_searchable_list = ("plate", "vin")
    search_rules = {"plate": listing.UPPER_PREFIX, "vin": listing.UPPER_PREFIX}
    column_filters = ("brand", "model_year")
    # A car carries its owner's store: one index (store_id, plate) serves the filter and sort.
    store_column = "store_id"
    column_labels = {"warranty_ends_on": _l("Warranty ends")}


class AuditAdmin(StaffModelView):
    """The audit log: read-only for managers (their store) and admins (all)."""

    store_column = "store_id"
    can_create = False
    can_edit = False
    can_view_details = True
    column_list = ("at", "actor", "action", "target_type", "target_id", "ip")
    column_filters = ("action", "target_type")
    column_searchable_list = ("action",)
    search_rules = {"action": listing.PREFIX}
    column_default_sort = ("at", True)
