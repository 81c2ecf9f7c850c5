"""Back office: the workshop board, where advisors check cars in, move jobs through their
steps, complete them into service records and send the owner the repair status link."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from admin import list_pages
from admin.base import StaffView
from admin.bookings import ITEM_LOADS, scoped
from admin.calls import parse_local
from admin.job_cards import JobCardMixin
from portal.auth import current_account
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Booking
from portal.models.bookings import (
    ACCEPTED,
    CHECKED_IN,
    FAULT_CATEGORIES,
    IN_PROGRESS,
    READY,
)
from portal.money import fen_from_form
from portal.paging import keyset_page
from portal.services import bookings as svc
from portal.services import maintenance
from portal.services.bookings import job_card, status_link

WORKSHOP_STATUSES = (ACCEPTED, CHECKED_IN, IN_PROGRESS, READY)
BOARD_PAGE = 30


class WorkshopView(JobCardMixin, StaffView):
    """Accepted jobs: check-in with mileage, progress, ready, completion with the work items."""

    @expose("/")
    def index(self):
        # The board's jobs by slot, a page at a time: a busy store has hundreds of accepted
        # bookings ahead (605 at the 1M group's largest store), each a card with its forms.
        page = keyset_page(
            scoped(select(Booking).where(Booking.status.in_(WORKSHOP_STATUSES)))
            .options(*ITEM_LOADS, selectinload(Booking.technicians))
            .options(selectinload(Booking.labour_lines), selectinload(Booking.part_lines)),
            Booking.slot_start,
            Booking.id,
            size=BOARD_PAGE,
            oldest_first=True,
            param="cursor",
            cursor_stmt=scoped(select(Booking)),  # a job done meanwhile still marks the place
        )
        return self.render(
            "admin/bookings/workshop.html",
            bookings=page.items,
            page=page,
            page_size=BOARD_PAGE,
            cursor_error=list_pages.bad_cursor(page),
            svc=svc,
            faults=FAULT_CATEGORIES,
            items_for=_plan_items_per_model(),
            status_link_url=status_link_url,
            linkable=status_link.LINKABLE,
            hours_label=job_card.hours_label,
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
