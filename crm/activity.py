"""Each person's day on paper: the daily activity report (销售活动日报表), task completion over
time, and tomorrow's plan. Nobody types any of it: it is counted from what people logged.

Every figure is one grouped query over one store and one local day (or a short window), read
through the store's indexes, so the cost follows the store's day and not its history."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import case, func, not_, or_, select

from crm.models import DELIVERED, ORDER, TASK_DONE, TASK_LIVE, Lead, Task
from crm.pipeline_models import DRIVEN, DriveBooking, Quote, SalesOrder
from crm.showroom_models import ARRIVED, MISSED, CallLog, Invitation
from crm.tasks import plan_position
from portal import access
from portal.errors import NotFound, ValidationError
from portal.extensions import db
from portal.models import Store, User
from portal.models.accounts import ADMIN, ADVISOR, AGENT, MANAGER
from portal.paging import Key, Page, after_row, keys_page, null_last, order_by_keys

PEOPLE = (ADVISOR, AGENT, MANAGER)
FIGURES = (
    "calls",
    "on_time",
    "late",
    "left_open",
    "invited",
    "arrived",
    "no_show",
    "visits",
    "drives",
    "quotes",
    "orders",
)


@dataclass
class Line:
    """One person's counts for the day (or the store's total)."""

    user: User | None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIGURES, 0))

    @property
    def show_rate(self) -> float | None:
        """Arrivals over decided invitations of the day (None: none was decided)."""
        decided = self.counts["arrived"] + self.counts["no_show"]
        return self.counts["arrived"] / decided if decided else None


def local_day(store: Store, day: date) -> tuple[datetime, datetime]:
    """Return the store's local day as a UTC [start, end) pair."""
    zone = ZoneInfo(store.timezone)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def _grouped(stmt) -> dict[int, int]:
    return {who: n for who, n in db.session.execute(stmt) if who is not None}


def _figures(store_id: int, start: datetime, end: datetime) -> dict[str, dict[int, int]]:
    """Return each figure of the report as {person id: count} for the store's day."""
    done = select(Task.owner_id, func.count(Task.id)).where(
        Task.store_id == store_id,
        Task.status == TASK_DONE,
        Task.done_at >= start,
        Task.done_at < end,
    )
    inv = select(Invitation.agent_id, func.count(Invitation.id)).where(
        Invitation.store_id == store_id
    )
    starting = inv.where(Invitation.starts_at >= start, Invitation.starts_at < end)
    return {
        "calls": _grouped(
            select(CallLog.actor_id, func.count(CallLog.id))
            .where(CallLog.store_id == store_id, CallLog.at >= start, CallLog.at < end)
            .group_by(CallLog.actor_id)
        ),
        # The same-day rule: done on its due day (or before) is on time; a leftover is late.
        "on_time": _grouped(done.where(Task.due_at >= start).group_by(Task.owner_id)),
        "late": _grouped(done.where(Task.due_at < start).group_by(Task.owner_id)),
        # Open at the day's end: due by then and not closed by then (closed later counts).
        "left_open": _grouped(
            select(Task.owner_id, func.count(Task.id))
            .where(Task.store_id == store_id, Task.due_at < end, Task.created_at < end)
            .where(or_(Task.status.in_(TASK_LIVE), Task.done_at >= end))
            .group_by(Task.owner_id)
        ),
        "invited": _grouped(
            inv.where(Invitation.created_at >= start, Invitation.created_at < end).group_by(
                Invitation.agent_id
            )
        ),
        "arrived": _grouped(
            starting.where(Invitation.status == ARRIVED).group_by(Invitation.agent_id)
        ),
        "no_show": _grouped(
            starting.where(Invitation.status == MISSED).group_by(Invitation.agent_id)
        ),
        "visits": _grouped(
            select(Invitation.advisor_id, func.count(Invitation.id))
            .where(Invitation.store_id == store_id, Invitation.status == ARRIVED)
            .where(Invitation.arrived_at >= start, Invitation.arrived_at < end)
            .group_by(Invitation.advisor_id)
        ),
        "drives": _grouped(
            select(DriveBooking.advisor_id, func.count(DriveBooking.id))
            .where(DriveBooking.store_id == store_id, DriveBooking.status == DRIVEN)
            .where(DriveBooking.starts_at >= start, DriveBooking.starts_at < end)
            .group_by(DriveBooking.advisor_id)
        ),
        "quotes": _grouped(
            select(Quote.author_id, func.count(Quote.id))
            .where(Quote.store_id == store_id, Quote.created_at >= start, Quote.created_at < end)
            .group_by(Quote.author_id)
        ),
        "orders": _grouped(
            select(SalesOrder.advisor_id, func.count(SalesOrder.id))
            .where(SalesOrder.store_id == store_id)
            .where(SalesOrder.signed_at >= start, SalesOrder.signed_at < end)
            .group_by(SalesOrder.advisor_id)
        ),
    }


def sees_store(viewer: User) -> bool:
    """Return whether the viewer reads everyone's lines (a manager), not only their own."""
    return viewer.role in (MANAGER, ADMIN)


def daily_report(viewer: User, store: Store, day: date) -> tuple[list[Line], Line]:
    """Return the store's day, one line per person with anything to show, and the total.

    A manager sees every person of the store; anyone else sees only their own line."""
    access.require_store(viewer, store.id, _("You cannot see this store."))
    start, end = local_day(store, day)
    figures = _figures(store.id, start, end)
    people = db.session.scalars(
        select(User)
        .where(User.store_id == store.id, User.role.in_(PEOPLE))
        .order_by(User.role, User.name, User.id)
    ).all()
    if not sees_store(viewer):
        people = [p for p in people if p.id == viewer.id]
    lines, total = [], Line(None)
    for person in people:
        line = Line(person, {k: figures[k].get(person.id, 0) for k in FIGURES})
        if person.is_active or any(line.counts.values()):
            lines.append(line)
            for k in FIGURES:
                total.counts[k] += line.counts[k]
    return lines, total


def completion(viewer: User, store: Store, last_day: date, days: int = 14):
    """Return the share of tasks done on their due day, per day and per person over the days.

    Returns (store rows, {person name: rows}), each row (label "MM-dd", percent or None)."""
    access.require_store(viewer, store.id, _("You cannot see this store."))
    zone = ZoneInfo(store.timezone)
    first = last_day - timedelta(days=days - 1)
    start = local_day(store, first)[0]
    end = local_day(store, last_day)[1]
    stmt = (
        select(Task.owner_id, Task.due_at, Task.done_at, Task.status)
        .where(Task.store_id == store.id, Task.due_at >= start, Task.due_at < end)
        .where(Task.owner_id.is_not(None))
    )
    if not sees_store(viewer):
        stmt = stmt.where(Task.owner_id == viewer.id)
    due: dict[tuple[int | None, date], int] = defaultdict(int)
    same: dict[tuple[int | None, date], int] = defaultdict(int)
    owners: set[int] = set()
    for owner_id, due_at, done_at, status in db.session.execute(stmt):
        day = due_at.astimezone(zone).date()
        on_day = (
            status == TASK_DONE and done_at is not None and done_at.astimezone(zone).date() <= day
        )
        owners.add(owner_id)
        for key in ((None, day), (owner_id, day)):
            due[key] += 1
            same[key] += on_day
    span = [first + timedelta(days=i) for i in range(days)]

    def rows(who):
        return [
            (
                d.strftime("%m-%d"),
                round(100 * same[(who, d)] / due[(who, d)]) if due[(who, d)] else None,
            )
            for d in span
        ]

    names = {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(owners)))}
    per_person = {names[o]: rows(o) for o in sorted(owners, key=lambda o: names[o])}
    return rows(None), per_person


def by_source(
    viewer: User, store: Store, first: date, last: date
) -> list[tuple[str, int, int, int]]:
    """Return per lead source: invitations starting in the days, arrivals, and arrived leads
    that reached an order since (conversion after a visit)."""
    access.require_store(viewer, store.id, _("You cannot see this store."))
    start = local_day(store, first)[0]
    end = local_day(store, last)[1]
    converted = Lead.stage.in_((ORDER, DELIVERED))
    stmt = (
        select(
            Lead.source,
            func.count(Invitation.id),
            func.count(Invitation.id).filter(Invitation.status == ARRIVED),
            func.count(Invitation.id).filter(Invitation.status == ARRIVED, converted),
        )
        .join(Lead, Lead.id == Invitation.lead_id)
        .where(Invitation.store_id == store.id)
        .where(Invitation.starts_at >= start, Invitation.starts_at < end)
        .group_by(Lead.source)
        .order_by(Lead.source)
    )
    return [tuple(row) for row in db.session.execute(stmt)]


PAGE_SIZE = 50  # the tasks a page of tomorrow's plan shows


@dataclass
class Plan:
    """What a person has ahead tomorrow: open tasks (leftovers first; one page of them),
    visits and test drives."""

    day: date
    tasks: list[Task]
    invitations: list[Invitation]
    drives: list[DriveBooking]
    page: Page | None = None


def _plan_tasks(user: User, store: Store, at: datetime):
    """Return (day, the select of the user's plan for the store's next local day, its order):
    every live task due by the day's end, in the order the user gave them, else today's
    leftovers first, then by time and priority."""
    day = at.astimezone(ZoneInfo(store.timezone)).date() + timedelta(days=1)
    start, end = local_day(store, day)
    planned = plan_position(day)
    stmt = access.store_scope(
        select(Task).where(
            Task.owner_id == user.id, Task.status.in_(TASK_LIVE), Task.done_at.is_(None)
        ),
        Task.store_id,
        user,
    ).where(Task.due_at < end)
    keys = [
        null_last(planned),
        Key(planned),
        Key(case((Task.due_at >= start, 1), else_=0)),
        null_last(Task.overdue_at),
        Key(Task.due_at),
        Key(Task.priority),
    ]
    return day, stmt, keys


def tomorrow_plan(
    user: User,
    store: Store,
    at: datetime,
    *,
    before: int | None = None,
    back: int | None = None,
    size: int = PAGE_SIZE,
) -> Plan:
    """Return the user's plan for the store's next local day: one page of the open tasks due
    by its end (after the cursor `before`, or back from `back`: one of the plan's tasks), the
    visits booked and test drives."""
    day, stmt, keys = _plan_tasks(user, store, at)
    start, end = local_day(store, day)
    # A task done meanwhile still marks the place; another's task is no cursor.
    mine = access.store_scope(select(Task).where(Task.owner_id == user.id), Task.store_id, user)
    page = keys_page(stmt, keys, Task.id, before, size=size, cursor_stmt=mine, back=back)
    tasks = page.items
    invitations = db.session.scalars(
        access.store_scope(
            select(Invitation).where(
                Invitation.starts_at >= start,
                Invitation.starts_at < end,
                (Invitation.agent_id == user.id) | (Invitation.advisor_id == user.id),
            ),
            Invitation.store_id,
            user,
        ).order_by(Invitation.starts_at)
    ).all()
    drives = db.session.scalars(
        access.store_scope(
            select(DriveBooking).where(
                DriveBooking.advisor_id == user.id,
                DriveBooking.starts_at >= start,
                DriveBooking.starts_at < end,
                DriveBooking.status == "booked",
            ),
            DriveBooking.store_id,
            user,
        ).order_by(DriveBooking.starts_at)
    ).all()
    return Plan(day, list(tasks), list(invitations), list(drives), page)


UP, DOWN = "up", "down"


def move_in_plan(
    user: User, store: Store, task_id: int, direction: str, at: datetime, *, size: int = PAGE_SIZE
) -> Plan:
    """Move one task up or down the user's plan for tomorrow and keep the order, so the next
    morning's Today starts in it; return the page of the plan the task is now on.

    The tasks from the top of the plan down to the moved one (and the one below it, for a move
    down) are numbered 0, 1, 2...; those further down keep their places. Positions only grow
    down the plan, so theirs stay past the renumbered ones, whatever the plan's length."""
    if direction not in (UP, DOWN):
        raise ValidationError(_("Move the task up or down."))
    # One person's plan is reordered by one request at a time (a double tap waits its turn).
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    day, stmt, keys = _plan_tasks(user, store, at)
    after = after_row(stmt, keys, Task.id, task_id)
    if after is None:
        raise NotFound(_("This task is not in your plan."))
    ordered = order_by_keys(stmt, keys, Task.id)
    tasks = list(db.session.scalars(ordered.where(not_(after))))  # down to the task itself
    i = len(tasks) - 1
    if direction == DOWN:
        tasks += list(db.session.scalars(ordered.where(after).limit(1)))
    j = i - 1 if direction == UP else i + 1
    if 0 <= j < len(tasks):
        tasks[i], tasks[j] = tasks[j], tasks[i]
        i = j
    for position, task in enumerate(tasks):
        task.plan_day, task.plan_position = day, position
    db.session.flush()
    first = i // size * size  # the moved task's page starts after the row before `first`
    return tomorrow_plan(user, store, at, before=tasks[first - 1].id if first else None, size=size)
