"""Back office of the sales pipeline: test-drive calendar, quotes, orders to delivery.

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
from sqlalchemy.orm import selectinload

from admin import listing
from admin.base import StaffView
from admin.list_pages import bad_cursor, bad_cursor_text, chosen_store, store_choices
from crm import leads as lead_svc
from crm import orders as order_svc
from crm import quote_links
from crm import quotes as quote_svc
from crm import test_drives as drive_svc
from crm.models import Lead
from crm.pipeline_models import AWAITING, DemoCar, DriveBooking, Quote
from portal import access
from portal.auth import current_account
from portal.errors import DomainError, NotFound, ValidationError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Store, User
from portal.money import fen_from_form
from portal.paging import keyset_page
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
QUOTES_PAGE = 50  # the quotes a page of each quotes list shows


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


class QuoteView(StaffView):
    """Price a quote for a lead, print it, approve its discount, record the customer's yes."""

    @expose("/")
    def index(self):
        """The store's quotes: those awaiting a manager's decision, the oldest first, then all
        of them, the newest first; each list a page at a time (?waiting=, ?cursor=)."""
        stores = store_choices()
        store_id = chosen_store(stores)
        stmt = access.chosen_store_scope(select(Quote), Quote.store_id, current_staff(), store_id)
        loads = selectinload(Quote.lead).selectinload(Lead.customer)
        pending = stmt.where(Quote.status == AWAITING)
        waiting = keyset_page(
            pending.options(loads),
            Quote.id,
            Quote.id,
            size=QUOTES_PAGE,
            oldest_first=True,
            param="waiting",
            cursor_stmt=stmt,  # a quote decided meanwhile still marks the place
        )
        latest = keyset_page(
            stmt.options(loads),
            Quote.id,
            Quote.id,
            size=QUOTES_PAGE,
            param="cursor",
            cursor_stmt=stmt,
        )
        stale = request.args.get("waiting") and waiting.before is None
        return self.render(
            "admin/crm/quotes.html",
            waiting=waiting.items,
            waiting_page=waiting,
            waiting_count=listing.count_label(pending.with_only_columns(Quote.id)),
            latest=latest.items,
            page=latest,
            page_size=QUOTES_PAGE,
            count=listing.count_label(stmt.with_only_columns(Quote.id)),
            error=bad_cursor(latest) or (bad_cursor_text() if stale else None),
            stores=stores,
            store_id=store_id,
            quote_labels=quote_svc.QUOTE_STATE_LABELS,
        )

    @expose("/new/<int:lead_id>", methods=["GET", "POST"])
    def new(self, lead_id: int):
        me, lead = current_staff(), staff_record(Lead, lead_id, _("Lead not found."))
        products = quote_svc.accessories()
        previous = next(iter(quote_svc.quotes_of(lead)), None)
        error = None
        if request.method == "POST":
            try:
                quote = quote_svc.make_quote(me, lead, self._draft())
            except DomainError as exc:
                db.session.rollback()
                error = exc.message
            else:
                db.session.commit()
                flash(_("Quote saved."), "success")
                return redirect(url_for(".show", quote_id=quote.id), code=303)
        brand, _sep, series = (lead.model_interest or "").partition(" ")
        return self.render(
            "admin/crm/quote_new.html",
            lead=lead,
            products=products,
            previous=previous,
            brand=previous.brand if previous else brand,
            series=previous.series if previous else series,
            limit_fen=drive_svc.settings_for(lead.store_id).discount_limit_fen,
            finance_terms=quote_svc.FINANCE_TERMS,
            error=error,
            form=request.form,
        ), (422 if error else 200)

    def _draft(self) -> quote_svc.Draft:
        f = request.form
        accessories = []
        for i in (1, 2, 3):
            product_id = int_arg(f.get(f"accessory_{i}"), minimum=1)
            if product_id:
                qty = int_arg(f.get(f"qty_{i}") or "1", minimum=1, maximum=quote_svc.MAX_QUANTITY)
                if qty is None:
                    raise ValidationError(
                        _("A quantity is from 1 to %(n)d.", n=quote_svc.MAX_QUANTITY),
                        field="accessories",
                    )
                accessories.append((product_id, qty))

        def fen(name: str, required: bool = False) -> int:
            raw = f.get(name, "")
            if not raw.strip() and not required:
                return 0
            return fen_from_form(raw, field=name)

        return quote_svc.Draft(
            brand=(f.get("brand") or "")[:40],
            series=(f.get("series") or "")[:60],
            vehicle_fen=fen("vehicle_price", required=True),
            insurance_fen=fen("insurance"),
            registration_fen=fen("registration"),
            discount_fen=fen("discount"),
            accessories=tuple(accessories),
            note=(f.get("note") or "")[:2000],
            trade_in_fen=fen("trade_in"),
            trade_in_car=(f.get("trade_in_car") or "")[:120],
            finance_months=int_arg(f.get("finance_months"), minimum=1, maximum=120),
            finance_down_fen=fen("finance_down"),
            finance_monthly_fen=fen("finance_monthly"),
        )

    @expose("/<int:quote_id>")
    def show(self, quote_id: int):
        """The quote as the customer sees it: printable, and readable on a phone."""
        me = current_staff()
        quote = staff_record(Quote, quote_id, _("Quote not found."))
        return self.render(
            "admin/crm/quote.html",
            quote=quote,
            lead=quote.lead,
            can_work=lead_svc.may_work(me, quote.lead),
            is_manager=lead_svc.is_manager(me),
            order=order_svc.order_of(quote.lead_id),
            line_labels=quote_svc.LINE_LABELS,
            quote_labels=quote_svc.QUOTE_STATE_LABELS,
            offerable=quote.status in quote_svc.OFFERABLE,
            sendable=quote_links.is_current(quote),
            answer_labels=quote_links.ANSWER_LABELS,
        )

    @expose("/<int:quote_id>/send", methods=["POST"])
    def send(self, quote_id: int):
        """Send the customer a signed link to the quote on their channels."""
        quote = staff_record(Quote, quote_id, _("Quote not found."))
        target = url_for(".show", quote_id=quote.id)
        try:
            quote_links.send_link(current_staff(), quote)
        except DomainError as exc:
            return refused(exc, target)
        db.session.commit()
        flash(_("The quote's link is on its way to the customer."), "success")
        return redirect(target, code=303)

    @expose("/<int:quote_id>/decide", methods=["POST"])
    def decide(self, quote_id: int):
        """Approve or refuse the quote's discount (managers; the first decision wins)."""
        quote = staff_record(Quote, quote_id, _("Quote not found."))
        target = url_for(".show", quote_id=quote.id)
        try:
            quote_svc.decide(current_staff(), quote, approve=request.form.get("verb") == "approve")
        except DomainError as exc:
            return refused(exc, target)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(target, code=303)

    @expose("/<int:quote_id>/accept", methods=["POST"])
    def accept(self, quote_id: int):
        """Record that the customer accepted the quote."""
        quote = staff_record(Quote, quote_id, _("Quote not found."))
        target = url_for(".show", quote_id=quote.id)
        try:
            quote_svc.accept(current_staff(), quote)
        except DomainError as exc:
            return refused(exc, target)
        db.session.commit()
        flash(_("The customer accepted the quote."), "success")
        return redirect(target, code=303)
