"""The lifecycle rules: calls that follow a customer's car, policy and loan through the years.

- Renewal calls: an insurance policy (not yet renewed) or a car loan ending in the rule's days.
- Maintenance due but not booked: a car whose maintenance fell due the rule's days ago and that
  has no booking open.
- Trade-in calls for the sales side (crm/trade_ins.py): the warranty ending, the car turning 3
  or 5, or a reading passing 100,000 km.

Like the other rules (crm/rules.py) each task is keyed by (rule, cause) and inserted with ON
CONFLICT DO NOTHING, so it fires once per cause under concurrent workers. Each run reads only
the threshold dates its rule has not covered yet at the store (crm/lifecycle_marks.py), through
an index on that date, never the whole fleet: a worker that was down for weeks calls about
every threshold of the gap on its next run, and a store's first run covers the current week."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from crm import trade_ins
from crm.lifecycle_marks import claim_ago, claim_ahead, rule_setting
from crm.models import MAINTENANCE_DUE, RENEWAL, TASK_LIVE, TRADE_IN, Task
from crm.rules import agents_of, caller_of, insert_selected, insert_tasks, task_row, text_of
from portal.extensions import db
from portal.models import (
    Booking,
    DueEvent,
    InsurancePolicy,
    Loan,
    Store,
    User,
    Vehicle,
)
from portal.models.bookings import HOLDING


def _caller(agents: list[int], key: int, advisor: int | None) -> int | None:
    """The call centre makes service-side calls when the store has one, else the advisor."""
    return agents[key % len(agents)] if agents else advisor


def policy_renewals(store: Store, at: datetime) -> int:
    """Create the renewal call of each policy ending in the rule's days and not yet renewed."""
    days, active = rule_setting(store, "renewal_policy")
    span = claim_ahead(store, at, "renewal_policy", days) if active else None
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
    days, active = rule_setting(store, "renewal_loan")
    span = claim_ahead(store, at, "renewal_loan", days) if active else None
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
    days, active = rule_setting(store, "maintenance_due")
    span = claim_ago(store, at, "maintenance_due", days) if active else None
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
        task_row(
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


def run(store: Store, at: datetime) -> dict[str, int]:
    """Run every lifecycle rule for the store; return how many tasks each kind got."""
    return {
        RENEWAL: policy_renewals(store, at) + loan_renewals(store, at),
        MAINTENANCE_DUE: maintenance_due(store, at),
        TRADE_IN: trade_ins.warranty_ends(store, at)
        + trade_ins.car_ages(store, at)
        + trade_ins.mileage_passed(store, at),
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
