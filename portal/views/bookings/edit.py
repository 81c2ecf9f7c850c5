"""The booking form pages: book, change, move, and the slot picker fragment."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.auth import current_account, owner_required
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.forms import field_error
from portal.forms.bookings import BookingForm, SlotForm
from portal.inputs import int_arg
from portal.models import Store, User, Vehicle
from portal.models.bookings import ACCEPTED
from portal.services import bookings as svc
from portal.uploads import request_photos
from portal.views.bookings import bp
from portal.views.bookings.picker import (
    day_choices,
    parse_day,
    parse_slot,
    prepare,
    slot_choices,
    submitted,
)


def _chosen_vehicle(owner: User, form: BookingForm) -> Vehicle:
    vehicle = next((v for v in owner.vehicles if v.id == form.vehicle.data), None)
    if vehicle is None:
        raise ValidationError(_("Choose one of your cars."), field="vehicle")
    return vehicle


def _booking_form_page(
    form: BookingForm,
    fill: Callable[[], Store],
    save: Callable[[Store], int],
    done: Callable[[int], str],
    template: str,
    **context,
):
    """Render a booking form; on a valid post save it, commit, flash done and show the booking."""
    store = fill()
    if submitted(form):
        try:
            booking_id = save(store)
        except DomainError as exc:
            db.session.rollback()
            field_error(form, exc, "slot")
            store = fill()
        else:
            db.session.commit()
            flash(done(booking_id), "success")
            return redirect(url_for("bookings.booking_show", booking_id=booking_id), code=303)
    status = 422 if request.method == "POST" and "show" not in request.form else 200
    return render_template(template, form=form, store=store, **context), status


@bp.route("/bookings/new", methods=["GET", "POST"])
@owner_required
def booking_new():
    """Book a repair into a free slot."""
    owner = current_account()
    if not owner.vehicles:
        flash(_("Add your car first, then book a repair for it."), "info")
        return redirect(url_for("vehicles.vehicle_new"), code=303)
    form = BookingForm()
    if request.method == "GET":
        form.vehicle.data = int_arg(request.args.get("vehicle"))
        preset = request.args.getlist("type")
        form.service_types.data = preset or form.service_types.data
        form.description.data = request.args.get("note", "") or form.description.data
        form.day.data = request.args.get("day")
        form.maintenance_items.data = ",".join(request.args.getlist("items"))

    def save(store: Store) -> int:
        photos = request_photos(limit=current_app.config["BOOKING_MAX_PHOTOS"])
        booking = svc.book_repair(
            owner,
            _chosen_vehicle(owner, form),
            store,
            parse_slot(form.slot.data),
            form.service_types.data,
            form.description.data,
            photos,
            maintenance_items=[c for c in (form.maintenance_items.data or "").split(",") if c],
        )
        return booking.id  # before the commit expires it

    return _booking_form_page(
        form,
        lambda: prepare(form, owner),
        save,
        lambda booking_id: _("Booking #%(id)d is sent. The store answers soon.", id=booking_id),
        "bookings/new.html",
    )


@bp.route("/bookings/<int:booking_id>/edit", methods=["GET", "POST"])
@owner_required
def booking_edit(booking_id: int):
    """Change a booking until the store decides."""
    owner = current_account()
    booking = svc.owned_booking(owner, booking_id)
    if booking.status != "submitted":
        flash(_("The store has already answered; this booking can no longer be edited."), "info")
        return redirect(url_for("bookings.booking_show", booking_id=booking.id), code=303)
    form = BookingForm(obj=None)
    if request.method == "GET":
        tz = ZoneInfo(booking.store.timezone)
        form.vehicle.data = booking.vehicle_id
        form.service_types.data = booking.service_types
        form.description.data = booking.description
        form.day.data = booking.slot_start.astimezone(tz).date().isoformat()
        form.slot.data = booking.slot_start.isoformat()

    def fill() -> Store:
        # After a rollback the booking's attributes reload as they are stored.
        return prepare(form, owner, store=booking.store, keep=booking.slot_start)

    def save(store: Store) -> int:
        vehicle = _chosen_vehicle(owner, form)
        svc.edit_booking(
            owner,
            booking,
            service_types=form.service_types.data,
            description=form.description.data,
            slot_start=parse_slot(form.slot.data),
            vehicle=vehicle,
        )
        return booking.id

    return _booking_form_page(
        form,
        fill,
        save,
        lambda booking_id: _("Booking #%(id)d is updated.", id=booking_id),
        "bookings/edit.html",
        b=booking,
    )


@bp.route("/bookings/slots")
@owner_required
def slot_options():
    """Return the free slots of a store and day (htmx fragment of the slot picker)."""
    store = db.session.get(Store, int_arg(request.args.get("store")) or 0)
    if store is None or not store.is_active:
        abort(404)
    form = SlotForm(formdata=None)
    form.day.choices = day_choices(store)
    day = parse_day(request.args.get("day"), store)
    form.day.data = day.isoformat()
    form.slot.choices = slot_choices(store, day)
    return render_template("bookings/_slots.html", form=form, store=store)


@bp.route("/bookings/<int:booking_id>/reschedule", methods=["GET", "POST"])
@owner_required
def booking_reschedule(booking_id: int):
    """Move an accepted booking into another free slot."""
    owner = current_account()
    booking = svc.owned_booking(owner, booking_id)
    if booking.status != ACCEPTED or not svc.can_cancel(booking):
        flash(_("This booking can no longer be moved online."), "info")
        return redirect(url_for("bookings.booking_show", booking_id=booking.id), code=303)
    form = SlotForm()
    store = booking.store
    form.day.choices = day_choices(store)
    if request.method == "GET":
        form.day.data = (
            request.args.get("day")
            or booking.slot_start.astimezone(ZoneInfo(store.timezone)).date().isoformat()
        )
    day = parse_day(form.day.data, store)
    form.day.data = day.isoformat()
    form.slot.choices = slot_choices(store, day)
    if submitted(form):
        try:
            svc.reschedule(owner, booking, parse_slot(form.slot.data))
        except DomainError as exc:
            db.session.rollback()
            field_error(form, exc, "slot")
            booking = svc.owned_booking(owner, booking_id)
            form.slot.choices = slot_choices(store, day)
        else:
            db.session.commit()
            flash(_("Booking #%(id)d is moved.", id=booking.id), "success")
            return redirect(url_for("bookings.booking_show", booking_id=booking.id), code=303)
    return render_template("bookings/reschedule.html", form=form, store=store, b=booking)
