"""A leaving advisor's open work follows their customers: leads, tasks, test drives, vettings.

The customers themselves move in ``portal.services.advisors.reassign_and_deactivate``; this
module moves everything still open that the leaver owned, in the same transaction, so a
customer's lead, its calls and its booked test drive end with the advisor who now has the
customer. Work whose customer did not move (a colleague's customer's lead, a vetting) is dealt
round the chosen colleagues in turn. Rows are locked as they are read (``FOR UPDATE`` on
PostgreSQL; SQLite's POST holds the write lock), and each move is one UPDATE per row."""

from __future__ import annotations

from itertools import cycle

from sqlalchemy import func, select, update

from crm.models import ACTIVE_STATES, TASK_LIVE, Lead, LeadEvent, Task
from crm.pipeline_models import BOOKED, DriveBooking
from portal.extensions import db
from portal.models import UsedCarRequest, User
from portal.models.usedcars import CHANGES_REQUESTED, SUBMITTED, UNDER_REVIEW
from portal.services import audit
from portal.timeutil import now

VETTING_OPEN = (SUBMITTED, UNDER_REVIEW, CHANGES_REQUESTED)


def open_work(advisor_id: int) -> dict[str, int]:
    """Return how much open work the advisor holds, by kind (the leave page's preview)."""
    at = now()
    counts = {
        "leads": select(func.count(Lead.id)).where(
            Lead.advisor_id == advisor_id, Lead.state.in_(ACTIVE_STATES)
        ),
        "tasks": select(func.count(Task.id)).where(
            Task.owner_id == advisor_id, Task.status.in_(TASK_LIVE)
        ),
        "test_drives": select(func.count(DriveBooking.id)).where(
            DriveBooking.advisor_id == advisor_id,
            DriveBooking.status == BOOKED,
            DriveBooking.starts_at >= at,
        ),
        "vettings": select(func.count(UsedCarRequest.id)).where(
            UsedCarRequest.expert_id == advisor_id, UsedCarRequest.status.in_(VETTING_OPEN)
        ),
    }
    return {kind: db.session.scalar(stmt) for kind, stmt in counts.items()}


def move_open_work(
    actor: User, leaving: User, plan: dict[int, list[int]], targets: list[User]
) -> dict[str, int]:
    """Move the leaver's open leads, live tasks, booked test drives and vettings to the
    colleagues: each with its customer's new advisor, the rest in turn. Return the counts."""
    new_advisor = {cid: aid for aid, cids in plan.items() for cid in cids}
    turns = cycle([t.id for t in targets])
    at = now()
    lead_to: dict[int, int] = {}
    leads = db.session.execute(
        select(Lead.id, Lead.customer_id)
        .where(Lead.advisor_id == leaving.id, Lead.state.in_(ACTIVE_STATES))
        .order_by(Lead.id)
        .with_for_update()
    ).all()
    for lead_id, customer_id in leads:
        to = new_advisor.get(customer_id) or next(turns)
        lead_to[lead_id] = to
        _move(Lead, Lead.advisor_id, lead_id, leaving.id, to, updated_at=at)
        db.session.add(
            LeadEvent(lead_id=lead_id, kind="reassigned", actor_id=actor.id, at=at, note="")
        )
    tasks = db.session.execute(
        select(Task.id, Task.lead_id, Task.customer_id)
        .where(Task.owner_id == leaving.id, Task.status.in_(TASK_LIVE))
        .order_by(Task.id)
        .with_for_update()
    ).all()
    for task_id, lead_id, customer_id in tasks:
        to = lead_to.get(lead_id) or new_advisor.get(customer_id) or next(turns)
        _move(Task, Task.owner_id, task_id, leaving.id, to)
    drives = db.session.execute(
        select(DriveBooking.id, DriveBooking.lead_id)
        .where(
            DriveBooking.advisor_id == leaving.id,
            DriveBooking.status == BOOKED,
            DriveBooking.starts_at >= at,
        )
        .order_by(DriveBooking.id)
        .with_for_update()
    ).all()
    for drive_id, lead_id in drives:
        to = lead_to.get(lead_id) or next(turns)
        _move(DriveBooking, DriveBooking.advisor_id, drive_id, leaving.id, to)
    vettings = db.session.scalars(
        select(UsedCarRequest.id)
        .where(UsedCarRequest.expert_id == leaving.id, UsedCarRequest.status.in_(VETTING_OPEN))
        .order_by(UsedCarRequest.id)
        .with_for_update()
    ).all()
    for car_id in vettings:
        _move(UsedCarRequest, UsedCarRequest.expert_id, car_id, leaving.id, next(turns))
    moved = {
        "leads": len(leads),
        "tasks": len(tasks),
        "test_drives": len(drives),
        "vettings": len(vettings),
    }
    audit.record("open_work_reassigned", actor=actor, target=leaving, **moved)
    return moved


def _move(model, column, row_id: int, from_id: int, to_id: int, **values) -> None:
    """Move one row from the leaver to a colleague, only while the leaver still has it."""
    db.session.execute(
        update(model)
        .where(model.id == row_id, column == from_id)
        .values({column.key: to_id, **values})
        .execution_options(synchronize_session=False)
    )
