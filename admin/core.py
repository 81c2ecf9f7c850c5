"""Back-office views for stores, vehicles and the audit log."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import ValidationError

from admin import listing
from admin.base import StaffModelView
from crm import lifecycle
from portal.auth import current_account
from portal.errors import DomainError
from portal.extensions import db
from portal.forms import field_error
from portal.services import vehicles
from portal.timeutil import now

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
    column_labels = {"name": _l("Store name"), "rescue_phone": _l("24-hour rescue line")}
    column_searchable_list = ("name",)
    form_args = {"timezone": {"validators": [known_zone]}}

    def on_model_change(self, form, model, is_created):
        if model.timezone not in available_timezones():  # never save a zone pages cannot show
            flash(ZONE_MESSAGE, "error")
            raise ValueError(str(ZONE_MESSAGE))
        super().on_model_change(form, model, is_created)


class WarrantyForm(FlaskForm):
    ends_on = DateField(_l("Maker's warranty ends"))


class VehicleAdmin(StaffModelView):
    """Vehicles of the store's owners (owners manage their own vehicles; the store's staff
    enter the maker's warranty end, which the trade-in call reads)."""

    can_create = False
    can_edit = False
    can_view_details = True
    details_template = "admin/vehicles/details.html"
    column_list = (
        "plate",
        "vin",
        "brand",
        "series",
        "model_year",
        "current_km",
        "owner",
        "warranty_ends_on",
    )
    # Plates and VINs by prefix (an index each); brand and model year are filters.
    column_searchable_list = ("plate", "vin")
    search_rules = {"plate": listing.UPPER_PREFIX, "vin": listing.UPPER_PREFIX}
    column_filters = ("brand", "model_year")
    # A car carries its owner's store: one index (store_id, plate) serves the filter and sort.
    store_column = "store_id"
    column_labels = {"warranty_ends_on": _l("Warranty ends")}

    @expose("/warranty/<int:vehicle_id>", methods=("GET", "POST"))
    def warranty(self, vehicle_id: int):
        """Enter the maker's warranty end of one of the store's cars."""
        vehicle = self.get_one(str(vehicle_id))  # another store's car does not exist here
        if vehicle is None:
            abort(404)
        form = WarrantyForm()
        to_customer = request.values.get("back") == "customer"
        if request.method == "POST":
            if form.validate_on_submit():
                try:
                    vehicles.set_warranty(current_account(), vehicle, form.ends_on.data)
                except DomainError as exc:
                    db.session.rollback()
                    field_error(form, exc, "ends_on")
                else:
                    lifecycle.warranty_entered(vehicle, now())
                    db.session.commit()
                    flash(_("Warranty end saved."), "success")
                    if to_customer:
                        back = url_for("crm_customers.show", customer_id=vehicle.owner_id)
                    else:
                        back = url_for(".details_view", id=vehicle.id)
                    return redirect(back, code=303)
            return self._warranty_page(vehicle, form, to_customer), 422
        form.ends_on.data = vehicle.warranty_ends_on
        return self._warranty_page(vehicle, form, to_customer)

    def _warranty_page(self, vehicle, form: WarrantyForm, to_customer: bool):
        return self.render(
            "admin/vehicles/warranty.html", vehicle=vehicle, form=form, to_customer=to_customer
        )


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
