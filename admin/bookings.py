"""Back office for bookings: the live queue and the reviewed archive (the workshop board is
admin/workshop.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from admin import listing
from admin.base import StaffModelView, StaffView
from portal import access
from portal.auth import current_account, is_htmx
from portal.errors import DomainError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Booking, ServiceRecord, Store
from portal.models.bookings import (
    PROPOSE_REASONS,
    REJECT_REASONS,
    SUBMITTED,
)
from portal.paging import keyset_page
from portal.services import bookings as svc
from portal.services import capacity, inspections

# Everything a queue item or a workshop card shows, loaded with the list instead of per row.
ITEM_LOADS = (
    selectinload(Booking.vehicle),
    selectinload(Booking.owner),
    selectinload(Booking.store),
    selectinload(Booking.advisor),
    selectinload(Booking.photos),
)


def scoped(stmt):
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


# A page of the queue, and the most new bookings one poll brings (the rest come on the next).
QUEUE_PAGE_SIZE = 50
NEW_SHOWN = 20


def chosen_store() -> int | None:
    """Return the store an admin narrowed the queue to (?store=), None for every store; store
    staff see their own store whatever the URL says."""
    if not access.sees_all_stores(current_user):
        return None
    return int_arg(request.args.get("store"), minimum=1)


def _pending_stmt(store_id: int | None):
    return access.chosen_store_scope(
        select(Booking).where(Booking.status == SUBMITTED), Booking, current_user, store_id
    )


def waiting_count(store_id: int | None) -> int:
    """Return how many bookings wait for a decision in the stores the page shows (in SQL)."""
    stmt = access.chosen_store_scope(
        select(func.count(Booking.id)).where(Booking.status == SUBMITTED),
        Booking,
        current_user,
        store_id,
    )
    return db.session.scalar(stmt) or 0


def store_options() -> list[tuple[int, str, int]]:
    """Return (id, name, bookings waiting) of every store, for those who see several."""
    if not access.sees_all_stores(current_user):
        return []
    waiting = dict(
        db.session.execute(
            scoped(
                select(Booking.store_id, func.count(Booking.id))
                .where(Booking.status == SUBMITTED)
                .group_by(Booking.store_id)
            )
        ).all()
    )
    stores = db.session.execute(select(Store.id, Store.name).order_by(Store.name, Store.id))
    return [(sid, name, waiting.get(sid, 0)) for sid, name in stores]


class QueueView(StaffView):
    """Pending bookings of the store, oldest first and a page at a time; new bookings arrive
    at the top by themselves and decisions update the page in place."""

    def _last_id(self, store_id: int | None) -> int:
        stmt = select(func.max(Booking.id))
        return db.session.scalar(access.chosen_store_scope(stmt, Booking, current_user, store_id))

    def _ctx(self, bookings: list[Booking]) -> dict:
        previous, proposals = _previous_repairs(bookings), _proposal_choices(bookings)
        parts_waiting = inspections.waiting_for_parts(bookings)
        return {
            "previous": lambda b: previous[b.id],
            "proposals": lambda b: proposals[b.id],
            # A car whose approved part is still on order: "parts not available" preselected.
            "proposal_reason": lambda b: (
                "parts_unavailable" if b.id in parts_waiting else "no_capacity"
            ),
            "svc": svc,
            "reasons": REJECT_REASONS,
            "propose_reasons": PROPOSE_REASONS,
            "show_store": access.sees_all_stores(current_user),
        }

    @expose("/")
    def index(self):
        """Show one page of the pending bookings (?cursor= the last one of the page before)."""
        stores = store_options()
        store_id = chosen_store()
        if store_id not in {s[0] for s in stores}:
            store_id = None  # no such store: every store
        # The newest id first: the page lists up to it and the poller brings what comes after,
        # so a booking made meanwhile is on one of the two, never on both.
        last_id = self._last_id(store_id) or 0
        page = keyset_page(
            _pending_stmt(store_id).where(Booking.id <= last_id).options(*ITEM_LOADS),
            Booking.created_at,
            Booking.id,
            size=QUEUE_PAGE_SIZE,
            oldest_first=True,
            param="cursor",
            cursor_stmt=access.chosen_store_scope(select(Booking), Booking, current_user, store_id),
        )
        return self.render(
            "admin/bookings/queue.html",
            bookings=page.items,
            page=page,
            ctx=self._ctx(page.items),
            after=last_id,
            store_id=store_id,
            stores=stores,
            waiting=waiting_count(store_id),
            page_size=QUEUE_PAGE_SIZE,
        )

    @expose("/items")
    def items(self):
        """Return pending bookings newer than ?after= (the oldest few first), the count still
        waiting and the next poller (htmx)."""
        after = int_arg(request.args.get("after")) or 0
        store_id = chosen_store()
        fresh = list(
            db.session.scalars(
                _pending_stmt(store_id)
                .where(Booking.id > after)
                .options(*ITEM_LOADS)
                .order_by(Booking.id)
                .limit(NEW_SHOWN)
            )
        )
        newest = max([after, *(b.id for b in fresh)])
        return self.render(
            "admin/bookings/_queue_new.html",
            bookings=fresh[::-1],  # the newest at the top
            ctx=self._ctx(fresh),
            after=newest,
            store_id=store_id,
            waiting=waiting_count(store_id),
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
                    reason=request.form.get("reason") or None,
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
    # Sorted through an index each (ix_bookings_status_id, ix_bookings_decided_slot and
    # _decided_at): a reason or a note is filtered or searched, not sorted by.
    column_sortable_list = ("id", "status", "slot_start", "decided_at")
    column_searchable_list = ("decision_note", "description")
    # Through the trigram indexes: '%text%' over every decided booking took 4 s at 1M customers.
    search_rules = {"decision_note": listing.WORDS, "description": listing.WORDS}
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
