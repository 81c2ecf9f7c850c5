"""The trade-in calls for the sales side: a car's warranty ending, the car turning 3 or 5, or its
readings passing 100,000 km. Each goes to the advisor who sold the car (else the customer's
advisor), once per cause (crm/rules.py), while no trade-in call about the customer is live.
Each run reads only the threshold dates its rule has not covered yet at the store
(crm/lifecycle_marks.py); the lifecycle run (crm/lifecycle.py) runs them with the renewals."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, literal, select
from sqlalchemy.orm import aliased

from crm import lifecycle_marks
from crm.lifecycle_marks import claim_ago, claim_ahead, local_today, rule_setting
from crm.models import TASK_LIVE, TRADE_IN, Task
from crm.pipeline_models import SalesOrder
from crm.rules import insert_selected, insert_tasks, settings, task_row, text_of
from portal.extensions import db
from portal.models import MileageReading, Store, User, Vehicle
from portal.timeutil import add_months

TRADE_IN_KM = 100_000
TRADE_IN_YEARS = (3, 5)


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
        task_row(store, at, TRADE_IN, rule, cause(vid, extra), owner, advisor)
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
    days, active = rule_setting(store, "trade_in_warranty")
    span = claim_ahead(store, at, "trade_in_warranty", days) if active else None
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
    if mark is None or not local_today(store, at) <= ends <= mark:
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
        days, active = rule_setting(store, rule)
        span = claim_ahead(store, at, rule, days) if active else None
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
    days, active = rule_setting(store, "trade_in_km")
    span = claim_ago(store, at, "trade_in_km", days) if active else None
    if span is None:
        return 0
    passed = passed_km(*span).get(store.id)
    if not passed:
        return 0
    # Apart, so the planner joins the few cars found (not an estimated third of the store).
    stmt = _cars(store, Vehicle.current_km).where(Vehicle.id.in_(sorted(passed)))
    return _trade_ins_selected(store, at, "trade_in_km", stmt, "km", False)
