"""Task verbs: log a call (outcome, note, next task), ask and decide approvals, the lists.

A call that ends "no answer" keeps its task open for another try; closing it without reaching
the customer, or cancelling any task, needs a manager's approval with a reason. Two managers
deciding at once: the decision is one conditional UPDATE (``WHERE status = 'awaiting'``), so
exactly one of them wins and the other is told it was already decided."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select, update
from sqlalchemy.orm import joinedload

from crm.models import (
    APPOINTMENT,
    APPOINTMENT_CONFIRM,
    ASK_CANCEL,
    ASK_CLEAR,
    CALL_BACK,
    CLEARED,
    FIRST_CONTACT,
    FOLLOW_UP,
    HIGH,
    NO_ANSWER,
    NORMAL,
    NOT_INTERESTED,
    REACHED,
    TASK_AWAITING,
    TASK_CANCELLED,
    TASK_DONE,
    TASK_KINDS,
    TASK_LIVE,
    TASK_OPEN,
    LeadEvent,
    Task,
)
from crm.showroom_models import CallLog
from portal import access
from portal.errors import NotAllowed, ValidationError
from portal.extensions import db
from portal.models import User
from portal.models.accounts import ADMIN, MANAGER
from portal.paging import Key, Page, keys_page, null_last
from portal.services import audit
from portal.timeutil import now

KIND_LABELS = {
    "first_contact": _l("First contact"),
    "follow_up": _l("Call or follow-up"),
    "appointment_confirm": _l("Appointment confirmation"),
    "post_service": _l("Post-service call"),
    "renewal": _l("Renewal call"),
    "maintenance_due": _l("Maintenance due, not booked"),
    "complaint_callback": _l("Complaint callback"),
    "no_show": _l("No-show recovery"),
    "trade_in": _l("Trade-in or replacement call"),
}
STATUS_LABELS = {
    "open": _l("Open"),
    "awaiting": _l("Awaiting a manager"),
    "done": _l("Done"),
    "cancelled": _l("Cancelled"),
}
OUTCOME_LABELS = {
    "reached": _l("Reached"),
    "no_answer": _l("No answer"),
    "call_back": _l("Call back at…"),
    "appointment": _l("Appointment made"),
    "not_interested": _l("Not interested"),
    "cleared": _l("Cleared without reaching"),
}
PRIORITY_LABELS = {1: _l("High"), 2: _l("Normal"), 3: _l("Low")}
ASK_LABELS = {"cancel": _l("Cancel the task"), "clear": _l("Close without reaching")}
CALL_OUTCOMES = (REACHED, NO_ANSWER, CALL_BACK, APPOINTMENT, NOT_INTERESTED)
RETRY_AFTER = timedelta(hours=1)  # a "no answer" call comes back on the list an hour later
PAGE_SIZE = 50  # the tasks a page of a task list shows


def is_manager(user: User) -> bool:
    """Return whether the user approves tasks (a manager of the store, or an admin)."""
    return user.role in (MANAGER, ADMIN)


def may_work(user: User, task: Task) -> bool:
    """Return whether the user may work the task: its owner, or a manager of its store."""
    if not access.in_store(user, task.store_id):
        return False
    return is_manager(user) or task.owner_id == user.id


def _require_worker(user: User, task: Task) -> None:
    if not may_work(user, task):
        raise NotAllowed(_("Only the task's owner or a manager may change it."))
    if task.status != TASK_OPEN:
        raise ValidationError(_("This task is no longer open."))


def add_task(
    actor: User,
    customer: User,
    kind: str,
    due_at: datetime,
    *,
    store_id: int,
    owner_id: int | None,
    lead_id: int | None = None,
    priority: int = NORMAL,
    note: str = "",
) -> Task:
    """Create a task by hand (or as a call's next task) for someone of the store."""
    if kind not in TASK_KINDS:
        raise ValidationError(_("Choose the kind of task."), field="kind")
    if not access.in_store(actor, store_id):
        raise NotAllowed(_("You cannot add tasks in this store."))
    task = Task(
        lead_id=lead_id,
        customer_id=customer.id,
        store_id=store_id,
        owner_id=owner_id,
        kind=kind,
        priority=priority,
        due_at=due_at,
        note=note.strip()[:2000],
        created_at=now(),
    )
    db.session.add(task)
    db.session.flush()
    return task


def first_contact(lead, due_at: datetime, at: datetime) -> Task:
    """Add a new lead's first-contact task for its advisor (the system's, not a person's)."""
    task = Task(
        lead_id=lead.id,
        customer_id=lead.customer_id,
        store_id=lead.store_id,
        owner_id=lead.advisor_id,
        kind=FIRST_CONTACT,
        priority=HIGH,
        due_at=due_at,
        created_at=at,
    )
    db.session.add(task)
    return task


def log_call(
    actor: User,
    task: Task,
    outcome: str,
    note: str = "",
    when: datetime | None = None,
) -> Task | None:
    """Record a call on the task; return the next task it made (call back, confirmation)."""
    _require_worker(actor, task)
    if outcome not in CALL_OUTCOMES:
        raise ValidationError(_("Choose how the call ended."), field="outcome")
    at = now()
    if outcome in (CALL_BACK, APPOINTMENT) and (when is None or when <= at):
        raise ValidationError(_("Choose a time in the future."), field="when")
    task.note = "\n".join(x for x in (task.note, note.strip()[:2000]) if x)[-4000:]
    task.outcome = outcome
    task.attempts += 1
    db.session.add(
        CallLog(task_id=task.id, actor_id=actor.id, store_id=task.store_id, outcome=outcome, at=at)
    )
    _on_lead(actor, task, outcome, note, at)
    if outcome == NO_ANSWER:
        task.due_at = max(task.due_at, at + RETRY_AFTER)  # stays open for another try
        return None
    task.status, task.done_at = TASK_DONE, at
    if outcome in (REACHED, NOT_INTERESTED):
        return None
    kind = FOLLOW_UP if outcome == CALL_BACK else APPOINTMENT_CONFIRM
    due = when if outcome == CALL_BACK else max(at, when - timedelta(days=1))
    nxt = add_task(
        actor,
        task.customer,
        kind,
        due,
        store_id=task.store_id,
        owner_id=task.owner_id,
        lead_id=task.lead_id,
        note=note,
    )
    task.next_task_id = nxt.id
    return nxt


def _on_lead(actor: User, task: Task, outcome: str, note: str, at: datetime) -> None:
    """Put the call on the lead's steps; reaching the customer is the first contact."""
    lead = task.lead
    if lead is None:
        return
    if outcome != NO_ANSWER and lead.first_contact_at is None:
        lead.first_contact_at = at
        if lead.stage == "new":
            lead.stage = "contacted"
    lead.updated_at = at
    db.session.add(
        LeadEvent(lead_id=lead.id, kind="call", actor_id=actor.id, note=note[:2000], at=at)
    )


def ask(actor: User, task: Task, what: str, reason: str) -> None:
    """Ask a manager to cancel the task, or to close a call that never reached the customer."""
    if not may_work(actor, task):
        raise NotAllowed(_("Only the task's owner or a manager may change it."))
    reason = (reason or "").strip()[:2000]
    if what not in (ASK_CANCEL, ASK_CLEAR):
        raise ValidationError(_("Unknown request."))
    if not reason:
        raise ValidationError(_("Give a reason for the manager."), field="reason")
    if what == ASK_CLEAR and task.outcome != NO_ANSWER:
        raise ValidationError(_("Only a call that ended with no answer can be cleared."))
    changed = db.session.execute(
        update(Task)
        .where(Task.id == task.id, Task.status == TASK_OPEN)
        .values(status=TASK_AWAITING, ask=what, ask_reason=reason, asked_by_id=actor.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise ValidationError(_("This task is no longer open."))
    db.session.refresh(task)


def decide(actor: User, task: Task, approve: bool) -> None:
    """Approve or refuse a request on the task: managers only, and one decision wins."""
    if not (is_manager(actor) and access.in_store(actor, task.store_id)):
        raise NotAllowed(_("Only a manager approves this."))
    at = now()
    values: dict = {"decided_by_id": actor.id, "decided_at": at}
    if not approve:
        values["status"] = TASK_OPEN
    else:
        values["status"] = case((Task.ask == ASK_CANCEL, TASK_CANCELLED), else_=TASK_DONE)
        values["outcome"] = case((Task.ask == ASK_CLEAR, CLEARED), else_=Task.outcome)
        values["done_at"] = at
    changed = db.session.execute(
        update(Task)
        .where(Task.id == task.id, Task.status == TASK_AWAITING)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise ValidationError(_("Another manager has already decided this."))
    db.session.refresh(task)
    audit.record(
        "task_approved" if approve else "task_refused",
        actor=actor,
        target=task,
        ask=task.ask,
    )


# -- lists -----------------------------------------------------------------------------------


# Every list shows each task's customer: loaded in the same statement, not one per row.
WITH_CUSTOMER = joinedload(Task.customer, innerjoin=True)
# True of every live task (a CHECK says so); it lets ix_crm_tasks_owner_open_due find a
# person's live tasks without reading the done ones, which grow with history.
UNDONE = Task.done_at.is_(None)


def _keys(day: date | None = None) -> list[Key]:
    """A task list's order: (the tasks placed in the owner's plan for the day, in its order,)
    overdue-flagged first (yesterday's leftovers), then by due time, then priority; then id."""
    keys = []
    if day is not None:
        planned = plan_position(day)
        keys += [null_last(planned), Key(planned)]
    return keys + [null_last(Task.overdue_at), Key(Task.due_at), Key(Task.priority)]


def plan_position(day: date):
    """Return a task's place in its owner's plan for the day (NULL when not placed for it)."""
    return case((Task.plan_day == day, Task.plan_position))


def _mine(user: User):
    """Select the user's tasks in their store, whatever their status (where a cursor is
    looked up: a task done meanwhile still marks the place)."""
    return access.store_scope(select(Task).where(Task.owner_id == user.id), Task, user)


def open_tasks_page(
    user: User,
    day: date | None = None,
    *,
    before: int | None = None,
    back: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """Return one page of the user's live tasks: those placed in their plan for the day in
    that order, then overdue first, then by due time and priority. The cursor `before` is the
    id of one of the user's tasks (any other is no cursor: the first page), as is `back`, the
    first task of the page after the one wanted."""
    stmt = _mine(user).where(Task.status.in_(TASK_LIVE), UNDONE).options(WITH_CUSTOMER)
    return keys_page(
        stmt, _keys(day), Task.id, before, size=size, cursor_stmt=_mine(user), back=back
    )


def my_open_tasks(user: User, day: date | None = None) -> list[Task]:
    """Return the first page of the user's live tasks (open_tasks_page)."""
    return open_tasks_page(user, day).items


def queue_page(
    user: User, *, before: int | None = None, back: int | None = None, size: int = PAGE_SIZE
) -> Page:
    """Return one page of an agent's outbound queue: open call tasks, overdue first, by due
    time and priority. The cursors (`before`, `back`) are ids of the agent's tasks."""
    stmt = _mine(user).where(Task.status == TASK_OPEN, UNDONE).options(WITH_CUSTOMER)
    return keys_page(stmt, _keys(), Task.id, before, size=size, cursor_stmt=_mine(user), back=back)


def queue(user: User) -> list[Task]:
    """Return the first page of an agent's outbound queue (queue_page)."""
    return queue_page(user).items


def _store_tasks(user: User, store_id: int | None = None):
    return access.chosen_store_scope(select(Task), Task.store_id, user, store_id)


def awaiting_select(user: User, store_id: int | None = None):
    """Select the tasks waiting for a manager's decision in the user's stores (or the one
    chosen), unordered: the approvals list, and what its count is taken over."""
    return _store_tasks(user, store_id).where(Task.status == TASK_AWAITING)


def awaiting_page(
    user: User,
    store_id: int | None = None,
    *,
    before: int | None = None,
    back: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """Return one page of the tasks waiting for a manager's decision, the earliest due first.
    The cursor (`before`, or `back`) is a task of the stores the user sees: one decided
    meanwhile still marks the place."""
    stmt = awaiting_select(user, store_id).options(WITH_CUSTOMER)
    return keys_page(
        stmt,
        [Key(Task.due_at)],
        Task.id,
        before,
        size=size,
        cursor_stmt=_store_tasks(user, store_id),
        back=back,
    )


def awaiting(user: User) -> list[Task]:
    """Return the first page of the tasks waiting for a manager's decision (awaiting_page)."""
    return awaiting_page(user).items


def open_for_customer(user: User, customer_id: int) -> list[Task]:
    """Return the customer's live tasks in the user's store."""
    stmt = select(Task).where(Task.customer_id == customer_id, Task.status.in_(TASK_LIVE))
    stmt = access.store_scope(stmt, Task, user).order_by(Task.due_at).options(WITH_CUSTOMER)
    return list(db.session.scalars(stmt))
