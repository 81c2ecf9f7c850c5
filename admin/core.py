"""Back-office views for stores and the brands they sell, vehicles and the audit log."""

from __future__ import annotations

import re
from zoneinfo import available_timezones

from flask import abort, flash, g, has_request_context, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from wtforms import DateField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from admin import audit_labels, display, listing
from admin.base import StaffModelView
from crm import trade_ins
from portal import access
from portal.auth import current_account
from portal.errors import DomainError
from portal.extensions import db
from portal.forms import field_error
from portal.inputs import int_arg
from portal.models import AuditEvent, Brand, User
from portal.models.accounts import STAFF_ROLES
from portal.models.stores import brand_key
from portal.services import vehicles
from portal.timeutil import now

STAFF_OPTIONS = 500  # the staff filter's choices: a store has tens; an administrator sees the first
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
        if column == "name_en":  # the key the database keeps unique
            same = Brand.name_en_key == brand_key(field.data)
        else:
            same = func.lower(getattr(Brand, column)) == field.data.lower()
        taken = db.session.scalar(select(Brand.id).where(same, Brand.id != editing))
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

    def handle_view_exception(self, exc: Exception) -> bool:
        # The form's check passed, and another brand of the same English name was saved in
        # between: the database's unique key refused this one; say which field clashes.
        if isinstance(exc, IntegrityError) and "name_en_key" in str(exc.orig):
            flash(
                _(
                    "Another brand already has this English name (whatever its case). "
                    "Nothing was changed."
                ),
                "error",
            )
            return True
        return super().handle_view_exception(exc)


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
                    trade_ins.warranty_entered(vehicle, now())
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


class StaffChoices:
    """The staff filter's options, read at each page view (Flask-Admin keeps a filter's options
    from start-up; this object is iterated per request): the staff of the viewer's store, every
    store's for an administrator, by name."""

    def __bool__(self) -> bool:
        return True

    def __iter__(self):
        if not has_request_context() or not current_user.is_authenticated:
            return iter(())
        stmt = select(User.id, User.name).where(User.role.in_(STAFF_ROLES))
        stmt = access.store_scope(stmt, User.store_id, current_user).order_by(User.name, User.id)
        rows = db.session.execute(stmt.limit(STAFF_OPTIONS))
        return iter([(str(i), name) for i, name in rows])


class StaffFilter(sqla_filters.IntEqualFilter):
    """The audit log's "by staff member" filter: a choice of the store's staff."""

    def clean(self, value):
        number = int_arg(value, minimum=1)
        return -1 if number is None else number  # an id no row has: an empty list, not a 500


def _action_cell(view, context, model, name) -> str:
    return audit_labels.action_label(model.action)


def _record_type_cell(view, context, model, name) -> str:
    return audit_labels.record_type_label(model.target_type)


def _record_cell(view, context, model, name):
    role = None
    if model.target_type == "User" and model.target_id is not None:
        roles = g.get("m4s_audit_roles")  # the list loads its page's accounts in one query
        if roles is None:
            user = db.session.get(User, model.target_id)
            role = user.role if user is not None else None
        else:
            role = roles.get(model.target_id)
    return audit_labels.record_link(model.target_type, model.target_id, role)


class AuditAdmin(StaffModelView):
    """The audit log: read-only for managers (their store) and admins (all), newest first,
    paged by a keyset (an "older" cursor), never OFFSET."""

    store_column = "store_id"
    can_create = False
    can_edit = False
    can_view_details = True
    list_template = "admin/audit/list.html"
    column_list = ("at", "actor", "action", "target_id", "ip")  # the record says its type
    column_labels = {"target_id": _l("Record")}
    column_sortable_list = ()  # newest first, always: the keyset follows (at, id)
    column_default_sort = [("at", True), ("id", True)]
    column_formatters = {
        "action": _action_cell,
        "target_type": _record_type_cell,
        "target_id": _record_cell,
    }
    column_formatters_detail = column_formatters
    column_formatters_export = {"action": _action_cell, "target_type": _record_type_cell}

    def __init__(self, *args, **kwargs):
        self.column_choices = {"action": audit_labels.action_choices()}
        self.column_filters = (
            sqla_filters.FilterEqual(
                AuditEvent.action, _l("Action"), options=audit_labels.action_choices()
            ),
            StaffFilter(AuditEvent.actor_id, _l("Staff member"), options=StaffChoices()),
            display.StoreDaysFilter(AuditEvent.at, _l("Date range")),
        )
        super().__init__(*args, **kwargs)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        if not execute:  # the export walks the whole filtered list itself
            return super().get_list(
                page, sort_column, sort_desc, search, filters, execute=False, page_size=page_size
            )
        _count, query = super().get_list(
            0, None, False, search, filters, execute=False, page_size=page_size
        )
        every = query.limit(None).offset(None).order_by(None)
        g.m4s_every = listing.rows_of(self.model, every)
        count = listing.bounded_count(g.m4s_every)
        g.m4s_estimate = None if count is not None else listing.planner_estimate(g.m4s_every)
        size = page_size or self.page_size
        rows = every.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        before = int_arg(request.args.get("before"), minimum=1)
        mark = None
        if before is not None:  # the cursor row, looked up in the same scope: a foreign id is none
            mark = every.filter(AuditEvent.id == before).with_entities(AuditEvent.at).scalar()
        if mark is not None:
            rows = rows.filter(
                or_(AuditEvent.at < mark, and_(AuditEvent.at == mark, AuditEvent.id < before))
            )
        found = rows.limit(size + 1).all()  # the actor comes joined (Flask-Admin)
        g.m4s_audit_older = found[size - 1].id if len(found) > size else None
        g.m4s_audit_paged = mark is not None
        users = [r.target_id for r in found if r.target_type == "User" and r.target_id]
        g.m4s_audit_roles = dict(
            db.session.execute(select(User.id, User.role).where(User.id.in_(users))).all()
        )
        return count, found[:size]

    def page_url(self, before: int | None) -> str:
        """Return this list's address (its filters kept) from the cursor `before` on."""
        args = request.args.to_dict(flat=False)
        args.pop("page", None)
        args.pop("before", None)
        if before is not None:
            args["before"] = [str(before)]
        return url_for(".index_view", **args)
