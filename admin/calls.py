"""Back office of the call centre and each person's day: Today, the call console and queue,
task approvals and the store's task rules."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import func, select

from admin import listing
from admin.base import StaffView
from admin.crm import LABELS, inquiry_from_form
from admin.list_pages import bad_cursor, chosen_store, store_choices
from crm import calls, invitations, lifecycle, lifecycle_marks, rules
from crm import leads as lead_svc
from crm import tasks as svc
from crm.forms import StaffLeadForm
from crm.models import TASK_LIVE, Task
from portal import access
from portal.auth import current_account, is_htmx
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.forms import field_error
from portal.inputs import int_arg
from portal.models import Store, User
from portal.paging import BACK_PARAM, cursor_arg
from portal.timeutil import now

TASK_LABELS = {
    "kind_labels": svc.KIND_LABELS,
    "task_status_labels": svc.STATUS_LABELS,
    "outcome_labels": svc.OUTCOME_LABELS,
    "priority_labels": svc.PRIORITY_LABELS,
    "ask_labels": svc.ASK_LABELS,
    "call_outcomes": svc.CALL_OUTCOMES,
    "task_reason": lifecycle.reason,
}
BACK = {"today": "today.index", "calls": "calls.index"}


def task_labels() -> dict:
    """Return the task labels with each lazy label resolved once for this request: a page of
    rows reads them hundreds of times, and each lazy read is a catalogue lookup."""
    return {
        key: {k: str(v) for k, v in value.items()} if isinstance(value, dict) else value
        for key, value in TASK_LABELS.items()
    }


def _task(task_id: int) -> Task:
    try:
        return access.store_record(current_account(), Task, task_id, _("Task not found."))
    except NotFound:
        abort(404)


def _store_zone(user: User) -> str:
    store = db.session.get(Store, user.store_id) if user.store_id else None
    return store.timezone if store else "Asia/Shanghai"


def parse_local(raw: str | None, tz: str) -> datetime | None:
    """Return a datetime-local field ("2026-12-04T15:00") in the store's zone as UTC, or None."""
    try:
        local = datetime.strptime((raw or "").strip()[:16], "%Y-%m-%dT%H:%M")
    except ValueError:
        return None
    if not 2000 <= local.year <= 2100:
        return None
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(now().tzinfo)


def _awaiting_label(me: User) -> str:
    """Return how many tasks wait for the manager's decision ("" for none), in one bounded
    count: exact up to listing.COUNT_LIMIT, else "more than" it."""
    n = listing.bounded_count(svc.awaiting_select(me))
    if n == 0:
        return ""
    return f"{n:,}" if n is not None else listing.estimate_label(None)


def _row(task: Task, back: str):
    """Render one task's row (the fragment the lists include and htmx swaps)."""
    return TodayView.render_row(task, back)


class TodayView(StaffView):
    """My day: tasks by due time (overdue first), today's bookings, callbacks, one-tap calls."""

    @staticmethod
    def render_row(task: Task, back: str):
        return render_template(
            "admin/crm/_task_row.html", t=task, back=back, now=now(), **task_labels()
        )

    @expose("/")
    def index(self):
        me = current_account()
        at = now()
        store = db.session.get(Store, me.store_id) if me.store_id else None
        # The order the person gave this day's tasks in last night's plan comes first.
        day = at.astimezone(ZoneInfo(store.timezone)).date() if store else None
        # One page of the person's live tasks (every one reachable by the next link), split
        # into the day's sections.
        page = svc.open_tasks_page(
            me, day, before=cursor_arg("cursor"), back=cursor_arg(BACK_PARAM), size=svc.PAGE_SIZE
        )
        tasks = page.items
        start, end = calls.day_bounds(store, at)
        visits, visits_more = invitations.mine(me, start, end)
        return self.render(
            "admin/crm/today.html",
            page=page,
            page_size=svc.PAGE_SIZE,
            error=bad_cursor(page),
            overdue=[t for t in tasks if t.overdue_at is not None or t.due_at < at],
            today=[t for t in tasks if t.overdue_at is None and at <= t.due_at < end],
            later=[t for t in tasks if t.overdue_at is None and t.due_at >= end],
            callbacks=[t for t in tasks if t.attempts > 0 or t.kind == "follow_up"],
            bookings=calls.todays_bookings(me) if me.store_id else [],
            visits=visits,
            visits_more=visits_more,
            invitation_kind_labels=invitations.KIND_LABELS,
            invitation_status_labels=invitations.STATUS_LABELS,
            awaiting=_awaiting_label(me) if svc.is_manager(me) else "",
            now=at,
            **task_labels(),
        )

    @expose("/<int:task_id>/call", methods=["POST"])
    def call(self, task_id: int):
        """Log a call in one tap: outcome, an optional note and (for call back) a time."""
        me, task = current_account(), _task(task_id)
        back = request.form.get("back", "today")
        back = back if back in BACK else "today"
        when = parse_local(request.form.get("when"), _store_zone(me))
        try:
            svc.log_call(
                me, task, request.form.get("outcome", ""), request.form.get("note", ""), when
            )
        except DomainError as exc:
            db.session.rollback()
            if is_htmx():
                return _row(db.session.get(Task, task_id), back) + _error(exc.message), 422
            flash(exc.message, "error")
        else:
            db.session.commit()
            if is_htmx():
                return _row(task, back)
            flash(_("Call logged."), "success")
        return redirect(url_for(BACK[back]), code=303)

    @expose("/<int:task_id>/ask", methods=["POST"])
    def ask(self, task_id: int):
        """Ask the manager to cancel the task or to close an unanswered call, with a reason."""
        me, task = current_account(), _task(task_id)
        try:
            svc.ask(me, task, request.form.get("what", ""), request.form.get("reason", ""))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Sent to the manager for approval."), "success")
        return redirect(url_for(".index"), code=303)


def _error(message: str) -> str:
    return f'<div class="alert alert-danger m4s-call-error">{escape(message)}</div>'


class CallConsoleView(StaffView):
    """The call console: a number opens the caller's card; the outbound queue beside it."""

    @expose("/")
    def index(self):
        me = current_account()
        phone = (request.args.get("phone") or "")[:40]
        card = calls.card(me, phone) if phone else None
        last_pop = db.session.scalar(
            select(func.max(calls.ScreenPop.id)).where(calls.ScreenPop.agent_id == me.id)
        )
        page = svc.queue_page(
            me, before=cursor_arg("cursor"), back=cursor_arg(BACK_PARAM), size=svc.PAGE_SIZE
        )
        return self.render(
            "admin/crm/calls.html",
            phone=phone,
            card=card,
            form=self._lead_form(card),
            queue=page.items,
            page=page,
            page_size=svc.PAGE_SIZE,
            error=bad_cursor(page),
            after=last_pop or 0,
            now=now(),
            **task_labels(),
            **LABELS,
        )

    @staticmethod
    def _lead_form(card) -> StaffLeadForm | None:
        if card is None or (card.customer is not None and card.visible):
            return None
        form = StaffLeadForm(formdata=None)
        form.phone.data = card.phone
        return form

    @expose("/card")
    def card(self):
        """Return the caller's card for a number (the htmx fragment of the console)."""
        phone = (request.args.get("phone") or "")[:40]
        if not is_htmx():
            return redirect(url_for(".index", phone=phone))
        card = calls.card(current_account(), phone)
        return self._card(card, phone)

    def _card(self, card, phone: str):
        return render_template(
            "admin/crm/_card.html",
            card=card,
            phone=phone,
            form=self._lead_form(card),
            now=now(),
            **task_labels(),
            **LABELS,
        )

    @expose("/pop")
    def pop(self):
        """Return the card of the newest caller ID posted for me (204 while there is none)."""
        me = current_account()
        after = int_arg(request.args.get("after")) or 0
        pop = calls.latest_pop(me, after)
        if pop is None:
            return "", 204
        poller = render_template("admin/crm/_pop_poll.html", after=pop.id, oob=True)
        return self._card(calls.card(me, pop.phone), pop.phone) + poller

    @expose("/lead", methods=["POST"])
    def lead_new(self):
        """Enter a lead for an unknown caller; it is deduplicated and routed to an advisor."""
        me = current_account()
        form = StaffLeadForm()
        if form.validate_on_submit():
            try:
                captured = lead_svc.capture(inquiry_from_form(me, form), actor=me)
            except DomainError as exc:
                db.session.rollback()
                field_error(form, exc, "phone")
            else:
                db.session.commit()
                advisor = captured.lead.advisor
                flash(
                    _("Lead saved for %(advisor)s.", advisor=advisor.name if advisor else "-"),
                    "success",
                )
                return redirect(url_for(".index", phone=captured.lead.customer.phone), code=303)
        page = svc.queue_page(me, size=svc.PAGE_SIZE)
        return (
            self.render(
                "admin/crm/calls.html",
                phone=form.phone.data or "",
                card=None,
                form=form,
                queue=page.items,
                page=page,
                page_size=svc.PAGE_SIZE,
                error=None,
                after=0,
                now=now(),
                **task_labels(),
                **LABELS,
            ),
            422,
        )


class TaskApprovalsView(StaffView):
    """The manager's queue: requests to cancel or clear tasks, and who left what open."""

    @expose("/")
    def index(self):
        me = current_account()
        left = db.session.execute(
            access.store_scope(
                select(User.name, func.count(Task.id))
                .join(User, User.id == Task.owner_id)
                .where(Task.status.in_(TASK_LIVE), Task.overdue_at.is_not(None)),
                Task,
                me,
            )
            .group_by(User.name)
            .order_by(func.count(Task.id).desc())
        ).all()
        stores = store_choices()
        store_id = chosen_store(stores)
        page = svc.awaiting_page(
            me,
            store_id,
            before=cursor_arg("cursor"),
            back=cursor_arg(BACK_PARAM),
            size=svc.PAGE_SIZE,
        )
        return self.render(
            "admin/crm/approvals.html",
            rows=page.items,
            page=page,
            page_size=svc.PAGE_SIZE,
            count=listing.count_label(svc.awaiting_select(me, store_id)),
            error=bad_cursor(page),
            stores=stores,
            store_id=store_id,
            left=left,
            **TASK_LABELS,
        )

    @expose("/<int:task_id>/decide", methods=["POST"])
    def decide(self, task_id: int):
        """Approve or refuse one request; if another manager decided first, say so."""
        me, task = current_account(), _task(task_id)
        verdict = request.form.get("verdict", "")
        try:
            if verdict not in ("approve", "refuse"):
                raise DomainError(_("Approve or refuse."))
            svc.decide(me, task, approve=verdict == "approve")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Saved."), "success")
        return redirect(url_for(".index"), code=303)


class TaskRulesView(StaffView):
    """The store's task rules: follow-up days per prospect grade, the post-service call."""

    @expose("/", methods=["GET", "POST"])
    def index(self):
        me = current_account()
        if me.store_id is None:
            abort(404)
        if request.method == "POST":
            values = {}
            for rule in rules.DEFAULT_DAYS:
                days = int_arg(request.form.get(f"days_{rule}"), minimum=1, maximum=365)
                if days is None:
                    flash(_("Days must be a whole number from 1 to 365."), "error")
                    return self._page(me), 422
                values[rule] = (days, request.form.get(f"on_{rule}") == "1")
            for rule, (days, on) in values.items():
                rules.set_rule(me.store_id, rule, days, on)
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for(".index"), code=303)
        return self._page(me)

    def _page(self, me: User):
        return self.render(
            "admin/crm/task_rules.html",
            settings=rules.settings(me.store_id),
            labels=rules.RULE_LABELS,
            marks=lifecycle_marks.marks(me.store_id),
        )
