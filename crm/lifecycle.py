"""The lifecycle rules: calls that follow a customer's car, policy and loan through the years.

- Renewal calls: an insurance policy (not yet renewed) or a car loan ending in the rule's days.
- Maintenance due but not booked: a car whose maintenance fell due the rule's days ago and that
  has no booking open.
- Trade-in calls for the sales side: the warranty ending, the car turning 3 or 5, or a reading
  passing 100,000 km; they go to the advisor who sold the car (else the customer's advisor).

Like the other rules (crm/rules.py) each task is keyed by (rule, cause) and inserted with ON
CONFLICT DO NOTHING, so it fires once per cause under concurrent workers. Each run reads only
the threshold dates its rule has not covered yet at the store (crm/lifecycle_marks.py), through
an index on that date, never the whole fleet: a worker that was down for weeks calls about
every threshold of the gap on its next run, and a store's first run covers the current week."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, literal, select
from sqlalchemy.orm import aliased

from crm import lifecycle_marks
from crm.models import MAINTENANCE_DUE, NORMAL, RENEWAL, TASK_LIVE, TRADE_IN, Task
from crm.pipeline_models import SalesOrder
from crm.rules import agents_of, caller_of, insert_selected, insert_tasks, settings, text_of
from portal.extensions import db
from portal.models import (
    Booking,
    DueEvent,
    InsurancePolicy,
    Loan,
    MileageReading,
    Store,
    User,
    Vehicle,
)
from portal.models.bookings import HOLDING
from portal.timeutil import add_months

FIRST_RUN = timedelta(days=7)  # a store's first run of a rule covers the current week
TRADE_IN_KM = 100_000
TRADE_IN_YEARS = (3, 5)


def _row(store: Store, at: datetime, kind: str, rule: str, cause: str, customer, owner) -> dict:
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


def _today(store: Store, at: datetime) -> date:
    return at.astimezone(ZoneInfo(store.timezone)).date()


def _ahead(store: Store, at: datetime, rule: str, days: int) -> tuple[date, date] | None:
    """Claim the rule's threshold dates not covered yet, through `days` ahead of the store's
    today; return the first and last, or None when there are none. A first run covers the
    week before the last date, never a date before today."""
    today = _today(store, at)
    last = today + timedelta(days=days)
    first_after = max(today - timedelta(days=1), last - FIRST_RUN)
    mark = lifecycle_marks.claim(store.id, rule, last, first_after)
    return None if mark is None else (mark + timedelta(days=1), last)


def _midnight(day: date, tz: str) -> datetime:
    """Return the UTC moment the local day begins in the zone."""
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)


def _ago(store: Store, at: datetime, rule: str, days: int) -> tuple[datetime, datetime] | None:
    """Claim the rule's local days not covered yet, through `days` before the store's today;
    return the UTC moments they start and end, or None when there are none (a first run
    covers the week that ends then)."""
    last = _today(store, at) - timedelta(days=days)
    mark = lifecycle_marks.claim(store.id, rule, last, last - FIRST_RUN)
    if mark is None:
        return None
    return _midnight(mark + timedelta(days=1), store.timezone), _midnight(
        last + timedelta(days=1), store.timezone
    )


def _claimed(store: Store, rule: str) -> tuple[int, bool]:
    """Return the rule's (days, active) at the store; a rule switched off forgets its mark."""
    days, active = settings(store.id)[rule]
    if not active:
        lifecycle_marks.forget(store.id, rule)
    return days, active


def _caller(agents: list[int], key: int, advisor: int | None) -> int | None:
    """The call centre makes service-side calls when the store has one, else the advisor."""
    return agents[key % len(agents)] if agents else advisor


def policy_renewals(store: Store, at: datetime) -> int:
    """Create the renewal call of each policy ending in the rule's days and not yet renewed."""
    days, active = _claimed(store, "renewal_policy")
    span = _ahead(store, at, "renewal_policy", days) if active else None
    if span is None:
        return 0
    first, last = span
    later = aliased(InsurancePolicy)
    renewed = (
        select(later.id)
        .where(later.customer_id == InsurancePolicy.customer_id)
        .where(later.vehicle_id.is_not_distinct_from(InsurancePolicy.vehicle_id))
        .where(later.ends_on > InsurancePolicy.ends_on)
        .exists()
    )
    stmt = (
        select(InsurancePolicy.id, InsurancePolicy.customer_id, InsurancePolicy.ends_on)
        .add_columns(User.advisor_id)
        .join(User, User.id == InsurancePolicy.customer_id)
        .where(InsurancePolicy.ends_on >= first, InsurancePolicy.ends_on <= last)
        .where(InsurancePolicy.store_id == store.id, ~renewed)
    )
    return _renewal_calls(store, at, "renewal_policy", "policy", stmt)


def _renewal_calls(store: Store, at: datetime, rule: str, prefix: str, stmt) -> int:
    """Insert a renewal call per (id, customer, ends_on, advisor) row the statement finds,
    each caused by that contract's end date."""
    row_id, customer, ends, advisor = (rows := stmt.subquery()).c
    return insert_selected(
        rows,
        store_id=store.id,
        kind=RENEWAL,
        rule=rule,
        at=at,
        cause=text_of(f"{prefix}:", row_id, ":", ends),
        customer=customer,
        owner=caller_of(agents_of(store.id), row_id, advisor),
    )


def loan_renewals(store: Store, at: datetime) -> int:
    """Create the call about each active loan ending in the rule's days (refinance, next car)."""
    days, active = _claimed(store, "renewal_loan")
    span = _ahead(store, at, "renewal_loan", days) if active else None
    if span is None:
        return 0
    first, last = span
    stmt = (
        select(Loan.id, Loan.customer_id, Loan.ends_on, User.advisor_id)
        .join(User, User.id == Loan.customer_id)
        .where(Loan.store_id == store.id, Loan.status == "active")
        .where(Loan.ends_on >= first, Loan.ends_on <= last)
    )
    return _renewal_calls(store, at, "renewal_loan", "loan", stmt)


def maintenance_due(store: Store, at: datetime) -> int:
    """Create a call for each car whose maintenance fell due the rule's days ago (the due
    events the reminders job opens) and that has no open booking nor such a call live."""
    days, active = _claimed(store, "maintenance_due")
    span = _ago(store, at, "maintenance_due", days) if active else None
    if span is None:
        return 0
    start, end = span
    booked = (
        select(Booking.id)
        .where(Booking.vehicle_id == DueEvent.vehicle_id, Booking.status.in_(HOLDING))
        .exists()
    )
    called = (
        select(Task.id)
        .where(Task.customer_id == Vehicle.owner_id, Task.kind == MAINTENANCE_DUE)
        .where(Task.status.in_(TASK_LIVE))
        .exists()
    )
    stmt = (
        select(DueEvent.vehicle_id, Vehicle.owner_id, User.advisor_id)
        .add_columns(func.min(DueEvent.opened_at))
        .join(Vehicle, Vehicle.id == DueEvent.vehicle_id)
        .join(User, User.id == Vehicle.owner_id)
        .where(DueEvent.opened_at >= start, DueEvent.opened_at < end, DueEvent.status == "open")
        .where(Vehicle.store_id == store.id, ~booked, ~called)
        .group_by(DueEvent.vehicle_id, Vehicle.owner_id, User.advisor_id)
    )
    agents, zone = agents_of(store.id), ZoneInfo(store.timezone)
    rows = [
        _row(
            store,
            at,
            MAINTENANCE_DUE,
            "maintenance_due",
            f"due:{vid}:{opened.astimezone(zone).date().isoformat()}",
            owner,
            _caller(agents, vid, advisor),
        )
        for vid, owner, advisor, opened in db.session.execute(stmt)
    ]
    return insert_tasks(rows)


def _cars(store: Store, *columns):
    """Select the store's cars (owner, sales advisor, columns) with no trade-in call live."""
    sold_by = (
        select(SalesOrder.advisor_id)
        .where(SalesOrder.vehicle_id == Vehicle.id, SalesOrder.advisor_id.is_not(None))
        .order_by(SalesOrder.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    called = (
        select(Task.id)
        .where(Task.customer_id == Vehicle.owner_id, Task.kind == TRADE_IN)
        .where(Task.status.in_(TASK_LIVE))
        .exists()
    )
    return (
        select(Vehicle.id, Vehicle.owner_id, func.coalesce(sold_by, User.advisor_id), *columns)
        .join(User, User.id == Vehicle.owner_id)
        .where(Vehicle.store_id == store.id, User.is_active.is_(True), ~called)
    )


def _trade_ins(store: Store, at: datetime, rule: str, stmt, cause) -> int:
    rows = [
        _row(store, at, TRADE_IN, rule, cause(vid, extra), owner, advisor)
        for vid, owner, advisor, extra in db.session.execute(stmt)
    ]
    return insert_tasks(rows)


def _trade_ins_selected(store: Store, at: datetime, rule: str, stmt, prefix: str, dated: bool):
    """Insert the trade-in calls of the cars `stmt` (from _cars) finds on the server, each
    caused by "prefix:car" and, when `dated`, ":the date" of its extra column."""
    vid, owner, advisor, extra = (rows := stmt.subquery()).c
    parts = (f"{prefix}:", vid, ":", extra) if dated else (f"{prefix}:", vid)
    return insert_selected(
        rows,
        store_id=store.id,
        kind=TRADE_IN,
        rule=rule,
        at=at,
        cause=text_of(*parts),
        customer=owner,
        owner=advisor,
    )


def warranty_ends(store: Store, at: datetime) -> int:
    """Create the sales advisor's call about each car whose warranty ends in the rule's days."""
    days, active = _claimed(store, "trade_in_warranty")
    span = _ahead(store, at, "trade_in_warranty", days) if active else None
    if span is None:
        return 0
    first, last = span
    stmt = _cars(store, Vehicle.warranty_ends_on).where(
        Vehicle.warranty_ends_on >= first, Vehicle.warranty_ends_on <= last
    )
    return _trade_ins_selected(store, at, "trade_in_warranty", stmt, "warranty", True)


def warranty_entered(vehicle: Vehicle, at: datetime) -> int:
    """Call about a car whose warranty end staff just entered, when the rule has already
    looked past that date (it would never come round again); return how many calls it made."""
    store = db.session.get(Store, vehicle.store_id) if vehicle.store_id else None
    ends = vehicle.warranty_ends_on
    if store is None or ends is None or not settings(store.id)["trade_in_warranty"][1]:
        return 0
    # Locked: a run covering this date right now either finishes first (and the date is
    # seen as covered here) or waits for this change and reads the new date itself.
    mark = lifecycle_marks.covered(store.id, "trade_in_warranty")
    if mark is None or not _today(store, at) <= ends <= mark:
        return 0
    stmt = _cars(store, Vehicle.warranty_ends_on).where(Vehicle.id == vehicle.id)
    return _trade_ins(
        store, at, "trade_in_warranty", stmt, lambda vid, d: f"warranty:{vid}:{d.isoformat()}"
    )


def car_ages(store: Store, at: datetime) -> int:
    """Create the sales advisor's call about each car turning 3 or 5 in the rule's days."""
    made = 0
    for years in TRADE_IN_YEARS:
        rule = f"trade_in_{years}y"
        days, active = _claimed(store, rule)
        span = _ahead(store, at, rule, days) if active else None
        if span is None:
            continue
        # Bought after the day that turned `years` on the last covered date (the 29th of
        # February turns on the 28th), through the day that turns on the last date.
        before = add_months(span[0] - timedelta(days=1), -12 * years)
        bought_to = add_months(span[1], -12 * years)
        stmt = _cars(store, Vehicle.purchase_date).where(
            Vehicle.purchase_date > before, Vehicle.purchase_date <= bought_to
        )
        made += _trade_ins(
            store,
            at,
            rule,
            stmt,
            lambda vid, d, y=years: f"age{y}:{vid}:{add_months(d, 12 * y).isoformat()}",
        )
    return made


# While generate_tasks runs: the cars that passed 100,000 km in each window a store claimed,
# by store (a session.info key, removed after the run). Stores whose marks agree (nearly all
# of them, night after night) claim the same window, so the group's readings of a window are
# read once per run, not once per store nor once per car.
RUN_KM_PASSED = "crm_run_km_passed"


def passed_km(start: datetime, end: datetime) -> dict[int, list[int]]:
    """Return, by store, the cars whose first reading at or over 100,000 km falls in
    [start, end): one statement over the group's readings of the window."""
    run = db.session.info.get(RUN_KM_PASSED)
    if run is not None and (start, end) in run:
        return run[(start, end)]
    # The cars with a reading at or over 100,000 km in the window (ix_mileage_readings_km_window,
    # a range of it), then each such car's first one before the window's end, one probe of
    # ix_mileage_readings_km_passed per car: the cost follows the window's readings, never the
    # history (an anti-join was planned as a hash of every earlier passing reading of the
    # group). The threshold is written into the SQL so that a generic plan can still prove
    # both partial indexes' condition.
    threshold = literal(TRADE_IN_KM, literal_execute=True)
    candidates = (
        select(MileageReading.vehicle_id)
        .where(MileageReading.km >= threshold)
        .where(MileageReading.recorded_at >= start, MileageReading.recorded_at < end)
        .distinct()
        .subquery()
    )
    first = aliased(MileageReading)
    first_passed = (
        select(func.min(first.recorded_at))
        .where(first.vehicle_id == candidates.c.vehicle_id, first.km >= threshold)
        .where(first.recorded_at < end)
        .scalar_subquery()
    )
    stmt = (
        select(Vehicle.store_id, Vehicle.id)
        .join(candidates, candidates.c.vehicle_id == Vehicle.id)
        .where(first_passed >= start, Vehicle.store_id.is_not(None))
    )
    found: dict[int, list[int]] = {}
    for store_id, vehicle_id in db.session.execute(stmt):
        found.setdefault(store_id, []).append(vehicle_id)
    if run is not None:
        run[(start, end)] = found
    return found


def mileage_passed(store: Store, at: datetime) -> int:
    """Create the sales advisor's call about each car whose readings passed 100,000 km in the
    days not covered yet through the rule's days ago (a car that passed it before is history)."""
    days, active = _claimed(store, "trade_in_km")
    span = _ago(store, at, "trade_in_km", days) if active else None
    if span is None:
        return 0
    passed = passed_km(*span).get(store.id)
    if not passed:
        return 0
    # Apart, so the planner joins the few cars found (not an estimated third of the store).
    stmt = _cars(store, Vehicle.current_km).where(Vehicle.id.in_(sorted(passed)))
    return _trade_ins_selected(store, at, "trade_in_km", stmt, "km", False)


def run(store: Store, at: datetime) -> dict[str, int]:
    """Run every lifecycle rule for the store; return how many tasks each kind got."""
    return {
        RENEWAL: policy_renewals(store, at) + loan_renewals(store, at),
        MAINTENANCE_DUE: maintenance_due(store, at),
        TRADE_IN: warranty_ends(store, at) + car_ages(store, at) + mileage_passed(store, at),
    }


def _day(raw: str) -> str:
    return format_skeleton("MMMd", date.fromisoformat(raw), locale=get_locale() or "zh_CN")


def reason(task: Task) -> str:
    """Say why a lifecycle rule made the task, in the reader's language ("保单 12月20日 到期")."""
    parts = (task.cause or "").split(":")
    try:
        if task.rule == "renewal_policy":
            return _("Insurance policy ends %(day)s", day=_day(parts[2]))
        if task.rule == "renewal_loan":
            return _("Car loan ends %(day)s", day=_day(parts[2]))
        if task.rule == "maintenance_due":
            return _("Maintenance due since %(day)s, not booked", day=_day(parts[2]))
        if task.rule == "trade_in_warranty":
            return _("Warranty ends %(day)s", day=_day(parts[2]))
        if task.rule in ("trade_in_3y", "trade_in_5y"):
            years = int(task.rule[len("trade_in_")])
            return _("Car turns %(years)d on %(day)s", years=years, day=_day(parts[2]))
        if task.rule == "trade_in_km":
            return _("Car has passed 100,000 km")
    except (IndexError, ValueError):
        return ""
    return ""
