"""Back office for used cars: the vetting queue, one request's review page, and buyer leads."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import SelectField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from admin.base import StaffModelView, StaffView
from admin.list_pages import bad_cursor, chosen_store, store_choices
from crm import leads as lead_svc
from crm.models import Lead
from crm.used_car_fold import NOT_MOBILE, STAFF_NUMBER
from portal import access
from portal.auth import current_account
from portal.errors import NotFound
from portal.extensions import db
from portal.forms import YuanField
from portal.inputs import int_arg
from portal.models import UsedCarFlag, UsedCarLead, UsedCarRequest, User
from portal.models.accounts import ADVISOR, MANAGER
from portal.models.usedcars import GRADES, STATUSES
from portal.outcome import flash_outcome
from portal.paging import Page, keyset_page
from portal.services import usedcars as svc


class ReportForm(FlaskForm):
    grade = SelectField(_l("Condition grade"), choices=[SelectChoice(g, g) for g in GRADES])
    checked_items = SelectMultipleField(
        _l("Checked items"),
        choices=[SelectChoice(k, v) for k, v in svc.CHECK_ITEMS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )
    valuation_low = YuanField(_l("Valuation from (yuan)"))
    valuation_high = YuanField(_l("Valuation to (yuan)"))
    notes = TextAreaField(_l("Notes for the buyer"), validators=[Optional()])


# What a queue row shows besides the request itself, loaded with the list instead of per row.
_ROW_LOADS = (
    selectinload(UsedCarRequest.owner),
    selectinload(UsedCarRequest.expert),
    selectinload(UsedCarRequest.store),
    selectinload(UsedCarRequest.flags),
)


def _scoped(stmt, store_id: int | None = None):
    return access.chosen_store_scope(stmt, UsedCarRequest.store_id, current_user, store_id)


PAGE_SIZE = 50  # the requests, or the buyers' leads, a page lists
BUYER_LIMIT = 200  # the latest buyers' leads one car's review page lists
_BUYER_LOADS = (
    selectinload(Lead.customer),
    selectinload(Lead.advisor),
    selectinload(Lead.used_car),
)


def _buyers(me: User, store_id: int | None = None):
    """Select the leads of buyers who asked about a listed car, in the stores I see."""
    stmt = select(Lead).where(Lead.used_car_id.is_not(None))
    return access.chosen_store_scope(stmt, Lead.store_id, me, store_id)


def buyer_leads(me: User, car_id: int) -> list[Lead]:
    """Return the leads of buyers who asked about one car, newest first, in my store."""
    stmt = _buyers(me).where(Lead.used_car_id == car_id).options(*_BUYER_LOADS)
    return list(
        db.session.scalars(stmt.order_by(Lead.created_at.desc(), Lead.id.desc()).limit(BUYER_LIMIT))
    )


def buyer_page(me: User, store_id: int | None) -> Page:
    """Return one page of the buyers' leads, newest first (?cursor= the last of the page
    before)."""
    stmt = _buyers(me, store_id)
    return keyset_page(
        stmt.options(*_BUYER_LOADS),
        Lead.created_at,
        Lead.id,
        size=PAGE_SIZE,
        param="cursor",
        cursor_stmt=stmt,
    )


def buyer_count(me: User, store_id: int | None) -> int:
    """Return how many buyers' leads the list holds (in SQL)."""
    return db.session.scalar(_buyers(me, store_id).with_only_columns(func.count(Lead.id))) or 0


def lead_labels() -> dict:
    return {"stage_labels": lead_svc.STAGE_LABELS, "state_labels": lead_svc.STATE_LABELS}


class UsedCarReviewView(StaffView):
    """The vetting queue and the review page of one request."""

    @expose("/")
    def index(self):
        """Show one page of the requests, the latest changed first, with a count per status."""
        status = request.args.get("status", "")
        status = status if status in STATUSES else ""
        stores = store_choices()
        store_id = chosen_store(stores)
        stmt = _scoped(select(UsedCarRequest), store_id)
        if status:
            stmt = stmt.where(UsedCarRequest.status == status)
        page = keyset_page(
            stmt.options(*_ROW_LOADS),
            UsedCarRequest.updated_at,
            UsedCarRequest.id,
            size=PAGE_SIZE,
            param="cursor",
            # A request that changed status meanwhile still marks the place.
            cursor_stmt=_scoped(select(UsedCarRequest), store_id),
        )
        counts = dict(
            db.session.execute(
                _scoped(
                    select(UsedCarRequest.status, func.count(UsedCarRequest.id)).group_by(
                        UsedCarRequest.status
                    ),
                    store_id,
                )
            ).all()
        )
        return self.render(
            "admin/usedcars/index.html",
            rows=page.items,
            page=page,
            page_size=PAGE_SIZE,
            count=counts.get(status, 0) if status else sum(counts.values()),
            error=bad_cursor(page),
            stores=stores,
            store_id=store_id,
            status=status,
            counts=counts,
            status_labels=svc.STATUS_LABELS,
        )

    @expose("/<int:car_id>")
    def show(self, car_id: int):
        me = current_account()
        try:
            req = svc.staff_request(me, car_id)
        except NotFound:
            abort(404)
        experts = db.session.scalars(
            select(User)
            .where(
                User.store_id == req.store_id,
                User.role.in_((ADVISOR, MANAGER)),
                User.is_active.is_(True),
            )
            .order_by(User.role, User.name)
        ).all()
        if me.role == ADVISOR:
            experts = [e for e in experts if e.id == me.id]
        return self.render(
            "admin/usedcars/show.html",
            req=req,
            experts=experts,
            report=ReportForm(formdata=None),
            can_decide=me.role != ADVISOR or req.expert_id == me.id,
            status_labels=svc.STATUS_LABELS,
            flag_labels=svc.FLAG_LABELS,
            check_items=svc.CHECK_ITEMS,
            event_text=svc.EVENT_TEXT,
            buyers=buyer_leads(me, req.id),
            phone=lambda lead: lead_svc.lead_phone(me, lead),
            **lead_labels(),
        )

    @expose("/<int:car_id>/act", methods=["POST"])
    def act(self, car_id: int):
        """Apply one workflow step (take, changes, reject, approve, list, sold, withdraw)."""
        me = current_account()
        try:
            req = svc.staff_request(me, car_id)
        except NotFound:
            abort(404)
        verb = request.form.get("verb", "")
        reason = request.form.get("reason", "")
        with flash_outcome(_("Saved.")):
            self._apply(me, req, verb, reason)
        return redirect(url_for(".show", car_id=car_id), code=303)

    def _apply(self, me: User, req: UsedCarRequest, verb: str, reason: str) -> None:
        if verb == "take":
            expert = db.session.get(User, int_arg(request.form.get("expert")) or me.id)
            if expert is None:
                raise NotFound(_("Choose an active advisor or manager."))
            svc.start_review(me, req, expert)
        elif verb == "changes":
            svc.request_changes(me, req, reason)
        elif verb == "reject":
            svc.reject(me, req, reason)
        elif verb == "approve":
            form = ReportForm()
            svc.approve(
                me,
                req,
                grade=form.grade.data or "",
                checked_items=form.checked_items.data or [],
                valuation_low_fen=form.valuation_low.fen,
                valuation_high_fen=form.valuation_high.fen,
                notes=form.notes.data or "",
            )
        elif verb == "list":
            svc.list_car(me, req)
        elif verb == "sold":
            svc.mark_sold(me, req, reason)
        elif verb == "withdraw":
            svc.withdraw(me, req, reason)
        else:
            raise NotFound(_("Unknown step."))

    @expose("/flags/<int:flag_id>/resolve", methods=["POST"])
    def flag_resolve(self, flag_id: int):
        """Resolve a plausibility flag with a note."""
        me = current_account()
        flag = db.session.get(UsedCarFlag, flag_id)
        if flag is None or not access.in_store(me, flag.request.store_id):
            abort(404)
        with flash_outcome(_("Flag resolved.")):
            svc.resolve_flag(me, flag, request.form.get("note", ""))
        return redirect(url_for(".show", car_id=flag.request_id), code=303)


class UsedCarBuyersView(StaffView):
    """Buyers who asked about a listed car: leads of the CRM, routed and worked like any other
    (a colleague's buyer's number is masked; the lead's page reveals it, logged)."""

    @expose("/")
    def index(self):
        """Show one page of the buyers' leads, the newest first, and how many there are."""
        me = current_account()
        stores = store_choices()
        store_id = chosen_store(stores)
        page = buyer_page(me, store_id)
        return self.render(
            "admin/usedcars/buyers.html",
            leads=page.items,
            page=page,
            page_size=PAGE_SIZE,
            count=buyer_count(me, store_id),
            error=bad_cursor(page),
            stores=stores,
            store_id=store_id,
            phone=lambda lead: lead_svc.lead_phone(me, lead),
            **lead_labels(),
        )


def _legacy_phone(view, context, model, name) -> str:
    me = current_account()
    if me.role == ADVISOR and model.advisor_id != me.id:
        return access.mask_phone(model.phone)
    return model.phone


FOLD_NOTES = {
    NOT_MOBILE: _l("not a mainland mobile number"),
    STAFF_NUMBER: _l("the number belongs to a staff account"),
}


def _folded_into(view, context, model, name) -> Markup | str:
    """The lead the inquiry became or joined (crm.used_car_fold), or why it could not be."""
    if model.lead_id is not None:
        href = url_for("leads.show", lead_id=model.lead_id)
        return Markup('<a href="{}">{}</a>').format(href, _("Lead #%(id)s", id=model.lead_id))
    if model.folded_at is not None:
        return _("Not folded: %(why)s", why=FOLD_NOTES.get(model.fold_note, model.fold_note))
    return _("Waiting to be folded")


class UsedCarLeadAdmin(StaffModelView):
    """Buyers' inquiries recorded before they became CRM leads (read only; a colleague's
    buyer's number masked), each with the lead the worker folded it into."""

    store_column = "store_id"
    can_create = False
    can_edit = False
    can_view_details = True
    column_list = ("created_at", "name", "phone", "request", "advisor", "status", "lead_id")
    column_details_list = (
        "created_at", "name", "phone", "message", "request", "advisor", "lead_id",
    )  # fmt: skip
    column_filters = ("status",)
    column_searchable_list = ("name",)
    column_formatters = {"phone": _legacy_phone, "lead_id": _folded_into}
    column_formatters_detail = {"phone": _legacy_phone, "lead_id": _folded_into}
    column_default_sort = ("created_at", True)
    column_labels = {
        "created_at": _l("Received"),
        "name": _l("Name"),
        "phone": _l("Mobile number"),
        "request": _l("Car"),
        "advisor": _l("Advisor"),
        "status": _l("Status"),
        "message": _l("Message"),
        "lead_id": _l("Lead"),
    }

    def get_one(self, id):
        return self.get_query().filter(UsedCarLead.id == int(id)).one_or_none()
