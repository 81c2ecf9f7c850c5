"""Back office: advisors book customers who phone in, and check in cars that walk in.

Find the customer by phone, plate or VIN (the CRM's search, in the staff member's scope), or
enter a new one with their consent and car; the job then joins the queue like any booking."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from admin.base import StaffView
from admin.consent import StaffConsentFields, record_staff_consent
from crm import customer_search, timeline
from crm.customers import clean_contact, find_or_add
from portal import access
from portal.auth import current_account
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.forms import field_error
from portal.forms.bookings import SERVICE_TYPE_LABELS, MultiCheckboxField
from portal.inputs import int_arg
from portal.models import Store, User, Vehicle
from portal.models.accounts import ADVISOR
from portal.models.bookings import PHONE, WALK_IN
from portal.services import bookings as svc
from portal.services.bookings.staff import MAX_KM, vehicle_for
from portal.views.bookings.picker import (
    day_choices,
    first_free_day,
    parse_day,
    parse_slot,
    slot_choices,
)

NEW_CAR = "new"


class JobForm(FlaskForm):
    source = RadioField(
        _l("How the customer came"),
        choices=[
            SelectChoice(PHONE, _l("Phoned: book a time")),
            SelectChoice(WALK_IN, _l("Walked in: check in now")),
        ],
        default=PHONE,
    )
    vehicle = RadioField(_l("Car"), validate_choice=False, default=NEW_CAR)
    plate = StringField(_l("Plate"), validators=[Optional(), Length(max=12)])
    vin = StringField(_l("VIN"), validators=[Optional(), Length(max=24)])
    brand = StringField(_l("Brand"), validators=[Optional(), Length(max=40)])
    series = StringField(_l("Model"), validators=[Optional(), Length(max=60)])
    model_year = IntegerField(
        _l("Model year"), validators=[Optional(), NumberRange(1980, 2100)], default=None
    )
    service_types = MultiCheckboxField(_l("Work"))
    description = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    day = SelectField(_l("Day"), validate_choice=False)
    slot = RadioField(_l("Time"), validators=[Optional()], validate_choice=False)
    km = IntegerField(_l("Mileage (km)"), validators=[Optional(), NumberRange(0, MAX_KM)])


class NewCustomerJobForm(StaffConsentFields, JobForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=20)])


def _me() -> User:
    return current_account()


def _store() -> Store:
    store = db.session.get(Store, _me().store_id) if _me().store_id else None
    if store is None:
        abort(403)
    return store


def _prepare(form: JobForm, store: Store, customer: User | None) -> None:
    """Fill the car, work, day and slot choices (the owner portal's picker, the same slots)."""
    cars = list(customer.vehicles) if customer is not None else []
    form.vehicle.choices = [SelectChoice(str(v.id), f"{v.plate} · {v.label}") for v in cars] + [
        SelectChoice(NEW_CAR, _l("Another car (enter it below)"))
    ]
    if request.method == "GET" and cars:
        form.vehicle.data = str(cars[0].id)
    form.service_types.choices = [SelectChoice(k, v) for k, v in SERVICE_TYPE_LABELS.items()]
    form.day.choices = day_choices(store)
    if form.day.data:
        day, slots = parse_day(form.day.data, store), None
    else:
        day, slots = first_free_day(store)
    form.day.data = day.isoformat()
    form.slot.choices = slot_choices(store, day, None, slots)


def _vehicle(form: JobForm, customer: User) -> Vehicle:
    choice = form.vehicle.data or NEW_CAR
    if choice != NEW_CAR:
        vehicle = db.session.get(Vehicle, int_arg(choice) or 0)
        if vehicle is None or vehicle.owner_id != customer.id:
            raise ValidationError(_("Choose one of the customer's cars."), field="vehicle")
        return vehicle
    for field in (form.plate, form.vin, form.brand, form.series, form.model_year):
        if not field.data:
            raise ValidationError(
                _("Enter the car's plate, VIN, brand, model and year."), field=field.name
            )
    return vehicle_for(
        customer,
        vin=form.vin.data,
        plate=form.plate.data,
        brand=form.brand.data,
        series=form.series.data,
        model_year=form.model_year.data,
    )


def _enter(form: JobForm, store: Store, customer: User | None):
    """Find or add the customer and their car, and enter the job; return (booking, created)."""
    me, created = _me(), False
    if customer is None:
        phone, _email, vin = clean_contact(form.phone.data or "", "", form.vin.data or "")
        adviser = me if me.role == ADVISOR else None
        customer, created = find_or_add(form.name.data, phone, None, vin, store, advisor=adviser)
    vehicle = _vehicle(form, customer)
    source = form.source.data
    booking = svc.enter_job(
        me,
        customer,
        vehicle,
        source=source,
        service_types=form.service_types.data or [],
        description=form.description.data or "",
        slot_start=parse_slot(form.slot.data) if source == PHONE else None,
        km=form.km.data,
    )
    if created:  # an existing customer's consents are changed on their own page
        record_staff_consent(me, customer, form)
    return booking, created


class StaffJobView(StaffView):
    """Find the caller or the walk-in customer, then book them or check their car in."""

    @expose("/")
    def index(self):
        me, q = _me(), request.args.get("q", "")
        found = customer_search.find_customers(me, q)
        return self.render(
            "admin/bookings/jobs_find.html",
            q=q,
            found=found,
            phone=lambda c: access.customer_phone(me, c),
        )

    @expose("/new", methods=["GET", "POST"])
    def new(self):
        """Enter a phone booking or a walk-in for a found customer (?customer=) or a new one."""
        store, customer = _store(), self._customer()
        form = JobForm() if customer is not None else NewCustomerJobForm()
        _prepare(form, store, customer)
        if request.method == "POST" and "show" not in request.form and form.validate_on_submit():
            try:
                booking, created = _enter(form, store, customer)
            except DomainError as exc:
                db.session.rollback()
                field_error(form, exc, "slot" if exc.status == 409 else "source")
            else:
                db.session.commit()
                if customer is None and not created:
                    flash(
                        _("This customer was already on record: the job is on their record."),
                        "info",
                    )
                flash(
                    _(
                        "Booking #%(id)d: %(status)s",
                        id=booking.id,
                        status=svc.status_label(booking.status),
                    ),
                    "success",
                )
                return redirect(url_for("workshop.index") + f"#job-{booking.id}", code=303)
        return self.render(
            "admin/bookings/jobs_new.html",
            form=form,
            customer=customer,
            phone=access.customer_phone(_me(), customer) if customer is not None else "",
        ), 422 if form.errors else 200

    def _customer(self) -> User | None:
        raw = request.args.get("customer")
        if not raw:
            return None
        key = int_arg(raw, minimum=1)
        customer = db.session.get(User, key) if key else None
        if customer is None or not timeline.customer_visible(_me(), customer):
            abort(404)
        return customer
