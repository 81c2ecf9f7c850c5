"""Back office of the handoff to the showroom and each person's day: invitations and reception
check-in, tomorrow's plan, and the daily activity report with task-completion charts."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from admin import listing
from admin.base import StaffView
from admin.calls import TASK_LABELS, parse_local
from admin.list_pages import bad_cursor, store_choices
from crm import activity, invitations, routing
from crm import calls as call_svc
from crm.forms import InvitationForm
from crm.leads import SOURCE_LABELS
from crm.models import Lead, Task
from crm.showroom_models import Invitation
from portal import access
from portal.auth import current_account, is_htmx
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.forms import field_error
from portal.inputs import int_arg
from portal.models import Store, User
from portal.paging import BACK_PARAM, cursor_arg
from portal.timeutil import now

INVITATION_LABELS = {
    "invitation_kind_labels": invitations.KIND_LABELS,
    "invitation_status_labels": invitations.STATUS_LABELS,
}
REPORT_DAYS = 14  # the completion charts' window


def _store_of(user: User) -> Store:
    """Return the user's store; an admin (no store) picks one with ?store=, else the first."""
    wanted = user.store_id or int_arg(request.args.get("store"), minimum=1)
    store = db.session.get(Store, wanted) if wanted and access.in_store(user, wanted) else None
    if store is None and access.sees_all_stores(user):
        store = db.session.scalar(select(Store).order_by(Store.id).limit(1))
    if store is None:
        abort(404)
    return store


def _day_arg(store: Store) -> date:
    """Return ?day= (YYYY-MM-DD) or the store's today."""
    raw = (request.args.get("day") or "")[:10]
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2100:
        day = now().astimezone(ZoneInfo(store.timezone)).date()
    return day


class InvitationsView(StaffView):
    """Reception: the day's expected visitors, found by phone or plate and checked in."""

    @expose("/")
    def index(self):
        me = current_account()
        store = _store_of(me)
        start, end = call_svc.day_bounds(store, now())
        query = (request.args.get("q") or "").strip()[:40]
        found = invitations.find_waiting(me, query, start, end) if query else None
        # The day's visitors of the store shown, a page at a time (an admin picks the store).
        page = invitations.expected_page(
            me,
            start,
            end,
            store_id=store.id,
            before=cursor_arg("cursor"),
            back=cursor_arg(BACK_PARAM),
            size=invitations.PAGE_SIZE,
        )
        return self.render(
            "admin/crm/reception.html",
            rows=page.items,
            page=page,
            page_size=invitations.PAGE_SIZE,
            count=listing.count_label(invitations.expected_select(me, start, end, store.id)),
            error=bad_cursor(page),
            stores=store_choices(),
            store_id=store.id,
            query=query,
            found=found[: invitations.FOUND_LIMIT] if found is not None else None,
            found_more=found is not None and len(found) > invitations.FOUND_LIMIT,
            found_limit=invitations.FOUND_LIMIT,
            may_check_in=me.role in invitations.RECEPTION,
            **INVITATION_LABELS,
        )

    @expose("/lead/<int:lead_id>", methods=["GET", "POST"])
    def invite(self, lead_id: int):
        """Book a lead's visit to the showroom with a named salesperson."""
        me = current_account()
        try:
            lead = access.store_record(me, Lead, lead_id, _("Lead not found."))
        except NotFound:
            abort(404)
        form = InvitationForm()
        form.kind.choices = list(invitations.KIND_LABELS.items())
        advisors = routing.active_advisors(lead.store_id)
        form.advisor.choices = [("", _("The lead's advisor"))] + [
            (str(a.id), a.name) for a in advisors
        ]
        if form.validate_on_submit():
            chosen = next((a for a in advisors if str(a.id) == form.advisor.data), None)
            try:
                invitations.invite(
                    me,
                    lead,
                    parse_local(form.starts_at.data, lead.store.timezone),
                    kind=form.kind.data,
                    advisor=chosen,
                    note=form.note.data or "",
                )
            except DomainError as exc:
                db.session.rollback()
                field_error(form, exc, "starts_at")
            else:
                db.session.commit()
                flash(_("Visit booked."), "success")
                return redirect(url_for("calls.index", phone=lead.customer.phone), code=303)
        status = 422 if request.method == "POST" else 200
        return self.render("admin/crm/invite.html", form=form, lead=lead), status

    @expose("/<int:invitation_id>/check-in", methods=["POST"])
    def check_in(self, invitation_id: int):
        """Check the customer in: the lead passes to the salesperson, who is told at once."""
        me = current_account()
        try:
            invitation = access.store_record(
                me, Invitation, invitation_id, _("Invitation not found.")
            )
        except NotFound:
            abort(404)
        try:
            invitations.check_in(me, invitation)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            advisor = invitation.advisor
            flash(
                _(
                    "Checked in: %(advisor)s is on the way.",
                    advisor=advisor.name if advisor else "-",
                ),
                "success",
            )
        return redirect(url_for(".index"), code=303)


class TomorrowView(StaffView):
    """Tomorrow's plan: leftovers first, then tomorrow's tasks, visits and test drives."""

    @expose("/")
    def index(self):
        me = current_account()
        store = _store_of(me)
        plan = activity.tomorrow_plan(
            me,
            store,
            now(),
            before=cursor_arg("cursor"),
            back=cursor_arg(BACK_PARAM),
            size=activity.PAGE_SIZE,
        )
        return self.render(
            "admin/crm/tomorrow.html",
            plan=plan,
            page=plan.page,
            page_size=activity.PAGE_SIZE,
            cursor_error=bad_cursor(plan.page),
            now=now(),
            lang=str(get_locale() or "zh"),
            **TASK_LABELS,
            **INVITATION_LABELS,
        )

    @expose("/<int:task_id>/move", methods=["POST"])
    def move(self, task_id: int):
        """Move one task up or down my plan for tomorrow (htmx swaps the list in place)."""
        me = current_account()
        store = _store_of(me)
        try:
            access.store_record(me, Task, task_id, _("Task not found."))
        except NotFound:
            abort(404)
        try:
            plan = activity.move_in_plan(
                me,
                store,
                task_id,
                request.form.get("direction", ""),
                now(),
                size=activity.PAGE_SIZE,
            )
        except DomainError as exc:
            db.session.rollback()
            if is_htmx():
                before = int_arg(request.form.get("cursor"), minimum=1)
                plan = activity.tomorrow_plan(
                    me, store, now(), before=before, size=activity.PAGE_SIZE
                )
                return self._tasks(plan, exc.message), 422
            flash(exc.message, "error")
        else:
            db.session.commit()
            if is_htmx():
                return self._tasks(plan)
            # Back to the page the task is now on.
            return redirect(url_for(".index", cursor=plan.page.before), code=303)
        return redirect(url_for(".index"), code=303)

    @staticmethod
    def _tasks(plan, error: str = ""):
        return render_template(
            "admin/crm/_plan_tasks.html",
            plan=plan,
            page=plan.page,
            page_size=activity.PAGE_SIZE,
            now=now(),
            error=error,
            **TASK_LABELS,
        )


class ActivityReportView(StaffView):
    """The daily activity report per person and store, and task completion over two weeks."""

    @expose("/")
    def index(self):
        me = current_account()
        store = _store_of(me)
        day = _day_arg(store)
        lines, total = activity.daily_report(me, store, day)
        overall, per_person = activity.completion(me, store, day, REPORT_DAYS)
        first = day - timedelta(days=29)
        return self.render(
            "admin/crm/activity.html",
            store=store,
            day=day,
            prev_day=day - timedelta(days=1),
            next_day=day + timedelta(days=1),
            lines=lines,
            total=total,
            whole_store=activity.sees_store(me),
            overall=overall,
            per_person=list(per_person.items())[:20],
            sources=activity.by_source(me, store, first, day) if activity.sees_store(me) else [],
            source_labels=SOURCE_LABELS,
            percent=lambda v: f"{v:.0f} %",
        )
