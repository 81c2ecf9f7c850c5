"""Back office of the sales pipeline: test-drive calendar, quotes (admin/quotes.py), orders to
delivery (admin/sales_orders.py).

Every step is a form post from the lead's page (or the quote's and order's pages); a refused
step rolls back, says why and changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from admin.base import StaffView
from crm import leads as lead_svc
from crm import orders as order_svc
from crm import quotes as quote_svc
from crm import test_drives as drive_svc
from crm.models import Lead
from crm.pipeline_models import DemoCar, DriveBooking
from portal import access
from portal.auth import current_account
from portal.errors import DomainError, NotFound, ValidationError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Store, User
from portal.timeutil import now

PIPELINE_EVENT_LABELS = {
    "drive_booked": _l("Test drive booked"),
    "drive_driven": _l("Test drive done"),
    "drive_no_show": _l("Test drive: no-show"),
    "drive_cancelled": _l("Test drive cancelled"),
    "quote_made": _l("Quote made"),
    "quote_approved": _l("Discount approved"),
    "quote_refused": _l("Discount refused"),
    "quote_accepted": _l("Quote accepted"),
    "quote_sent": _l("Quote sent to the customer"),
    "quote_yes": _l("The customer accepts the quote (on its link)"),
    "quote_call_me": _l("The customer asks for a call (on the quote's link)"),
    "order_signed": _l("Order signed, deposit paid"),
    "order_allocated": _l("Car allocated (VIN)"),
    "order_invoiced": _l("Invoiced"),
    "order_delivered": _l("Delivered"),
}
DRIVE_LABELS = {
    "booked": _l("Booked"),
    "driven": _l("Driven"),
    "no_show": _l("No-show"),
    "cancelled": _l("Cancelled"),
}
BOOKING_DAYS = 7  # the lead page offers the next week's slots


def current_staff() -> User:
    """Return the signed-in staff member as a loaded User."""
    return current_account()


def staff_record(model, record_id: int, message: str):
    """Return the record of the viewer's store (any store for admins), else answer 404."""
    try:
        return access.store_record(current_staff(), model, record_id, message)
    except NotFound:
        abort(404)


def _lang() -> str:
    return str(get_locale() or "zh")


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip()[:10])
    except ValueError:
        return None


def form_date(name: str, message: str, *, required: bool = True) -> date | None:
    """Return the posted ISO date of the field, or raise ValidationError with the message."""
    raw = (request.form.get(name) or "").strip()
    if not raw and not required:
        return None
    value = _day(raw)
    if value is None:
        raise ValidationError(message, field=name)
    return value


def _done(lead_id: int, ok: str):
    """Commit the step and go back to the lead with a message."""
    db.session.commit()
    flash(ok, "success")
    return redirect(url_for("leads.show", lead_id=lead_id), code=303)


def refused(exc: DomainError, target: str):
    """Roll back a refused step, say why, and go back to the page it came from."""
    db.session.rollback()
    flash(exc.message, "error")
    return redirect(target, code=303)


def lead_pipeline(me: User, lead: Lead) -> dict:
    """Return what the lead's page shows of the pipeline: drives, quotes, order, free slots."""
    zone = ZoneInfo(lead.store.timezone)
    today = now().astimezone(zone).date()
    upcoming = []
    for offset in range(BOOKING_DAYS):
        upcoming += [s for s in drive_svc.slots(lead.store, today + timedelta(days=offset))]
    upcoming = [s for s in upcoming if s.starts_at > now()]
    return {
        "drives": drive_svc.drives_of(lead),
        "quotes": quote_svc.quotes_of(lead),
        "order": order_svc.order_of(lead.id),
        "cars": drive_svc.cars(lead.store_id),
        "slots": upcoming,
        "lang": _lang(),
        "drive_labels": DRIVE_LABELS,
        "quote_labels": quote_svc.QUOTE_STATE_LABELS,
        "order_labels": order_svc.ORDER_STAGE_LABELS,
        "mask_licence": drive_svc.mask_licence,
        "today": today,
    }


class DriveCalendarView(StaffView):
    """The store's demo cars by slot for one day; book from a lead, log the outcome."""

    @expose("/")
    def index(self):
        me = current_staff()
        store = self._store(me)
        zone = ZoneInfo(store.timezone) if store else UTC
        today = now().astimezone(zone).date()
        day = _day(request.args.get("day")) or today
        if not date(2000, 1, 1) <= day <= date(2100, 1, 1):
            day = today
        cars, day_slots, booked = drive_svc.calendar(store, day) if store else ([], [], {})
        return self.render(
            "admin/crm/drives.html",
            store=store,
            day=day,
            prev_day=day - timedelta(days=1),
            next_day=day + timedelta(days=1),
            cars=cars,
            slots=day_slots,
            booked=booked,
            lang=_lang(),
            is_manager=lead_svc.is_manager(me),
        )

    def _store(self, me: User) -> Store | None:
        if me.store_id:
            return db.session.get(Store, me.store_id)
        wanted = int_arg(request.args.get("store"), minimum=1)
        stmt = select(Store).where(Store.is_active.is_(True)).order_by(Store.id)
        stores = list(db.session.scalars(stmt))
        return next((s for s in stores if s.id == wanted), stores[0] if stores else None)

    @expose("/cars", methods=["POST"])
    def car_add(self):
        """Add a demo car to the store's fleet (managers)."""
        me = current_staff()
        target = url_for(".index")
        store = db.session.get(Store, me.store_id) if me.store_id else None
        try:
            if store is None:
                raise ValidationError(_("Only staff of a store add demo cars."))
            f = request.form
            drive_svc.add_car(
                me,
                store,
                f.get("brand", ""),
                f.get("model_zh", ""),
                f.get("model_en", ""),
                f.get("plate", ""),
            )
        except DomainError as exc:
            return refused(exc, target)
        db.session.commit()
        flash(_("Demo car added."), "success")
        return redirect(target, code=303)

    @expose("/book/<int:lead_id>", methods=["POST"])
    def book(self, lead_id: int):
        """Book a demo car's slot for the lead, with the driving licence checked."""
        me, lead = current_staff(), staff_record(Lead, lead_id, _("Lead not found."))
        f = request.form
        try:
            car_id = int_arg(f.get("car"), minimum=1)
            car = db.session.get(DemoCar, car_id) if car_id else None
            stamp = int_arg(f.get("slot"), minimum=1)
            starts_at = datetime.fromtimestamp(stamp, UTC) if stamp else None
            drive_svc.book(
                me,
                lead,
                car,
                starts_at,
                licence_no=f.get("licence_no", ""),
                licence_valid_until=form_date(
                    "licence_valid_until", _("Enter the date the licence is valid until.")
                ),
                licence_seen=f.get("licence_seen") == "y",
            )
        except DomainError as exc:
            return refused(exc, url_for("leads.show", lead_id=lead.id))
        return _done(lead.id, _("Test drive booked."))

    @expose("/<int:drive_id>/outcome", methods=["POST"])
    def outcome(self, drive_id: int):
        """Log the drive's outcome, or cancel it to free the slot."""
        drive = staff_record(DriveBooking, drive_id, _("Test drive not found."))
        try:
            drive_svc.record_outcome(
                current_staff(), drive, request.form.get("status", ""), request.form.get("note", "")
            )
        except DomainError as exc:
            return refused(exc, url_for("leads.show", lead_id=drive.lead_id))
        return _done(drive.lead_id, _("Saved."))
