"""The lifecycle rules: calls that follow a customer's car, policy and loan through the years.

- Renewal calls: an insurance policy (not yet renewed) or a car loan ending in the rule's days.
- Maintenance due but not booked: a car whose maintenance fell due the rule's days ago and that
  has no booking open.
- Trade-in calls for the sales side: the warranty ending, the car turning 3 or 5, or a reading
  passing 100,000 km; they go to the advisor who sold the car (else the customer's advisor).

Like the other rules (crm/rules.py) each task is keyed by (rule, cause) and inserted with ON
CONFLICT DO NOTHING, so it fires once per cause under concurrent workers. Each run reads only
what reaches its threshold in a bounded window (a week of dates, through an index on that
date), never the whole fleet: the week lets a run catch up on a day the worker missed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from crm.models import MAINTENANCE_DUE, NORMAL, RENEWAL, TASK_LIVE, TRADE_IN, Task
from crm.pipeline_models import SalesOrder
from crm.rules import agents_of, end_of_local_day, insert_tasks, settings
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

WINDOW = timedelta(days=7)  # how far back a run looks for a threshold it may have missed
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


def _ahead(store: Store, at: datetime, days: int) -> tuple[date, date]:
    """Return the dates `days` ahead of the store's today, with a week's catch-up before them
    (never before today: a date already past is not called about)."""
    today = at.astimezone(ZoneInfo(store.timezone)).date()
    last = today + timedelta(days=days)
    return max(today, last - WINDOW + timedelta(days=1)), last


def _ago(store: Store, at: datetime, days: int) -> tuple[datetime, datetime]:
    """Return the UTC moments of the week that ended `days` before the end of today."""
    end = end_of_local_day(at, store.timezone) - timedelta(days=days)
    return end - WINDOW, end


def _caller(agents: list[int], key: int, advisor: int | None) -> int | None:
    """The call centre makes service-side calls when the store has one, else the advisor."""
    return agents[key % len(agents)] if agents else advisor


def policy_renewals(store: Store, at: datetime) -> int:
    """Create the renewal call of each policy ending in the rule's days and not yet renewed."""
    days, active = settings(store.id)["renewal_policy"]
    if not active:
        return 0
    first, last = _ahead(store, at, days)
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
    agents = agents_of(store.id)
    rows = [
        _row(
            store,
            at,
            RENEWAL,
            rule,
            f"{prefix}:{row_id}:{ends.isoformat()}",
            customer,
            _caller(agents, row_id, advisor),
        )
        for row_id, customer, ends, advisor in db.session.execute(stmt)
    ]
    return insert_tasks(rows)


def loan_renewals(store: Store, at: datetime) -> int:
    """Create the call about each active loan ending in the rule's days (refinance, next car)."""
    days, active = settings(store.id)["renewal_loan"]
    if not active:
        return 0
    first, last = _ahead(store, at, days)
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
    days, active = settings(store.id)["maintenance_due"]
    if not active:
        return 0
    start, end = _ago(store, at, days)
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


def warranty_ends(store: Store, at: datetime) -> int:
    """Create the sales advisor's call about each car whose warranty ends in the rule's days."""
    days, active = settings(store.id)["trade_in_warranty"]
    if not active:
        return 0
    first, last = _ahead(store, at, days)
    stmt = _cars(store, Vehicle.warranty_ends_on).where(
        Vehicle.warranty_ends_on >= first, Vehicle.warranty_ends_on <= last
    )
    return _trade_ins(
        store, at, "trade_in_warranty", stmt, lambda vid, d: f"warranty:{vid}:{d.isoformat()}"
    )


def car_ages(store: Store, at: datetime) -> int:
    """Create the sales advisor's call about each car turning 3 or 5 in the rule's days."""
    rules, made = settings(store.id), 0
    for years in TRADE_IN_YEARS:
        days, active = rules[f"trade_in_{years}y"]
        if not active:
            continue
        first, last = _ahead(store, at, days)
        bought_from, bought_to = add_months(first, -12 * years), add_months(last, -12 * years)
        stmt = _cars(store, Vehicle.purchase_date).where(
            Vehicle.purchase_date >= bought_from, Vehicle.purchase_date <= bought_to
        )
        made += _trade_ins(
            store,
            at,
            f"trade_in_{years}y",
            stmt,
            lambda vid, d, y=years: f"age{y}:{vid}:{add_months(d, 12 * y).isoformat()}",
        )
    return made


def mileage_passed(store: Store, at: datetime) -> int:
    """Create the sales advisor's call about each car whose readings passed 100,000 km in the
    week that ended the rule's days ago (a car that passed it before that week is history)."""
    days, active = settings(store.id)["trade_in_km"]
    if not active:
        return 0
    start, end = _ago(store, at, days)
    earlier = aliased(MileageReading)
    passed_before = (
        select(earlier.id)
        .where(earlier.vehicle_id == MileageReading.vehicle_id, earlier.km >= TRADE_IN_KM)
        .where(earlier.recorded_at < start)
        .exists()
    )
    stmt = (
        _cars(store, func.min(MileageReading.recorded_at))
        .join(MileageReading, MileageReading.vehicle_id == Vehicle.id)
        .where(MileageReading.recorded_at >= start, MileageReading.recorded_at < end)
        .where(MileageReading.km >= TRADE_IN_KM, ~passed_before)
        .group_by(Vehicle.id, Vehicle.owner_id, User.advisor_id)
    )
    return _trade_ins(store, at, "trade_in_km", stmt, lambda vid, _at: f"km:{vid}")


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
