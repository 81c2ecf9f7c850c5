"""Back office of service quality: the store's complaints (entry, acknowledge, resolve), their
analytics, CSI survey results with the owners' 1-5 ratings, and the survey's questions."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from admin.base import StaffView
from crm import complaints as svc
from crm import quality_stats as stats
from crm import surveys
from crm.customers import clean_contact, find_customer
from crm.quality_forms import ResolveForm, StaffComplaintForm
from crm.quality_models import (
    COMPLAINT_STATES,
    DELIVERY,
    SERVICE,
    SEVERITIES,
    UNRESOLVED,
    Complaint,
    Survey,
)
from portal import access
from portal.auth import current_account
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.forms import field_error
from portal.inputs import int_arg
from portal.models import Booking, Store, User
from portal.models.accounts import ADVISOR, MANAGER
from portal.outcome import flash_outcome
from portal.paging import keyset_page
from portal.timeutil import now

LABELS = {
    "category_labels": svc.CATEGORY_LABELS,
    "status_labels": svc.STATUS_LABELS,
    "severity_labels": svc.SEVERITY_LABELS,
    "source_labels": svc.SOURCE_LABELS,
}
PAGE_SIZE = 50


def _complaint(complaint_id: int) -> Complaint:
    try:
        return access.store_record(
            current_account(), Complaint, complaint_id, _("Complaint not found.")
        )
    except NotFound:
        abort(404)


def _store_staff(store_id: int | None) -> list[User]:
    if store_id is None:
        return []
    return list(
        db.session.scalars(
            select(User)
            .where(User.store_id == store_id, User.role.in_((ADVISOR, MANAGER)))
            .where(User.is_active.is_(True))
            .order_by(User.name)
        )
    )


def _counts(me: User) -> dict[str, int]:
    """Return how many of the store's complaints are in each tab (counted in SQL)."""
    per_status = dict(
        db.session.execute(
            access.store_scope(
                select(Complaint.status, func.count(Complaint.id)).group_by(Complaint.status),
                Complaint.store_id,
                me,
            )
        ).all()
    )
    counts = {state: per_status.get(state, 0) for state in COMPLAINT_STATES}
    counts["open"] = sum(per_status.get(state, 0) for state in UNRESOLVED)
    return counts


class ComplaintsView(StaffView):
    """The store's complaints, late ones first; one complaint; a phone or walk-in entry."""

    @expose("/")
    def index(self):
        """List the store's complaints of one state a page at a time: those being handled the
        latest due first, the resolved and closed ones newest first."""
        me = current_account()
        status = request.args.get("status", "open")
        if status != "open" and status not in COMPLAINT_STATES:
            status = "open"
        scoped = access.store_scope(select(Complaint), Complaint.store_id, me)
        if status == "open":  # everything still being handled
            stmt, sort, oldest_first = (
                scoped.where(Complaint.status.in_(UNRESOLVED)),
                Complaint.resolve_due_at,
                True,
            )
        else:
            stmt, sort, oldest_first = (
                scoped.where(Complaint.status == status),
                Complaint.created_at,
                False,
            )
        page = keyset_page(
            stmt.options(selectinload(Complaint.customer)),
            sort,
            Complaint.id,
            size=PAGE_SIZE,
            oldest_first=oldest_first,
            param="cursor",
            cursor_stmt=scoped,
        )
        return self.render(
            "admin/quality/complaints.html",
            rows=page.items,
            page=page,
            page_size=PAGE_SIZE,
            status=status,
            counts=_counts(me),
            now=now(),
            **LABELS,
        )

    @expose("/new", methods=["GET", "POST"])
    def new(self):
        """Enter a complaint received by phone or at the desk."""
        me = current_account()
        form = StaffComplaintForm()
        form.technician.choices = [SelectChoice("", "—")] + [
            SelectChoice(str(u.id), u.name) for u in _store_staff(me.store_id)
        ]
        if request.method == "GET":
            return self.render("admin/quality/complaint_new.html", form=form)
        if form.validate_on_submit():
            try:
                complaint = self._enter(me, form)
            except DomainError as exc:
                db.session.rollback()
                field_error(form, exc, "phone")
            else:
                db.session.commit()
                flash(_("Complaint #%(id)d recorded.", id=complaint.id), "success")
                return redirect(url_for(".show", complaint_id=complaint.id), code=303)
        return self.render("admin/quality/complaint_new.html", form=form), 422

    def _enter(self, me: User, form: StaffComplaintForm) -> Complaint:
        store = db.session.get(Store, me.store_id) if me.store_id else None
        if store is None:
            raise DomainError(_("Only staff of a store enter complaints."), field="source")
        phone, _email, _vin = clean_contact(form.phone.data or "")
        customer = find_customer(phone)
        if customer is None:
            raise DomainError(
                _("No customer has this number. Add them as an owner first."), field="phone"
            )
        booking = None
        if (form.booking.data or "").strip():
            booking_id = int_arg(form.booking.data, minimum=1)
            booking = db.session.get(Booking, booking_id) if booking_id else None
            if booking is None or booking.owner_id != customer.id or booking.store_id != store.id:
                raise DomainError(_("This customer has no such job here."), field="booking")
        technician = int_arg(form.technician.data, minimum=1)
        if technician not in {u.id for u in _store_staff(store.id)}:
            technician = None
        return svc.open_complaint(
            customer,
            store,
            source=form.source.data,
            category=form.category.data,
            severity=form.severity.data,
            description=form.description.data or "",
            booking=booking,
            technician_id=technician,
            entered_by=me,
        )

    @expose("/<int:complaint_id>")
    def show(self, complaint_id: int):
        complaint = _complaint(complaint_id)
        me = current_account()
        return self.render(
            "admin/quality/complaint.html",
            c=complaint,
            phone=access.customer_phone(me, complaint.customer),
            form=ResolveForm(),
            now=now(),
            **LABELS,
        )

    @expose("/<int:complaint_id>/act", methods=["POST"])
    def act(self, complaint_id: int):
        """Acknowledge or resolve the complaint."""
        complaint, me = _complaint(complaint_id), current_account()
        verb = request.form.get("verb", "")
        with flash_outcome(_("Saved.")):
            if verb == "acknowledge":
                svc.acknowledge(me, complaint)
            elif verb == "resolve":
                svc.resolve(me, complaint, request.form.get("resolution", ""))
            else:
                raise DomainError(_("Unknown step."))
        return redirect(url_for(".show", complaint_id=complaint_id), code=303)


class ComplaintAnalyticsView(StaffView):
    """Complaints for managers: by category, store and advisor; timings; reopen rate."""

    @expose("/")
    def index(self):
        days = int_arg(request.args.get("days"), minimum=7, maximum=730) or 90
        numbers = stats.complaint_numbers(current_account(), days)
        categories = [(str(svc.CATEGORY_LABELS[k]), n) for k, n in numbers.by_category]
        return self.render(
            "admin/quality/analytics.html",
            n=numbers,
            days=days,
            categories=categories,
            sla_shares=[
                (_sized(row.label, row.acknowledged), _share(row.ack_on_time, row.acknowledged))
                for row in numbers.sla_by_store
            ],
            in_store=current_account().store_id is not None,
        )

    @expose("/deadlines", methods=["GET", "POST"])
    def deadlines(self):
        """Edit the store's complaint deadlines per severity (a store's managers)."""
        me = current_account()
        if me.store_id is None:
            abort(403)
        table = svc.store_sla(me.store_id)
        shown = {sev: (str(h), str(d)) for sev, (h, d) in table.items()}
        error = None
        if request.method == "POST":
            shown = {
                sev: (request.form.get(f"ack_{sev}", ""), request.form.get(f"resolve_{sev}", ""))
                for sev in SEVERITIES
            }
            posted = {
                sev: (int_arg(raw_h, maximum=100_000), int_arg(raw_d, maximum=100_000))
                for sev, (raw_h, raw_d) in shown.items()
            }
            try:
                svc.save_sla(me, me.store_id, posted)
            except DomainError as exc:
                db.session.rollback()
                error = exc.message
            else:
                db.session.commit()
                flash(_("Complaint deadlines saved."), "success")
                return redirect(url_for(".deadlines"), code=303)
        return self.render(
            "admin/quality/deadlines.html",
            rows=[(sev, svc.SEVERITY_LABELS[sev], *shown[sev]) for sev in reversed(SEVERITIES)],
            defaults=svc.default_sla(),
            error=error,
        ), (422 if error else 200)


def _share(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _sized(label: str, n: int) -> str:
    return f"{label} (n={n})"


def _kind_arg() -> str:
    """Return the kind of survey the page shows: ?kind=delivery, else the workshop's."""
    return DELIVERY if request.values.get("kind") == DELIVERY else SERVICE


def _kinds() -> list[tuple[str, str]]:
    return [(SERVICE, _("After-sales service")), (DELIVERY, _("New-car delivery"))]


class SurveyResultsView(StaffView):
    """CSI for managers: NPS and CSI per month, store and advisor of the service surveys or
    of the delivery surveys (?kind=delivery: per sales advisor), the service NPS per
    technician of the store, the 1-5 job ratings, and the store's survey questions of each
    kind."""

    @expose("/")
    def index(self):
        me = current_account()
        kind = _kind_arg()
        per, latest = stats.ratings(me)
        months = stats.csi_by_month(me, kind=kind)
        stores = stats.csi_by(me, Survey.store_id, Store, kind=kind)
        advisors = stats.csi_by(me, Survey.advisor_id, User, kind=kind)
        technicians = stats.nps_by_technician(me) if kind == SERVICE else []
        charts = {
            "nps_month": [(_sized(m.label, m.n), m.nps) for m in months],
            "csi_month": [(_sized(m.label, m.n), m.csi) for m in months],
            "stores": [(_sized(r.label, r.n), r.nps) for r in stores],
            "advisors": [(_sized(r.label, r.n), r.nps) for r in advisors],
            "ratings": [(_sized(name, n), service) for name, n, service, _a in per],
            "technicians": [(_sized(t.label, t.n), t.nps) for t in technicians],
        }
        return self.render(
            "admin/quality/csi.html",
            kind=kind,
            kinds=_kinds(),
            stores=stores,
            advisors=advisors,
            technicians=technicians,
            ratings=latest,
            charts=charts,
        )

    @expose("/questions", methods=["GET", "POST"])
    def questions(self):
        """Edit the store's 3-5 survey questions of one kind (a store's managers)."""
        me = current_account()
        if me.store_id is None:
            abort(403)
        kind = _kind_arg()
        if request.method == "POST":
            pairs = [
                (request.form.get(f"zh{i}", ""), request.form.get(f"en{i}", ""))
                for i in range(1, 6)
            ]
            with flash_outcome(_("Survey questions saved.")):
                surveys.save_questions(me.store_id, pairs, kind)
            return redirect(url_for(".questions", kind=kind), code=303)
        asked = surveys.questions(me.store_id, kind)
        rows = [*asked, *[("", "")] * (5 - len(asked))]
        return self.render("admin/quality/questions.html", rows=rows, kind=kind, kinds=_kinds())
