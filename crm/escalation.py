"""Missed first contacts escalate: first the store's managers are told, then the lead goes to
the next advisor on duty. A worker job (``crm-lead-escalation``), every minute.

Each step of each task happens once: the step is the key of ``crm_task_escalations`` and is
inserted before anyone is told, so of two workers exactly one wins it; on PostgreSQL the tasks
are read ``FOR UPDATE SKIP LOCKED``, so concurrent workers take different ones. The job's cost
follows the overdue tasks, not history (the store/status/due index answers it)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select, update

from crm import hours, routing
from crm.models import FIRST_CONTACT, TASK_OPEN, Lead, LeadEvent, Task
from crm.staffing_models import TaskEscalation
from portal import transitions
from portal.extensions import db
from portal.models import Store, User
from portal.models.accounts import MANAGER
from portal.services import notify
from portal.timeutil import now

TELL_MANAGERS, NEXT_ADVISOR = 1, 2
BATCH = 200


def minutes(level: int) -> int:
    """Return how many minutes past its due time a first contact waits for this step."""
    key = "CRM_ESCALATE_MANAGER_MINUTES" if level == TELL_MANAGERS else "CRM_ESCALATE_NEXT_MINUTES"
    return int(current_app.config.get(key, 0 if level == TELL_MANAGERS else 10))


def escalate_missed() -> dict[str, int]:
    """Tell managers of overdue first contacts, then hand the still-missed ones on; commits."""
    told = sum(_step(TELL_MANAGERS, task_id) for task_id in _due(TELL_MANAGERS))
    moved = sum(_step(NEXT_ADVISOR, task_id) for task_id in _due(NEXT_ADVISOR))
    return {"managers_told": told, "handed_on": moved}


def _due(level: int) -> list[int]:
    cutoff = now() - timedelta(minutes=minutes(level))
    done = exists().where(TaskEscalation.task_id == Task.id, TaskEscalation.level == level)
    stmt = select(Task.id).where(
        Task.kind == FIRST_CONTACT,
        Task.status == TASK_OPEN,
        Task.done_at.is_(None),
        Task.due_at <= cutoff,
        ~done,
    )
    if level == NEXT_ADVISOR:  # the managers first
        stmt = stmt.where(
            exists().where(TaskEscalation.task_id == Task.id, TaskEscalation.level == TELL_MANAGERS)
        )
    ids = list(db.session.scalars(stmt.order_by(Task.due_at).limit(BATCH)))
    db.session.commit()
    return ids


def _step(level: int, task_id: int) -> int:
    """Take one step for one task in its own transaction; return 1 if this worker took it."""
    task = db.session.scalar(
        select(Task)
        .where(Task.id == task_id, Task.status == TASK_OPEN, Task.done_at.is_(None))
        .with_for_update(skip_locked=True)
    )
    if task is None:
        db.session.rollback()
        return 0
    store = db.session.get(Store, task.store_id)
    target = None
    if level == NEXT_ADVISOR:
        target = routing.round_robin(store, skip=task.owner_id)
        if target is None or target.id == task.owner_id:
            db.session.rollback()
            return 0  # nobody else to hand it to: the managers already know
    mark = TaskEscalation(
        task_id=task.id, level=level, at=now(), from_id=task.owner_id, to_id=_id(target)
    )
    if not transitions.insert_unique(mark):
        db.session.rollback()
        return 0
    if level == TELL_MANAGERS:
        _tell_managers(task)
    else:
        _hand_on(task, target, store)
    db.session.commit()
    return 1


def _tell_managers(task: Task) -> None:
    owner = task.owner.name if task.owner else _l("no advisor assigned")
    managers = db.session.scalars(
        select(User).where(
            User.role == MANAGER, User.store_id == task.store_id, User.is_active.is_(True)
        )
    )
    for manager in managers:
        notify.notify(
            manager,
            _l(
                "First contact missed: %(name)s is still waiting (advisor: %(owner)s).",
                name=task.customer.name,
                owner=owner,
            ),
            f"/admin/leads/{task.lead_id}" if task.lead_id else "",
            kind="account",
        )


def _hand_on(task: Task, target: User, store: Store) -> None:
    before = task.owner_id
    task.owner_id = target.id
    task.due_at = hours.first_contact(store, now()).due_at  # a fair start, in opening hours
    if task.lead_id is not None:
        db.session.execute(
            update(Lead)
            .where(Lead.id == task.lead_id, Lead.advisor_id.is_not_distinct_from(before))
            .values(advisor_id=target.id, updated_at=now())
            .execution_options(synchronize_session=False)
        )
        db.session.add(
            LeadEvent(lead_id=task.lead_id, kind="reassigned", note=target.name, at=now())
        )
    notify.notify(
        target,
        _l("Missed lead handed to you: call %(name)s now.", name=task.customer.name),
        f"/admin/leads/{task.lead_id}" if task.lead_id else "",
        kind="account",
    )


def _id(user: User | None) -> int | None:
    return user.id if user is not None else None
