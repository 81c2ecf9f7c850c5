"""Back-office views for stores and the brands they sell, vehicles and the audit log."""

from __future__ import annotations

import re
from zoneinfo import available_timezones

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from admin import listing
from admin.base import StaffModelView
from crm import lifecycle
from portal.auth import current_account
from portal.errors import DomainError
from portal.extensions import db
from portal.forms import field_error
from portal.inputs import int_arg
from portal.models import Brand
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
        "brands",
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
        "brand_ids",
        "is_active",
    )
    column_labels = {
        "name": _l("Store name"),
        "rescue_phone": _l("24-hour rescue line"),
        "brands": _l("Brands sold"),
    }
    column_searchable_list = ("name",)
    form_args = {"timezone": {"validators": [known_zone]}}
    # The brands a store sells: a group store several. Chosen from the brands page's list; a
    # brand's manufacturer officer compares exactly the stores that sell it.
    form_extra_fields = {
        "brand_ids": SelectMultipleField(_l("Brands sold"), coerce=int, validators=[Optional()])
    }

    def create_form(self, obj=None):
        return _brand_choices(super().create_form(obj))

    def edit_form(self, obj=None):
        form = _brand_choices(super().edit_form(obj))
        if request.method == "GET" and obj is not None:
            form.brand_ids.data = [b.id for b in obj.brands]
        return form

    def on_model_change(self, form, model, is_created):
        if model.timezone not in available_timezones():  # never save a zone pages cannot show
            flash(ZONE_MESSAGE, "error")
            raise ValueError(str(ZONE_MESSAGE))
        chosen = form.brand_ids.data or []
        model.brands = list(db.session.scalars(select(Brand).where(Brand.id.in_(chosen))))
        super().on_model_change(form, model, is_created)


def _brand_choices(form):
    """Offer every brand on a store's form (a choice outside them is refused)."""
    brands = db.session.scalars(select(Brand).order_by(Brand.code))
    form.brand_ids.choices = [SelectChoice(b.id, str(b)) for b in brands]
    return form


BRAND_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,19}")


def brand_code(form, field) -> None:
    """A brand's code is short Latin capitals and digits (BYD, GEELY); stored upper-case."""
    field.data = (field.data or "").strip().upper()
    if not BRAND_CODE.fullmatch(field.data):
        raise ValidationError(_("Use up to 20 Latin letters, digits or hyphens, such as BYD."))


def unique_brand(column: str):
    """Refuse a brand's code or name that another brand already has (whatever the case)."""

    def check(form, field) -> None:
        field.data = (field.data or "").strip()  # DataRequired has refused a blank one
        editing = int_arg(request.args.get("id"), minimum=1) or 0  # the brand being edited
        taken = db.session.scalar(
            select(Brand.id).where(
                func.lower(getattr(Brand, column)) == field.data.lower(), Brand.id != editing
            )
        )
        if taken is not None:
            raise ValidationError(_("Another brand already has this."))

    return check


class BrandAdmin(StaffModelView):
    """The car brands the group's stores sell, in Chinese and English (administrators only);
    a store's brands are chosen on the store, a manufacturer's officer gets one brand."""

    column_list = ("code", "name", "name_en", "stores")
    form_columns = ("code", "name", "name_en")
    column_labels = {
        "code": _l("Brand code"),
        "name": _l("Chinese name"),
        "name_en": _l("English name"),
        "stores": _l("Stores selling it"),
    }
    column_searchable_list = ("code", "name", "name_en")
    column_default_sort = "code"
    form_args = {
        "code": {"validators": [DataRequired(), brand_code, unique_brand("code")]},
        "name": {"validators": [DataRequired(), Length(max=40), unique_brand("name")]},
        "name_en": {"validators": [DataRequired(), Length(max=60), unique_brand("name_en")]},
    }


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
