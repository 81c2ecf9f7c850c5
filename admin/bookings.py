"""Back office for bookings: the live queue, the workshop board and the reviewed archive."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from admin.base import StaffModelView, StaffView
from admin.calls import parse_local
from portal import access
from portal.auth import current_account, is_htmx
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Booking, ServiceRecord
from portal.models.bookings import (
    ACCEPTED,
    CHECKED_IN,
    FAULT_CATEGORIES,
    IN_PROGRESS,
    READY,
    REJECT_REASONS,
    SUBMITTED,
)
from portal.money import fen_from_form
from portal.services import bookings as svc
from portal.services import capacity, maintenance
from portal.services.bookings import status_link

# Everything a queue item or a workshop card shows, loaded with the list instead of per row.
_ITEM_LOADS = (
    selectinload(Booking.vehicle),
    selectinload(Booking.owner),
    selectinload(Booking.store),
    selectinload(Booking.advisor),
    selectinload(Booking.photos),
)


def _scope(stmt):
    return access.store_scope(stmt, Booking.store_id, current_user)


def _previous_repairs(bookings: list[Booking]) -> dict[int, list[ServiceRecord]]:
    """Return each booking's car's five latest service records (the same kind of work first),
    for the whole list in one query."""
    vehicle_ids = {b.vehicle_id for b in bookings}
    if not vehicle_ids:
        return {}
    newest = (
        func.row_number()
        .over(
            partition_by=ServiceRecord.vehicle_id,
            order_by=(ServiceRecord.completed_at.desc(), ServiceRecord.id.desc()),
        )
        .label("newest")
    )
    latest = (
        select(ServiceRecord.id, newest).where(ServiceRecord.vehicle_id.in_(vehicle_ids)).subquery()
    )
    of_vehicle: dict[int, list[ServiceRecord]] = {}
    for record in db.session.scalars(
        select(ServiceRecord)
        .join(latest, latest.c.id == ServiceRecord.id)
        .where(latest.c.newest <= 5)
        .order_by(ServiceRecord.completed_at.desc(), ServiceRecord.id.desc())
    ):
        of_vehicle.setdefault(record.vehicle_id, []).append(record)
    previous = {}
    for booking in bookings:
        kinds = set(booking.service_types)
        records = of_vehicle.get(booking.vehicle_id, [])
        previous[booking.id] = sorted(records, key=lambda r: (r.fault_category not in kinds, -r.id))
    return previous


PROPOSAL_DAYS = 8


def _proposal_choices(bookings: list[Booking]) -> dict[int, list[tuple[str, str]]]:
    """Return the times each booking may be moved to, reading every store's slots at once."""
    stores = {b.store_id: b.store for b in bookings}.values()
    days_of = {s: capacity.bookable_days(s)[:PROPOSAL_DAYS] for s in stores}
    slots = capacity.slots_for_stores(days_of)
    choices_of = {}
    for booking in bookings:
        store = booking.store
        tz = ZoneInfo(store.timezone)
        choices = []
        for day in days_of[store]:
            for s in slots[store.id][day]:
                if s.free > 0 and s.starts_at != booking.slot_start:
                    choices.append(
                        (
                            s.starts_at.isoformat(),
                            s.starts_at.astimezone(tz).strftime("%m-%d %H:%M"),
                        )
                    )
            if len(choices) >= 24:
                break
        choices_of[booking.id] = choices
    return choices_of


class QueueView(StaffView):
    """Pending bookings of the store, oldest first; decisions update the page in place."""

    def _pending(self, after: int = 0) -> list[Booking]:
        return list(
            db.session.scalars(
                _scope(select(Booking).where(Booking.status == SUBMITTED, Booking.id > after))
                .options(*_ITEM_LOADS)
                .order_by(Booking.created_at, Booking.id)
            )
        )

    def _last_id(self) -> int:
        return db.session.scalar(_scope(select(func.max(Booking.id)))) or 0

    def _ctx(self, bookings: list[Booking]) -> dict:
        previous, proposals = _previous_repairs(bookings), _proposal_choices(bookings)
        return {
            "previous": lambda b: previous[b.id],
            "proposals": lambda b: proposals[b.id],
            "svc": svc,
            "reasons": REJECT_REASONS,
        }

    @expose("/")
    def index(self):
        bookings = self._pending()
        return self.render(
            "admin/bookings/queue.html",
            bookings=bookings,
            ctx=self._ctx(bookings),
            last_id=self._last_id(),
        )

    @expose("/items")
    def items(self):
        """Return pending bookings newer than ?after= and the next poller (htmx)."""
        after = int_arg(request.args.get("after")) or 0
        fresh = self._pending(after)
        newest = max([after, *(b.id for b in fresh)])
        return self.render(
            "admin/bookings/_queue_new.html",
            bookings=fresh,
            ctx=self._ctx(fresh),
            after=newest,
            error=None,
        )

    @expose("/<int:booking_id>/decide", methods=["POST"])
    def decide(self, booking_id: int):
        staff = current_account()
        booking = svc.store_booking(staff, booking_id)
        action = request.form.get("action")
        try:
            if action == "accept":
                bay = int_arg(request.form.get("bay"))
                svc.accept(staff, booking, bay=bay, note=request.form.get("note", ""))
            elif action == "reject":
                svc.reject(
                    staff, booking, request.form.get("reason", ""), request.form.get("note", "")
                )
            elif action == "propose":
                from portal.views.bookings import parse_slot

                svc.propose(
                    staff,
                    booking,
                    parse_slot(request.form.get("slot")),
                    request.form.get("note", ""),
                )
            else:
                abort(400)
        except DomainError as exc:
            db.session.rollback()
            booking = svc.store_booking(staff, booking_id)
            if is_htmx():
                return self.render(
                    "admin/bookings/_queue_item.html",
                    b=booking,
                    ctx=self._ctx([booking]),
                    error=exc.message,
                ), 409 if exc.status == 409 else 422
            flash(exc.message, "error")
            return redirect(url_for(".index"), code=303)
        db.session.commit()
        if is_htmx():
            return self.render(
                "admin/bookings/_queue_item.html", b=booking, ctx=self._ctx([booking]), error=None
            )
        flash(
            _(
                "Booking #%(id)d: %(status)s",
                id=booking.id,
                status=svc.status_label(booking.status),
            ),
            "success",
        )
        return redirect(url_for(".index"), code=303)


WORKSHOP_STATUSES = (ACCEPTED, CHECKED_IN, IN_PROGRESS, READY)


class WorkshopView(StaffView):
    """Accepted jobs: check-in with mileage, progress, ready, completion with the work items."""

    @expose("/")
    def index(self):
        bookings = db.session.scalars(
            _scope(select(Booking).where(Booking.status.in_(WORKSHOP_STATUSES)))
            .options(*_ITEM_LOADS)
            .order_by(Booking.slot_start)
        ).all()
        return self.render(
            "admin/bookings/workshop.html",
            bookings=bookings,
            svc=svc,
            faults=FAULT_CATEGORIES,
            items_for=_plan_items_per_model(),
            status_link_url=status_link_url,
            linkable=status_link.LINKABLE,
        )

    @expose("/<int:booking_id>/step", methods=["POST"])
    def step(self, booking_id: int):
        staff = current_account()
        booking = svc.store_booking(staff, booking_id)
        action = _STEPS.get(request.form.get("action", ""))
        if action is None:
            abort(400)
        try:
            action(staff, booking)
        except DomainError as exc:
            db.session.rollback()
            flash(_("Booking #%(id)d: %(msg)s", id=booking_id, msg=exc.message), "error")
        else:
            db.session.commit()
            flash(
                _(
                    "Booking #%(id)d: %(status)s",
                    id=booking.id,
                    status=svc.status_label(booking.status),
                ),
                "success",
            )
        return redirect(url_for(".index") + f"#job-{booking_id}", code=303)

    @expose("/<int:booking_id>/status-link", methods=["POST"])
    def status_link_send(self, booking_id: int):
        """Send the owner the repair status link again."""
        booking = svc.store_booking(current_account(), booking_id)
        try:
            svc.resend_link(current_account(), booking)
        except DomainError as exc:
            db.session.rollback()
            flash(_("Booking #%(id)d: %(msg)s", id=booking_id, msg=exc.message), "error")
        else:
            db.session.commit()
            flash(_("Booking #%(id)d: the status link is sent again.", id=booking_id), "success")
        return redirect(url_for(".index") + f"#job-{booking_id}", code=303)


def _check_in(staff, booking: Booking) -> None:
    km = int_arg(request.form.get("km"), maximum=3_000_000)
    if km is None:
        raise ValidationError(_("Enter the mileage."), field="km")
    svc.check_in(staff, booking, km, _promised(booking))


def _complete(staff, booking: Booking) -> None:
    svc.complete(
        staff,
        booking,
        _items_from_form(),
        fault_category=request.form.get("fault_category", ""),
        technician_note=request.form.get("technician_note", ""),
    )


# The workshop board's buttons: action -> the step it takes (each reads its own form fields).
_STEPS = {
    "check_in": _check_in,
    "start": svc.start_work,
    "progress": lambda staff, b: svc.add_progress(staff, b, request.form.get("note", "")),
    "quality_check": svc.begin_quality_check,
    "ready": svc.mark_ready,
    "no_show": svc.mark_no_show,
    "complete": _complete,
}


def _promised(booking: Booking):
    """Return the promised time typed at check-in (store's zone) as UTC; None when empty."""
    raw = (request.form.get("promised") or "").strip()
    if not raw:
        return None
    promised = parse_local(raw, booking.store.timezone)
    if promised is None:
        raise ValidationError(_("Enter the promised time as a date and time."), field="promised")
    return promised


def status_link_url(booking: Booking) -> str:
    """Return a fresh absolute repair status link for staff to copy."""
    return current_app.config["BASE_URL"].rstrip("/") + status_link.link_path(booking)


def _plan_items_per_model():
    """Return a lookup of a booking's plan items that asks the database once per model."""
    plans: dict[tuple[str, str], list] = {}

    def items_for(booking: Booking) -> list:
        key = (booking.vehicle.brand, booking.vehicle.series)
        if key not in plans:
            plan = maintenance.plan_for(booking.vehicle)
            plans[key] = list(plan.items) if plan else []
        return plans[key]

    return items_for


def _items_from_form() -> list[dict]:
    """Read the completion form's item rows (kind, description, part no, qty, unit price)."""
    items = []
    for i in range(8):
        desc = (request.form.get(f"item-{i}-description") or "").strip()
        if not desc:
            continue
        qty = int_arg(request.form.get(f"item-{i}-quantity") or "1", minimum=1, maximum=999)
        if qty is None:
            raise ValidationError(_("A quantity is a whole number from 1 to 999."))
        fen = fen_from_form(request.form.get(f"item-{i}-price") or "0")
        items.append(
            {
                "kind": request.form.get(f"item-{i}-kind", "labour"),
                "description": desc,
                "part_no": request.form.get(f"item-{i}-part_no", ""),
                "plan_item_code": request.form.get(f"item-{i}-plan_item_code") or None,
                "quantity": qty,
                "unit_price_fen": fen,
            }
        )
    return items


class ReviewedBookingAdmin(StaffModelView):
    """Every decided booking: who decided, when and why. Read-only, searchable, filterable."""

    store_column = "store_id"
    can_create = False
    can_edit = False
    can_view_details = True
    column_list = (
        "id",
        "status",
        "slot_start",
        "owner",
        "vehicle",
        "advisor",
        "decided_at",
        "decision_reason",
        "decision_note",
    )
    column_labels = {
        "id": "#",
        "status": _l("Status"),
        "slot_start": _l("Booked for"),
        "owner": _l("Owner"),
        "vehicle": _l("Car"),
        "advisor": _l("Decided by"),
        "decided_at": _l("Decided at"),
        "decision_reason": _l("Reason"),
        "decision_note": _l("Note"),
    }
    column_filters = ("status", "decision_reason", "decided_at")
    column_searchable_list = ("decision_note", "description")
    column_default_sort = ("id", True)

    def get_query(self):
        return super().get_query().filter(Booking.decided_at.isnot(None))

    def get_count_query(self):
        return super().get_count_query().filter(Booking.decided_at.isnot(None))


class StoreDayAdmin(StaffModelView):
    """Holidays and per-day exceptions to opening hours and bays (managers of the store)."""

    store_column = "store_id"
    column_list = ("store", "day", "closed", "opens_at", "closes_at", "bays", "note")
    form_columns = ("day", "closed", "opens_at", "closes_at", "bays", "note")
    column_default_sort = ("day", True)

    def on_model_change(self, form, model, is_created):
        if not access.sees_all_stores(current_user) or model.store_id is None:
            model.store_id = model.store_id or current_user.store_id
        super().on_model_change(form, model, is_created)
