"""Back office: the job card of a booking on the workshop board (its technicians, labour and
parts lines), and a technician's own "My jobs" page, where they enter their own lines and
open each car's inspection."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from admin.base import StaffView
from admin.inspections import templates_of
from portal import access
from portal.auth import current_account
from portal.errors import DomainError, ValidationError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Booking, JobLabourLine, JobLine, JobPartLine
from portal.models.bookings import ACCEPTED, CHECKED_IN, IN_PROGRESS, READY
from portal.money import fen_from_form
from portal.services import bookings as svc
from portal.services import inspections
from portal.services.bookings import job_card, tech_lines
from portal.services.vehicles import store_today
from shop.parts import in_stock_matching, product_for_part_no

CARD_LOADS = (
    selectinload(Booking.vehicle),
    selectinload(Booking.store),
    selectinload(Booking.technicians),
    selectinload(Booking.labour_lines).selectinload(JobLabourLine.technician),
    selectinload(Booking.labour_lines).selectinload(JobLabourLine.added_by),
    selectinload(Booking.part_lines).selectinload(JobPartLine.added_by),
    selectinload(Booking.job_lines).selectinload(JobLine.inspection_item),
)


def _id(name: str) -> int | None:
    return int_arg(request.form.get(name), minimum=1)


def _labour(staff, booking: Booking) -> None:
    job_card.add_labour(
        staff,
        booking,
        operation=request.form.get("operation", ""),
        hours_tenths=job_card.parse_hours(request.form.get("hours")),
        rate_fen=fen_from_form(request.form.get("rate") or "0", field="rate"),
        technician_id=_id("technician"),
    )


def _part(staff, booking: Booking) -> None:
    """Add a part: a part number found in the shop fills the product, its name and price."""
    product = product_for_part_no(request.form.get("part_no"))
    quantity = int_arg(request.form.get("quantity") or "1", minimum=1, maximum=999)
    if quantity is None:
        raise ValidationError(_("A quantity is a whole number from 1 to 999."), field="quantity")
    price = (request.form.get("price") or "").strip()
    job_card.add_part(
        staff,
        booking,
        part_no=product.sku if product else request.form.get("part_no", ""),
        description=(request.form.get("description") or "").strip()
        or (product.shown() if product else ""),
        quantity=quantity,
        unit_price_fen=fen_from_form(price, field="price")
        if price or product is None
        else product.price_fen,
        product_id=product.id if product else None,
    )


def _part_names(booking: Booking) -> dict:
    items = [x.inspection_item for x in booking.job_lines if x.inspection_item]
    return inspections.part_names([i.product_id for i in items if i.product_id])


# The job card's buttons: action -> what it does (each reads its own form fields).
_CARD_ACTIONS = {
    "assign": lambda staff, b: job_card.assign(staff, b, _id("technician")),
    "unassign": lambda staff, b: job_card.unassign(staff, b, _id("technician")),
    "labour": _labour,
    "part": _part,
    "remove_labour": lambda staff, b: job_card.remove_line(staff, b, "labour", _id("line")),
    "remove_part": lambda staff, b: job_card.remove_line(staff, b, "part", _id("line")),
    "withdraw": lambda staff, b: inspections.withdraw(staff, b, _id("line")),
    "price_labour": lambda staff, b: job_card.set_price(
        staff, b, "labour", _id("line"), fen_from_form(request.form.get("rate"), field="rate")
    ),
    "price_part": lambda staff, b: job_card.set_price(
        staff, b, "part", _id("line"), fen_from_form(request.form.get("price"), field="price")
    ),
}


class JobCardMixin:
    """The workshop board's job card pages (mixed into WorkshopView: the same roles)."""

    @expose("/<int:booking_id>/card")
    def card(self, booking_id: int):
        """Show a booking's job card: technicians, labour and parts, with forms to change it."""
        booking = svc.store_booking(current_account(), booking_id)
        return self.render(
            "admin/bookings/job_card.html",
            b=booking,
            technicians=job_card.store_technicians(booking.store_id),
            editable=booking.status in job_card.OPEN,
            total_fen=job_card.card_total_fen(booking),
            hours_label=job_card.hours_label,
            svc=svc,
            part_names=_part_names(booking),
        )

    @expose("/<int:booking_id>/card", methods=["POST"])
    def card_act(self, booking_id: int):
        """Change the job card: assign a technician, add or remove a line."""
        staff = current_account()
        return _card_action(staff, svc.store_booking(staff, booking_id), _CARD_ACTIONS)


def _card_action(actor, booking, actions: dict):
    """Run the posted job-card action (400 for an unknown one), commit or say why not, and
    go back to the card."""
    action = actions.get(request.form.get("action", ""))
    if action is None:
        abort(400)
    try:
        action(actor, booking)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("The job card is saved."), "success")
    return redirect(url_for(".card", booking_id=booking.id), code=303)


class MyJobsView(StaffView):
    """A technician's jobs: assigned to them, today's and those in the workshop now."""

    @expose("/")
    def index(self):
        """List the technician's jobs of today and in progress, phone first."""
        me = current_account()
        tz = ZoneInfo(me.store.timezone)  # a technician always has a store
        day = store_today(me.store_id)
        start = datetime.combine(day, time(0), tzinfo=tz)
        stmt = access.assigned_jobs(select(Booking), me).where(
            or_(
                Booking.status.in_((CHECKED_IN, IN_PROGRESS, READY)),
                and_(
                    Booking.status == ACCEPTED,
                    Booking.slot_start >= start,
                    Booking.slot_start < start + timedelta(days=1),
                ),
            )
        )
        jobs = db.session.scalars(
            stmt.options(*CARD_LOADS, selectinload(Booking.inspection)).order_by(Booking.slot_start)
        ).all()
        return self.render(
            "admin/my_jobs.html",
            jobs=jobs,
            me=me,
            day=day,
            hours_label=job_card.hours_label,
            svc=svc,
            inspectable=inspections.INSPECTABLE,
            templates=templates_of(jobs),
        )

    @expose("/<int:booking_id>")
    def card(self, booking_id: int):
        """Show an assigned job's card on a phone, with forms to add the technician's lines."""
        me = current_account()
        booking = tech_lines.assigned_job(me, booking_id)  # else 404
        query = (request.args.get("q") or "").strip()
        return self.render(
            "admin/my_job_card.html",
            b=booking,
            me=me,
            q=query,
            products=in_stock_matching(booking.store_id, query),
            editable=booking.status in job_card.OPEN,
            hours_label=job_card.hours_label,
            svc=svc,
        )

    @expose("/<int:booking_id>", methods=["POST"])
    def card_act(self, booking_id: int):
        """Add or remove one of the technician's own lines on an assigned job's card."""
        me = current_account()
        return _card_action(me, tech_lines.assigned_job(me, booking_id), _MY_ACTIONS)  # else 404


def _my_part(me, booking: Booking) -> None:
    quantity = int_arg(request.form.get("quantity") or "1", minimum=1, maximum=999)
    if quantity is None:
        raise ValidationError(_("A quantity is a whole number from 1 to 999."), field="quantity")
    tech_lines.add_part(
        me, booking, product_id=_id("product"), text=request.form.get("part", ""),
        quantity=quantity,
    )  # fmt: skip


# A technician's buttons: only their own lines, never a price (see tech_lines).
_MY_ACTIONS = {
    "labour": lambda me, b: tech_lines.add_labour(
        me,
        b,
        operation=request.form.get("operation", ""),
        hours_tenths=job_card.parse_hours(request.form.get("hours")),
    ),
    "part": _my_part,
    "remove_labour": lambda me, b: tech_lines.remove_line(me, b, "labour", _id("line")),
    "remove_part": lambda me, b: tech_lines.remove_line(me, b, "part", _id("line")),
}
