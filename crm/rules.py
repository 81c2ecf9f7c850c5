"""Rules that create tasks, and the same-day rule at each store's closing time.

A rule's task is keyed by (rule, cause): the cause names what made it (a lead's last contact,
a finished job). The rows go in with INSERT ... ON CONFLICT DO NOTHING on that unique pair, so
a rule fires once per cause even when two workers run it at the same moment, and a second run
the same day creates nothing. Each run reads only what changed in a bounded window (leads
whose cadence falls due, jobs finished a few days ago), never the whole history."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, String, and_, case, cast, func, literal, null, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crm.models import (
    FOLLOW_UP,
    HIGH,
    NORMAL,
    OPEN,
    POST_SERVICE,
    TASK_LIVE,
    Lead,
    Task,
    TaskRule,
)
from portal.extensions import db
from portal.models import ServiceRecord, Store, User, Vehicle
from portal.models.accounts import AGENT
from portal.sqltime import later_of, plus_days
from portal.timeutil import now

# The built-in rules and their default days: follow-up cadence by prospect grade, the call
# three days after a finished job, and the lifecycle rules (crm/lifecycle.py): days before a
# policy, loan or warranty ends or a car's 3rd and 5th year, days after maintenance fell due
# unbooked or a reading passed 100,000 km.
DEFAULT_DAYS = {
    "follow_up_H": 2,
    "follow_up_A": 4,
    "follow_up_B": 7,
    "follow_up_C": 14,
    "post_service": 3,
    "renewal_policy": 30,
    "renewal_loan": 30,
    "maintenance_due": 3,
    "trade_in_warranty": 60,
    "trade_in_3y": 30,
    "trade_in_5y": 30,
    "trade_in_km": 1,
}
RULE_LABELS = {
    "follow_up_H": _l("Follow-up, grade H (buys within 7 days)"),
    "follow_up_A": _l("Follow-up, grade A (within 15 days)"),
    "follow_up_B": _l("Follow-up, grade B (within 30 days)"),
    "follow_up_C": _l("Follow-up, grade C (within 3 months)"),
    "post_service": _l("Post-service call after a finished job"),
    "renewal_policy": _l("Renewal call: days before an insurance policy ends"),
    "renewal_loan": _l("Renewal call: days before a car loan ends"),
    "maintenance_due": _l("Maintenance due, not booked: days after it fell due"),
    "trade_in_warranty": _l("Trade-in call: days before the warranty ends"),
    "trade_in_3y": _l("Trade-in call: days before the car turns 3"),
    "trade_in_5y": _l("Trade-in call: days before the car turns 5"),
    "trade_in_km": _l("Trade-in call: days after the car passed 100,000 km"),
}
POST_SERVICE_WINDOW = timedelta(days=7)  # a job older than its call day + this is history


# While generate_tasks runs, the rules and agents of every store, read once for the run (one
# statement each instead of one per rule and store): session.info keys, removed after the run.
RUN_RULES, RUN_AGENTS = "crm_run_rules", "crm_run_agents"


def settings(store_id: int) -> dict[str, tuple[int, bool]]:
    """Return each rule's (days, active) for the store: its own setting, else the default."""
    run = db.session.info.get(RUN_RULES)
    if run is not None:
        own = run.get(store_id, {})
    else:
        rows = db.session.scalars(select(TaskRule).where(TaskRule.store_id == store_id))
        own = {r.rule: (r.days, r.is_active) for r in rows}
    return {rule: own.get(rule, (days, True)) for rule, days in DEFAULT_DAYS.items()}


def set_rule(store_id: int, rule: str, days: int, active: bool) -> None:
    """Store one rule's days and switch for the store (one row per store and rule)."""
    row = db.session.scalar(
        select(TaskRule).where(TaskRule.store_id == store_id, TaskRule.rule == rule)
    )
    if row is None:
        row = TaskRule(store_id=store_id, rule=rule, days=days, is_active=active)
        db.session.add(row)
    row.days, row.is_active = days, active
    db.session.flush()


def insert_tasks(rows: list[dict]) -> int:
    """Insert rule tasks, skipping any whose (rule, cause) exists; return how many went in."""
    if not rows:
        return 0
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # One statement compiled once and sent as an executemany (SQLAlchemy pages it into
    # multi-row VALUES with RETURNING): a VALUES list compiled per call with 14 bound values
    # a row cost more than the insert itself at tens of thousands of rows.
    stmt = (
        insert(Task.__table__)
        .on_conflict_do_nothing(index_elements=["rule", "cause"])
        .returning(Task.__table__.c.id)
    )
    return len(db.session.connection().execute(stmt, rows).all())


def task_row(store: Store, at: datetime, kind: str, rule: str, cause: str, customer, owner) -> dict:
    """Return a rule's open task row of a customer for its owner, due at `at` (insert_tasks)."""
    return {
        "lead_id": None,
        "customer_id": customer,
        "store_id": store.id,
        "owner_id": owner,
        "kind": kind,
        "priority": NORMAL,
        "status": "open",
        "due_at": at,
        "rule": rule,
        "cause": cause,
        "note": "",
        "ask_reason": "",
        "attempts": 0,
        "created_at": at,
    }


def insert_selected(
    rows, *, store_id: int, kind: str, rule: str, at: datetime, cause, customer, owner, due=None
) -> int:
    """Insert a rule task for each row a SELECT finds (``rows``, a subquery; ``cause``,
    ``customer``, ``owner`` and ``due`` SQL on its columns), on the server in one INSERT ...
    SELECT with the same ON CONFLICT (rule, cause) DO NOTHING; return how many went in. Each
    task is created at ``at``, due then unless ``due`` says otherwise, normal priority, open."""
    table = Task.__table__
    if due is None:
        due = literal(at, table.c.due_at.type)
    values = {
        "lead_id": null(),
        "customer_id": customer,
        "store_id": literal(store_id),
        "owner_id": owner,
        "kind": literal(kind),
        "priority": literal(NORMAL),
        "status": literal("open"),
        "due_at": due,
        "rule": literal(rule),
        "cause": cause,
        "note": literal(""),
        "ask_reason": literal(""),
        "attempts": literal(0),
        "created_at": literal(at, table.c.created_at.type),
    }
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # WHERE true: SQLite parses ON CONFLICT after a SELECT only when the SELECT has a WHERE.
    query = select(*values.values()).select_from(rows).where(literal(True))
    stmt = (
        insert(table)
        .from_select(list(values), query)
        .on_conflict_do_nothing(index_elements=["rule", "cause"])
        .returning(table.c.id)
    )
    return len(db.session.execute(stmt).all())


def text_of(*parts):
    """Concatenate SQL strings and values (ids, dates) into one text, as Python's f-string
    would write them: a date as YYYY-MM-DD on both engines."""
    dialect = db.session.get_bind().dialect.name
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(literal(part))
        elif dialect == "postgresql" and isinstance(part.type, Date):
            out.append(func.to_char(part, "YYYY-MM-DD"))
        else:
            out.append(cast(part, String))
    text = out[0]
    for part in out[1:]:
        text = text.concat(part)
    return text


def caller_of(agents: list[int], key, advisor):
    """SQL for the call centre agent of a row (agents[key % n], as the Python rules pick),
    else the advisor when the store has no agents."""
    if not agents:
        return advisor
    if len(agents) == 1:
        return literal(agents[0])
    return case({i: a for i, a in enumerate(agents)}, value=key % len(agents))


def end_of_local_day(at: datetime, tz: str) -> datetime:
    """Return the UTC moment the local day of `at` ends in the zone."""
    local = at.astimezone(ZoneInfo(tz))
    tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), ZoneInfo(tz))
    return tomorrow.astimezone(at.tzinfo)


def follow_ups(store: Store, at: datetime) -> int:
    """Create the follow-up calls of open leads whose grade's cadence falls due today."""
    rules = settings(store.id)
    horizon = end_of_local_day(at, store.timezone)
    # The lead's last done task, one probe of its own tasks (ix_crm_tasks_lead_id) per open
    # lead, never a grouping of every done task of the store.
    last_done = (
        select(func.max(Task.done_at))
        .where(Task.lead_id == Lead.id, Task.store_id == store.id, Task.done_at.is_not(None))
        .scalar_subquery()
    )
    live = select(Task.id).where(Task.lead_id == Lead.id, Task.status.in_(TASK_LIVE)).exists()
    anchor = func.coalesce(last_done, Lead.first_contact_at)
    rows: list[dict] = []
    for grade in ("H", "A", "B", "C"):
        days, active = rules[f"follow_up_{grade}"]
        if not active:
            continue
        stmt = (
            select(Lead.id, Lead.customer_id, Lead.advisor_id, anchor.label("anchor"))
            .where(Lead.store_id == store.id, Lead.state == OPEN, Lead.grade == grade)
            .where(Lead.first_contact_at.is_not(None), ~live)
            .where(anchor <= horizon - timedelta(days=days))
        )
        for lead_id, customer_id, advisor_id, last in db.session.execute(stmt):
            rows.append(
                {
                    "lead_id": lead_id,
                    "customer_id": customer_id,
                    "store_id": store.id,
                    "owner_id": advisor_id,
                    "kind": FOLLOW_UP,
                    "priority": HIGH if grade == "H" else NORMAL,
                    "status": "open",
                    "due_at": max(last + timedelta(days=days), at),
                    "rule": f"follow_up_{grade}",
                    "cause": f"lead:{lead_id}:{last.strftime('%Y%m%dT%H%M%S')}",
                    "note": "",
                    "ask_reason": "",
                    "attempts": 0,
                    "created_at": at,
                }
            )
    return insert_tasks(rows)


def agents_of(store_id: int) -> list[int]:
    """Return the ids of the store's active call-centre agents, in id order."""
    run = db.session.info.get(RUN_AGENTS)
    if run is not None:
        return run.get(store_id, [])
    return list(
        db.session.scalars(
            select(User.id)
            .where(User.role == AGENT, User.store_id == store_id, User.is_active.is_(True))
            .order_by(User.id)
        )
    )


def post_service_calls(store: Store, at: datetime) -> int:
    """Create the call to each customer whose job was finished the rule's days ago."""
    days, active = settings(store.id)["post_service"]
    if not active:
        return 0
    horizon = end_of_local_day(at, store.timezone) - timedelta(days=days)
    jobs = (
        select(ServiceRecord.id, ServiceRecord.completed_at, ServiceRecord.advisor_id)
        .add_columns(Vehicle.owner_id)
        .join(Vehicle, Vehicle.id == ServiceRecord.vehicle_id)
        .where(ServiceRecord.store_id == store.id)
        .where(
            and_(
                ServiceRecord.completed_at < horizon,
                ServiceRecord.completed_at >= horizon - POST_SERVICE_WINDOW,
            )
        )
        .subquery()
    )
    # On the server in one INSERT ... SELECT: the call centre makes these calls when the
    # store has one (the agent picked by the job's id), due the rule's days after the job
    # was finished, or now when that moment has passed.
    due_at = Task.__table__.c.due_at.type
    return insert_selected(
        jobs,
        store_id=store.id,
        kind=POST_SERVICE,
        rule="post_service",
        at=at,
        cause=text_of("record:", jobs.c.id),
        customer=jobs.c.owner_id,
        owner=caller_of(agents_of(store.id), jobs.c.id, jobs.c.advisor_id),
        due=later_of(plus_days(jobs.c.completed_at, days), literal(at, due_at)),
    )


def generate_tasks() -> dict[str, int]:
    """Run every rule for every active store (the periodic worker job); return what it made."""
    at = now()
    from crm import lifecycle, trade_ins  # they build on this module's helpers

    made = {"follow_up": 0, "post_service": 0, "renewal": 0, "maintenance_due": 0, "trade_in": 0}
    # In id order: concurrent workers take the stores' rule marks in one order (no deadlock).
    stores = select(Store).where(Store.is_active.is_(True)).order_by(Store.id)
    _read_for_run()
    db.session.info[trade_ins.RUN_KM_PASSED] = {}
    try:
        for store in db.session.scalars(stores).all():
            made["follow_up"] += follow_ups(store, at)
            made["post_service"] += post_service_calls(store, at)
            for kind, n in lifecycle.run(store, at).items():
                made[kind] += n
    finally:
        for key in (RUN_RULES, RUN_AGENTS, trade_ins.RUN_KM_PASSED):
            db.session.info.pop(key, None)
    return made


def _read_for_run() -> None:
    """Read every store's own rule settings and active agents once, for generate_tasks."""
    rules: dict[int, dict[str, tuple[int, bool]]] = {}
    for r in db.session.scalars(select(TaskRule)):
        rules.setdefault(r.store_id, {})[r.rule] = (r.days, r.is_active)
    agents: dict[int, list[int]] = {}
    active = select(User.id, User.store_id).where(User.role == AGENT, User.is_active.is_(True))
    for uid, store_id in db.session.execute(active.order_by(User.id)):
        agents.setdefault(store_id, []).append(uid)
    db.session.info[RUN_RULES], db.session.info[RUN_AGENTS] = rules, agents


def close_day() -> dict[str, int]:
    """At each store's closing time, flag its open tasks due today as overdue (idempotent)."""
    at = now()
    flagged = 0
    for store in db.session.scalars(select(Store).where(Store.is_active.is_(True))):
        local = at.astimezone(ZoneInfo(store.timezone))
        if local.time() < store.closes_at:
            continue
        horizon = end_of_local_day(at, store.timezone)
        flagged += (
            db.session.execute(
                update(Task)
                .where(Task.store_id == store.id, Task.status.in_(TASK_LIVE))
                .where(Task.due_at < horizon, Task.overdue_at.is_(None))
                .values(overdue_at=at)
                .execution_options(synchronize_session=False)
            ).rowcount
            or 0
        )
    return {"flagged": flagged}
