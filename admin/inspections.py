"""Back office for inspections: templates managers edit, the phone-first screen where staff
or the job's technician record an inspection with photos, the advisor sends it, the owner's
decisions live, and the funnel."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    abort,
    flash,
    redirect,
    request,
    url_for,
)
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from admin import charts
from admin.base import StaffView, staff_allowed
from admin.bookings import chosen_store
from admin.inspection_app import InstallableApp
from admin.inspection_clips import ClipRoutes
from portal import access
from portal.auth import current_account, is_htmx
from portal.errors import Conflict, DomainError, ValidationError
from portal.extensions import db
from portal.i18n import cny
from portal.inputs import int_arg
from portal.models import (
    Booking,
    Inspection,
    InspectionTemplate,
    Store,
)
from portal.models.accounts import ADMIN, ADVISOR, MANAGER
from portal.money import fen_from_form
from portal.paging import Page, keyset_page
from portal.services import bookings as bookings_svc
from portal.services import inspections as svc
from portal.services.inspections import clips
from portal.timeutil import now
from shop.parts import product_for_part_no

# A page of the cars in the workshop.
PAGE_SIZE = 50


# Who sends an inspection to the owner and follows their decisions: the store's staff, who
# check the prices a technician entered first.
SENDERS = (ADVISOR, MANAGER, ADMIN)


def _in_workshop(stmt, store_id: int | None):
    """Filter a select of bookings to the cars in the workshop the page shows: of the stores
    shown, or a technician's own jobs."""
    return access.job_scope(stmt.where(Booking.status.in_(svc.INSPECTABLE)), current_user, store_id)


def workshop_page(store_id: int | None) -> Page:
    """Return one page of the cars in the workshop, the earliest slot first (?cursor= the last
    car of the page before)."""
    return keyset_page(
        _in_workshop(select(Booking), store_id).options(
            selectinload(Booking.vehicle),
            selectinload(Booking.store),
            selectinload(Booking.inspection).selectinload(Inspection.finished_by),
        ),
        Booking.slot_start,
        Booking.id,
        size=PAGE_SIZE,
        oldest_first=True,
        param="cursor",
        # A car that left the workshop meanwhile still marks the place.
        cursor_stmt=access.job_scope(select(Booking), current_user, store_id),
    )


def workshop_count(store_id: int | None) -> int:
    """Return how many cars are in the workshop of the stores the page shows (in SQL)."""
    return db.session.scalar(_in_workshop(select(func.count(Booking.id)), store_id)) or 0


def store_options() -> list[tuple[int, str, int]]:
    """Return (id, name, cars in the workshop) of every store, for those who see several."""
    if not access.sees_all_stores(current_user):
        return []
    cars = dict(
        db.session.execute(
            _in_workshop(
                select(Booking.store_id, func.count(Booking.id)).group_by(Booking.store_id), None
            )
        ).all()
    )
    stores = db.session.execute(select(Store.id, Store.name).order_by(Store.name, Store.id))
    return [(sid, name, cars.get(sid, 0)) for sid, name in stores]


def templates_of(bookings: list[Booking]) -> dict[int, list[InspectionTemplate]]:
    """Return the active templates of every store on the page, by name, in one query."""
    store_ids = {b.store_id for b in bookings}
    of_store: dict[int, list[InspectionTemplate]] = {sid: [] for sid in store_ids}
    if store_ids:
        for template in db.session.scalars(
            select(InspectionTemplate)
            .where(InspectionTemplate.store_id.in_(store_ids), InspectionTemplate.active)
            .order_by(InspectionTemplate.name, InspectionTemplate.id)
        ):
            of_store[template.store_id].append(template)
    return of_store


def _parts(inspection) -> dict:
    """The shop parts of the inspection's items (SKU and names) and those short of stock."""
    ids = [i.product_id for i in inspection.items if i.product_id]
    return {"part_names": svc.part_names(ids), "short": svc.short_of_stock(inspection)}


def _part_from_form() -> dict:
    """Read the item's part number and quantity: a shop product, none, or a form error."""
    part_no = (request.form.get("part_no") or "").strip()
    if "part_no" not in request.form:
        return {}
    if not part_no:
        return {"remove_part": True}
    product = product_for_part_no(part_no)
    if product is None:
        raise ValidationError(
            _("No shop product has the part number %(no)s.", no=part_no[:40]), field="part_no"
        )
    quantity = int_arg(request.form.get("part_quantity") or "1", minimum=1, maximum=999)
    if quantity is None:
        raise ValidationError(_("A quantity is a whole number from 1 to 999."), field="quantity")
    return {"part": (product.id, quantity)}


def _senders_only() -> None:
    """Refuse a role that records inspections but does not send them (a technician)."""
    if not staff_allowed(SENDERS):
        abort(403)


class InspectionView(ClipRoutes, InstallableApp, StaffView):
    """Record an inspection item by item on a phone, with photos, and send it to the owner."""

    def _page(self, inspection, error=None, status=200):
        return self.render(
            "admin/inspections/show.html",
            inspection=inspection,
            booking=inspection.booking,
            svc=svc,
            bsvc=bookings_svc,
            error=error,
            can_send=svc.may_send(current_account(), inspection),
            clips=clips,
            **_parts(inspection),
        ), status

    @expose("/")
    def index(self):
        """Show one page of the cars in the workshop; admins may narrow it to one store."""
        stores = store_options()
        store_id = chosen_store()
        if store_id not in {s[0] for s in stores}:
            store_id = None  # no such store: every store
        page = workshop_page(store_id)
        return self.render(
            "admin/inspections/index.html",
            bookings=page.items,
            page=page,
            templates=templates_of(page.items),
            bsvc=bookings_svc,
            stores=stores,
            store_id=store_id,
            count=workshop_count(store_id),
            page_size=PAGE_SIZE,
            show_store=bool(stores),
            technician=access.is_technician(current_user),
        )

    @expose("/start/<int:booking_id>", methods=["POST"])
    def start(self, booking_id: int):
        staff = current_account()
        booking = svc.inspected_job(staff, booking_id)
        try:
            inspection = svc.start(staff, booking, int_arg(request.form.get("template"), minimum=1))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"), code=303)
        db.session.commit()
        return redirect(url_for(".show", inspection_id=inspection.id), code=303)

    @expose("/<int:inspection_id>")
    def show(self, inspection_id: int):
        inspection = svc.staff_inspection(current_account(), inspection_id)
        return self._page(inspection)

    @expose("/<int:inspection_id>/items/<int:item_id>", methods=["POST"])
    def item_save(self, inspection_id: int, item_id: int):
        staff = current_account()
        inspection = svc.staff_inspection(staff, inspection_id)
        upload = request.files.get("photo")
        photo = upload.read() if upload is not None and upload.filename else None
        clip = request.files.get("clip")
        # One byte past the limit is enough to refuse it; the rest is never read.
        clip_data = clip.stream.read(clips.max_bytes() + 1) if clip and clip.filename else None
        try:
            item = svc.record_item(
                staff,
                inspection,
                item_id,
                severity=request.form.get("severity", ""),
                note=request.form.get("note", ""),
                price_fen=fen_from_form(request.form.get("price") or "0", field="price"),
                photo=photo,
                remove_photo=request.form.get("remove_photo") == "1",
                clip=clip_data,
                remove_clip=request.form.get("remove_clip") == "1",
                save_key=request.form.get("save_key") or None,
                **_part_from_form(),
            )
        except DomainError as exc:
            db.session.rollback()
            status = 409 if isinstance(exc, Conflict) else 422
            inspection = svc.staff_inspection(staff, inspection_id)
            item = next((i for i in inspection.items if i.id == item_id), None)
            if item is None:
                abort(404)
            if is_htmx():
                return self.render(
                    "admin/inspections/_item_edit.html",
                    i=item,
                    inspection=inspection,
                    svc=svc,
                    clips=clips,
                    error=exc.message,
                    **_parts(inspection),
                ), status
            return self._page(inspection, error=exc.message, status=status)
        db.session.commit()
        if is_htmx():
            return self.render(
                "admin/inspections/_item_edit.html",
                i=item,
                inspection=inspection,
                svc=svc,
                clips=clips,
                error=None,
                saved=True,
                **_parts(inspection),
            )
        return redirect(
            url_for(".show", inspection_id=inspection_id) + f"#item-{item_id}", code=303
        )

    def _step(self, inspection_id: int, act, done: str):
        """Take one step of the inspection (finish, send) and show its page with the outcome."""
        staff = current_account()
        inspection = svc.staff_inspection(staff, inspection_id)
        try:
            act(staff, inspection)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(done, "success")
        return redirect(url_for(".show", inspection_id=inspection_id), code=303)

    @expose("/<int:inspection_id>/finish", methods=["POST"])
    def finish(self, inspection_id: int):
        """Mark the inspection recorded, for the advisor to check and send."""
        done = _("Finished. The advisor checks the prices and sends it to the owner.")
        return self._step(inspection_id, svc.finish, done)

    @expose("/<int:inspection_id>/send", methods=["POST"])
    def send(self, inspection_id: int):
        _senders_only()
        done = _("Sent to the owner. Their decisions appear below as they come in.")
        return self._step(inspection_id, svc.send, done)

    @expose("/<int:inspection_id>/outcome")
    def outcome(self, inspection_id: int):
        """Return what the owner decided on an inspection of a job the user works on, read
        only (the technician's page polls this until nothing is left to decide)."""
        inspection = svc.staff_inspection(current_account(), inspection_id)
        return self.render("admin/inspections/_outcome.html", inspection=inspection, svc=svc)

    @expose("/<int:inspection_id>/decisions")
    def decisions(self, inspection_id: int):
        """Return the owner's decisions and the job lines (htmx polls this)."""
        _senders_only()
        inspection = svc.staff_inspection(current_account(), inspection_id)
        return self.render(
            "admin/inspections/_decisions.html",
            inspection=inspection,
            booking=inspection.booking,
            svc=svc,
            **_parts(inspection),
        )


PERIODS = (30, 90, 365)


class InspectionFunnelView(StaffView):
    """Managers: inspections sent, opened, items approved and amount approved, per advisor."""

    @expose("/")
    def index(self):
        days = int_arg(request.args.get("days"), minimum=1, maximum=3650)
        days = days if days in PERIODS else PERIODS[0]
        rows = svc.advisor_funnel(current_account(), now() - timedelta(days=days))
        totals = {
            "sent": sum(r.sent for r in rows),
            "opened": sum(r.opened for r in rows),
            "recommended": sum(r.recommended for r in rows),
            "approved": sum(r.approved for r in rows),
            "approved_fen": sum(r.approved_fen for r in rows),
        }
        funnel = charts.funnel(
            [
                (_("Inspections sent"), totals["sent"]),
                (_("Opened by the owner"), totals["opened"]),
            ],
            chart_id="inspection-funnel",
            title=_("Inspections sent and opened"),
        )
        approvals = charts.funnel(
            [
                (_("Items recommended"), totals["recommended"]),
                (_("Items approved"), totals["approved"]),
            ],
            chart_id="inspection-items",
            title=_("Recommended items and approvals"),
        )
        amounts = charts.hbar(
            [(r.name, r.approved_fen) for r in rows],
            chart_id="inspection-amounts",
            title=_("Amount approved per advisor"),
            fmt=lambda v: cny(int(v)),
        )
        return self.render(
            "admin/inspections/funnel.html",
            rows=rows,
            totals=totals,
            days=days,
            periods=PERIODS,
            charts={"funnel": funnel, "approvals": approvals, "amounts": amounts},
        )
