"""The owner's repair bookings: book into free slots, follow, change, cancel, rate."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal import access
from portal.auth import current_account, owner_required
from portal.errors import Conflict, DomainError, ValidationError
from portal.extensions import db
from portal.forms import field_error
from portal.forms.bookings import (
    SERVICE_TYPE_LABELS,
    BookingForm,
    CancelForm,
    RatingForm,
    SlotForm,
)
from portal.ics import calendar
from portal.inputs import int_arg
from portal.models import Booking, ServiceRecord, Store, User
from portal.models.bookings import ACCEPTED, CHECKED_IN, IN_PROGRESS, READY, TERMINAL
from portal.paging import keyset_page
from portal.services import bookings as svc
from portal.services import capacity
from portal.services import vehicles as vehicle_svc
from portal.uploads import request_photos

bp = Blueprint("bookings", __name__)


def _stores() -> list[Store]:
    return list(
        db.session.scalars(select(Store).where(Store.is_active.is_(True)).order_by(Store.id))
    )


def _day_choices(store: Store) -> list[SelectChoice]:
    return [SelectChoice(d.isoformat(), _day_label(d)) for d in capacity.bookable_days(store)]


def _day_label(d: date) -> str:
    return _label(d, str(get_locale()))


@lru_cache(maxsize=1024)
def _label(d: date, locale: str) -> str:
    # 31 day names per booking form: Babel's formatting is worth caching per day and locale.
    return babel_dates.format_date(d, "EEE, MMM d", locale=locale)


def _slot_choices(
    store: Store, day: date, keep: datetime | None = None, slots: list | None = None
) -> list[SelectChoice]:
    tz = ZoneInfo(store.timezone)
    choices = []
    for s in capacity.slots_for_day(store, day) if slots is None else slots:
        if s.free > 0 or s.starts_at == keep:
            label = s.starts_at.astimezone(tz).strftime("%H:%M")
            hint = _("%(n)d free", n=s.free)
            choices.append(SelectChoice(s.starts_at.isoformat(), f"{label} · {hint}"))
    return choices


def _parse_day(raw: str | None, store: Store) -> date:
    days = capacity.bookable_days(store)
    try:
        day = date.fromisoformat(raw or "")
    except ValueError:
        return days[0]
    return day


def parse_slot(raw: str | None) -> datetime:
    """Parse a slot value (ISO 8601 with offset) or raise ValidationError."""
    try:
        value = datetime.fromisoformat(raw or "")
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationError(_("Pick a time."), field="slot")
    return value.astimezone(ZoneInfo("UTC"))


def _prepare(
    form: BookingForm, owner: User, store: Store | None = None, keep: datetime | None = None
) -> Store:
    vehicles = owner.vehicles
    form.vehicle.choices = [SelectChoice(v.id, f"{v.plate} · {v.label}") for v in vehicles]
    stores = _stores()
    form.store.choices = [SelectChoice(s.id, s.name) for s in stores]
    form.service_types.choices = [SelectChoice(k, v) for k, v in SERVICE_TYPE_LABELS.items()]
    chosen = (
        store
        or next((s for s in stores if s.id == form.store.data), None)
        or next((s for s in stores if s.id == owner.store_id), stores[0] if stores else None)
    )
    if chosen is None:
        abort(503)
    form.store.data = chosen.id
    form.day.choices = _day_choices(chosen)
    if form.day.data:
        day, slots = _parse_day(form.day.data, chosen), None
    else:
        day, slots = _first_free_day(chosen)
    form.day.data = day.isoformat()
    form.slot.choices = _slot_choices(chosen, day, keep, slots)
    return chosen


def _first_free_day(store: Store) -> tuple[date, list[capacity.Slot]]:
    """Return the first bookable day with a free place (today is often over already), and
    its slots."""
    days = capacity.bookable_days(store)
    slots = capacity.slots_for_days(store, days[:14])  # two queries for the 14 days
    day = next((d for d in days[:14] if any(s.free > 0 for s in slots[d])), days[0])
    return day, slots[day]


@bp.route("/bookings/")
@owner_required
def booking_list():
    """List my bookings, newest first, a page at a time."""
    page = keyset_page(
        access.owner_scope(select(Booking), Booking.owner_id, current_user),
        Booking.slot_start,
        Booking.id,
    )
    return render_template("bookings/list.html", bookings=page.items, page=page)


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
    store = _prepare(form, owner)
    if request.method == "POST" and "show" not in request.form and form.validate_on_submit():
        try:
            photos = request_photos(limit=current_app.config["BOOKING_MAX_PHOTOS"])
            vehicle = next((v for v in owner.vehicles if v.id == form.vehicle.data), None)
            if vehicle is None:
                raise ValidationError(_("Choose one of your cars."), field="vehicle")
            booking = svc.book_repair(
                owner,
                vehicle,
                store,
                parse_slot(form.slot.data),
                form.service_types.data,
                form.description.data,
                photos,
                maintenance_items=[c for c in (form.maintenance_items.data or "").split(",") if c],
            )
        except DomainError as exc:
            db.session.rollback()
            field_error(form, exc, "slot")
            store = _prepare(form, owner)
        else:
            booking_id = booking.id  # before the commit expires it
            db.session.commit()
            flash(_("Booking #%(id)d is sent. The store answers soon.", id=booking_id), "success")
            return redirect(url_for("bookings.booking_show", booking_id=booking_id), code=303)
    status = 422 if request.method == "POST" and "show" not in request.form else 200
    return render_template("bookings/new.html", form=form, store=store), status


@bp.route("/bookings/slots")
@owner_required
def slot_options():
    """Return the free slots of a store and day (htmx fragment of the slot picker)."""
    store = db.session.get(Store, int_arg(request.args.get("store")) or 0)
    if store is None or not store.is_active:
        abort(404)
    form = SlotForm(formdata=None)
    form.day.choices = _day_choices(store)
    day = _parse_day(request.args.get("day"), store)
    form.day.data = day.isoformat()
    form.slot.choices = _slot_choices(store, day)
    return render_template("bookings/_slots.html", form=form, store=store)


@bp.route("/bookings/<int:booking_id>")
@owner_required
def booking_show(booking_id: int):
    """Show a booking with its timeline and what the owner can do next."""
    booking = svc.owned_booking(current_user, booking_id)
    return render_template(
        "bookings/show.html", b=booking, svc=svc, cancel_form=CancelForm(formdata=None)
    )


@bp.route("/bookings/<int:booking_id>/status")
@owner_required
def booking_status(booking_id: int):
    """Return the live status block (polled by htmx until the booking ends)."""
    booking = svc.owned_booking(current_user, booking_id)
    return render_template("bookings/_status.html", b=booking, svc=svc)


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
    store = _prepare(form, owner, store=booking.store, keep=booking.slot_start)
    if request.method == "POST" and "show" not in request.form and form.validate_on_submit():
        vehicle = next((v for v in owner.vehicles if v.id == form.vehicle.data), None)
        try:
            if vehicle is None:
                raise ValidationError(_("Choose one of your cars."), field="vehicle")
            svc.edit_booking(
                owner,
                booking,
                service_types=form.service_types.data,
                description=form.description.data,
                slot_start=parse_slot(form.slot.data),
                vehicle=vehicle,
            )
        except DomainError as exc:
            db.session.rollback()
            field_error(form, exc, "slot")
            booking = svc.owned_booking(owner, booking_id)
            store = _prepare(form, owner, store=booking.store, keep=booking.slot_start)
        else:
            db.session.commit()
            flash(_("Booking #%(id)d is updated.", id=booking.id), "success")
            return redirect(url_for("bookings.booking_show", booking_id=booking.id), code=303)
    status = 422 if request.method == "POST" and "show" not in request.form else 200
    return render_template("bookings/edit.html", form=form, store=store, b=booking), status


def _act(booking_id: int, action, done: str):
    owner = current_account()
    booking = svc.owned_booking(owner, booking_id)
    try:
        action(owner, booking)
    except (ValidationError, Conflict) as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("bookings.booking_show", booking_id=booking_id), code=303)


@bp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@owner_required
def booking_cancel(booking_id: int):
    """Cancel a booking (up to the cut-off once accepted)."""
    reason = (request.form.get("reason") or "")[:200]
    return _act(
        booking_id, lambda o, b: svc.cancel_booking(o, b, reason), _("The booking is cancelled.")
    )


@bp.route("/bookings/<int:booking_id>/proposal", methods=["POST"])
@owner_required
def proposal_answer(booking_id: int):
    """Accept or decline the time the store proposed."""
    answer = request.form.get("answer")
    if answer not in ("accept", "decline"):
        abort(400)
    return _act(
        booking_id,
        lambda o, b: svc.answer_proposal(o, b, answer == "accept"),
        _("Thank you, your answer is sent."),
    )


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
    form.day.choices = _day_choices(store)
    if request.method == "GET":
        form.day.data = (
            request.args.get("day")
            or booking.slot_start.astimezone(ZoneInfo(store.timezone)).date().isoformat()
        )
    day = _parse_day(form.day.data, store)
    form.day.data = day.isoformat()
    form.slot.choices = _slot_choices(store, day)
    if request.method == "POST" and "show" not in request.form and form.validate_on_submit():
        try:
            svc.reschedule(owner, booking, parse_slot(form.slot.data))
        except DomainError as exc:
            db.session.rollback()
            field_error(form, exc, "slot")
            booking = svc.owned_booking(owner, booking_id)
            form.slot.choices = _slot_choices(store, day)
        else:
            db.session.commit()
            flash(_("Booking #%(id)d is moved.", id=booking.id), "success")
            return redirect(url_for("bookings.booking_show", booking_id=booking.id), code=303)
    return render_template("bookings/reschedule.html", form=form, store=store, b=booking)


@bp.route("/bookings/<int:booking_id>/rate", methods=["GET", "POST"])
@owner_required
def booking_rate(booking_id: int):
    """Rate the service and the advisor of a completed booking, once."""
    owner = current_account()
    booking = svc.owned_booking(owner, booking_id)
    if booking.status != "completed" or booking.rating is not None:
        return redirect(url_for("bookings.booking_show", booking_id=booking_id))
    form = RatingForm()
    if form.validate_on_submit():
        try:
            svc.rate(
                owner, booking, form.service_stars.data, form.advisor_stars.data, form.comment.data
            )
        except DomainError as exc:
            db.session.rollback()
            field_error(form, exc, "service_stars")
        else:
            db.session.commit()
            flash(_("Thank you for your rating."), "success")
            return redirect(url_for("bookings.booking_show", booking_id=booking_id), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("bookings/rate.html", form=form, b=booking), status


def _ics_event(b: Booking) -> dict:
    return {
        "uid": f"booking-{b.id}@m4s",
        "start": b.slot_start,
        "minutes": current_app.config["BOOKING_SLOT_MINUTES"],
        "summary": _(
            "Car service: %(plate)s at %(store)s", plate=b.vehicle.plate, store=b.store.name
        ),
        "location": f"{b.store.name}, {b.store.address}",
        "description": _("Booking #%(id)d", id=b.id),
        "status": "CANCELLED" if b.status in TERMINAL and b.status != "completed" else "CONFIRMED",
    }


def _ics_response(body: str, filename: str) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/bookings/<int:booking_id>.ics")
@owner_required
def booking_ics(booking_id: int):
    """Download an accepted booking as a calendar file."""
    booking = svc.owned_booking(current_user, booking_id)
    if booking.status not in (ACCEPTED, CHECKED_IN, IN_PROGRESS, READY):
        abort(404)
    return _ics_response(calendar([_ics_event(booking)]), f"m4s-booking-{booking.id}.ics")


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str):
    """Serve the owner's private calendar feed; the secret token in the URL is the key."""
    if len(token) < 20:
        abort(404)
    owner = db.session.scalar(select(User).where(User.calendar_token == token))
    if owner is None or not owner.is_active:
        abort(404)
    bookings = db.session.scalars(
        select(Booking)
        .where(
            Booking.owner_id == owner.id,
            Booking.status.in_((ACCEPTED, CHECKED_IN, IN_PROGRESS, READY)),
        )
        .order_by(Booking.slot_start)
    ).all()
    return _ics_response(calendar([_ics_event(b) for b in bookings], name="M4S"), "m4s.ics")


@bp.route("/bookings/calendar", methods=["GET", "POST"])
@owner_required
def calendar_settings():
    """Show the private calendar feed URL, or rotate its secret."""
    owner = current_account()
    if request.method == "POST":
        rotating = owner.calendar_token is not None
        owner.calendar_token = secrets.token_urlsafe(24)
        db.session.commit()
        flash(
            _("A new calendar link is ready; the old one no longer works.")
            if rotating
            else _("Your calendar link is ready."),
            "success",
        )
        return redirect(url_for("bookings.calendar_settings"), code=303)
    url = None
    if owner.calendar_token:
        url = current_app.config["BASE_URL"].rstrip("/") + url_for(
            "bookings.calendar_feed", token=owner.calendar_token
        )
    return render_template("bookings/calendar.html", feed_url=url)


@bp.route("/vehicles/<int:vehicle_id>/history")
@owner_required
def service_history(vehicle_id: int):
    """Show the vehicle's service records."""
    vehicle = vehicle_svc.owned_vehicle(current_user, vehicle_id)
    records = db.session.scalars(
        select(ServiceRecord)
        .where(ServiceRecord.vehicle_id == vehicle.id)
        .order_by(ServiceRecord.completed_at.desc())
    ).all()
    return render_template("bookings/history.html", v=vehicle, records=records)


@bp.app_template_filter("service_type")
def service_type_label(value: str) -> str:
    """Return the translated name of a service type."""
    return str(SERVICE_TYPE_LABELS.get(value, value))


FAULT_LABELS = {
    "engine": _l("Engine"),
    "transmission": _l("Transmission"),
    "brakes": _l("Brakes"),
    "suspension": _l("Suspension and steering"),
    "electrical": _l("Electrical"),
    "air_conditioning": _l("Air conditioning"),
    "body": _l("Body and paint"),
    "tyres": _l("Tyres and wheels"),
    "maintenance": _l("Routine maintenance"),
    "other": _l("Other"),
}


@bp.app_template_filter("fault_category")
def fault_category_label(value: str) -> str:
    """Return the translated name of a fault category."""
    return str(FAULT_LABELS.get(value, value))


bp.add_app_template_global(svc.status_label, "svc_label")
