"""Segments: a saved rule (a JSON tree of all/any/not over customer fields) checked with clear
errors and compiled to ONE SQL statement of EXISTS subqueries; customers are never filtered in
Python.

A rule is ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": rule}`` or a condition
``{"field": "mileage_km", "op": "gte", "value": 30000}`` (spend also takes ``"days"``). Each
vehicle condition is its own EXISTS: "a 2019 car" and "over 60,000 km" may be two cars.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    extract,
    false,
    func,
    not_,
    or_,
    select,
    true,
)

from crm import customer_value
from crm.campaign_models import RecallVin
from crm.models import ACTIVE_STATES, STAGES, Lead
from crm.profile_models import CustomerProfile
from portal import access
from portal.errors import ValidationError
from portal.extensions import db
from portal.models import (
    Booking,
    DueEvent,
    InsurancePolicy,
    Loan,
    MarketingConsent,
    ServiceRecord,
    Store,
    User,
    Vehicle,
)
from portal.models.accounts import OWNER
from portal.models.bookings import HOLDING
from portal.models.channels import MARKETING_CHANNELS
from portal.timeutil import now, to_local
from shop.models import Order

MAX_DEPTH, MAX_NODES, MAX_VALUES = 6, 60, 50
PREVIEW = 10
SPENDING_ORDERS = ("paid", "ready", "shipped", "completed")
MAINTENANCE_STATES = ("due", "overdue")


@dataclass(frozen=True)
class Field:
    ops: tuple[str, ...]
    kind: str  # int, strings, stage, channel, maintenance, bool, store_ids, band_ids
    low: int = 0
    high: int = 0


FIELDS: dict[str, Field] = {
    "model": Field(("in",), "strings"),
    "brand": Field(("in",), "strings"),
    "model_year": Field(("gte", "lte", "eq"), "int", 1950, 2100),
    "car_age_years": Field(("gte", "lte"), "int", 0, 60),
    "mileage_km": Field(("gte", "lte"), "int", 0, 3_000_000),
    "last_visit_days": Field(("within", "not_within"), "int", 1, 3650),
    "spend_fen": Field(("gte", "lte"), "int", 0, 10**12),
    "maintenance": Field(("is",), "maintenance"),
    "open_booking": Field(("is",), "bool"),
    "policy_expiring_days": Field(("within",), "int", 0, 366),
    "loan_ending_months": Field(("within",), "int", 0, 60),
    "lead_stage": Field(("in",), "stage"),
    "store": Field(("in",), "store_ids"),
    "consent": Field(("has", "lacks"), "channel"),
    "birthday_in_days": Field(("within",), "int", 0, 31),
    "recall": Field(("is",), "int", 1, 2**31 - 1),  # the owners of a recall list's VINs
    "value_band": Field(("in",), "band_ids"),
}


def field_labels() -> dict[str, str]:
    """Return each field's name as the editor shows it."""
    return {
        "model": _("Model (series)"),
        "brand": _("Brand"),
        "model_year": _("Model year"),
        "car_age_years": _("Car age (years)"),
        "mileage_km": _("Mileage (km)"),
        "last_visit_days": _("Last visit (days)"),
        "spend_fen": _("Spend in a period (fen)"),
        "maintenance": _("Maintenance"),
        "open_booking": _("Has an open booking"),
        "policy_expiring_days": _("Policy expiring within (days)"),
        "loan_ending_months": _("Loan ending within (months)"),
        "lead_stage": _("Lead stage"),
        "store": _("Store"),
        "consent": _("Marketing consent"),
        "birthday_in_days": _("Birthday within (days)"),
        "recall": _("Car in a recall list"),
        "value_band": _("Customer value band"),
    }


# ---- validation -------------------------------------------------------------------------


def validate(rule: Any) -> dict:
    """Return the rule if it is well formed, else raise ValidationError naming the place."""
    count = [0]
    _check(rule, "rule", 1, count)
    return rule


def _fail(where: str, message: str):
    raise ValidationError(f"{where}: {message}", field="rule")


def _check(node: Any, where: str, depth: int, count: list[int]) -> None:
    count[0] += 1
    if count[0] > MAX_NODES:
        _fail(where, _("a rule may have at most %(n)d parts.", n=MAX_NODES))
    if depth > MAX_DEPTH:
        _fail(where, _("rules nest at most %(n)d levels deep.", n=MAX_DEPTH))
    if not isinstance(node, dict):
        _fail(where, _("each part must be an object."))
    if set(node) & {"all", "any"}:
        key = "all" if "all" in node else "any"
        if set(node) != {key} or not isinstance(node[key], list) or not node[key]:
            _fail(where, _('"%(k)s" takes a non-empty list and nothing beside it.', k=key))
        for i, child in enumerate(node[key]):
            _check(child, f"{where}.{key}[{i}]", depth + 1, count)
        return
    if "not" in node:
        if set(node) != {"not"}:
            _fail(where, _('"not" takes one rule and nothing beside it.'))
        _check(node["not"], f"{where}.not", depth + 1, count)
        return
    _check_condition(node, where)


def _check_condition(node: dict, where: str) -> None:
    name = node.get("field")
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None:
        _fail(where, _("unknown field %(f)s.", f=repr(name)[:40]))
    allowed = {"field", "op", "value"} | ({"days"} if name == "spend_fen" else set())
    if set(node) - allowed:
        _fail(where, _("unexpected keys: %(k)s.", k=", ".join(sorted(set(node) - allowed))[:80]))
    if node.get("op") not in spec.ops:
        _fail(where, _("%(f)s takes the operators %(ops)s.", f=name, ops=", ".join(spec.ops)))
    value = node.get("value")
    if spec.kind == "int":
        _need_int(value, spec.low, spec.high, where)
    elif spec.kind in ("strings", "stage", "store_ids", "band_ids"):
        _check_list(value, spec.kind, where)
    elif spec.kind == "channel" and value not in MARKETING_CHANNELS:
        _fail(where, _("the channel is one of %(c)s.", c=", ".join(MARKETING_CHANNELS)))
    elif spec.kind == "maintenance" and value not in MAINTENANCE_STATES:
        _fail(where, _("maintenance is due or overdue."))
    elif spec.kind == "bool" and not isinstance(value, bool):
        _fail(where, _("the value is true or false."))
    if name == "spend_fen":
        _need_int(node.get("days"), 1, 3650, where + ".days")


def _need_int(value: Any, low: int, high: int, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        _fail(where, _("enter a whole number from %(a)d to %(b)d.", a=low, b=high))


def _check_list(value: Any, kind: str, where: str) -> None:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_VALUES:
        _fail(where, _("the value is a list of 1 to %(n)d items.", n=MAX_VALUES))
    for item in value:
        if kind == "strings" and not (isinstance(item, str) and 0 < len(item) <= 60):
            _fail(where, _("each item is a text of 1 to 60 characters."))
        if kind == "stage" and item not in STAGES:
            _fail(where, _("unknown lead stage %(s)s.", s=repr(item)[:40]))
        if kind in ("store_ids", "band_ids"):
            _need_int(item, 1, 2**31 - 1, where)


# ---- compilation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What a compiled rule is evaluated against: the store's today and this instant."""

    at: datetime
    today: date


def context_for(store: Store) -> Context:
    """Return the evaluation context in the store's time zone."""
    at = now()
    return Context(at=at, today=to_local(at, store.timezone).date())


def compile_rule(node: dict, ctx: Context) -> ColumnElement[bool]:
    """Return the SQL condition (over ``users``) of a validated rule."""
    if "all" in node:
        return and_(true(), *(compile_rule(child, ctx) for child in node["all"]))
    if "any" in node:
        return or_(false(), *(compile_rule(child, ctx) for child in node["any"]))
    if "not" in node:
        return not_(compile_rule(node["not"], ctx))
    return CONDITIONS[node["field"]](node, ctx)


def _cmp(column, op: str, value):
    return {"gte": column >= value, "lte": column <= value, "eq": column == value}[op]


def _vehicle(condition) -> ColumnElement[bool]:
    return exists().where(Vehicle.owner_id == User.id, condition)


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _car_age(node: dict, ctx: Context):
    n = node["value"]
    if node["op"] == "gte":  # at least n whole years old
        bought = Vehicle.purchase_date <= _years_ago(ctx.today, n)
        by_year = Vehicle.model_year <= ctx.today.year - n
    else:  # at most n whole years old
        bought = Vehicle.purchase_date > _years_ago(ctx.today, n + 1)
        by_year = Vehicle.model_year >= ctx.today.year - n
    return _vehicle(or_(bought, and_(Vehicle.purchase_date.is_(None), by_year)))


def _last_visit(node: dict, ctx: Context):
    recent = exists().where(
        ServiceRecord.vehicle_id == Vehicle.id,
        Vehicle.owner_id == User.id,
        ServiceRecord.completed_at >= ctx.at - timedelta(days=node["value"]),
    )
    return recent if node["op"] == "within" else not_(recent)


def _birthday(node: dict, ctx: Context):
    """A birthday (month and day, the profile's) from the store's today to N days on; one on
    29 February counts on 28 February in other years."""
    days = [ctx.today + timedelta(days=i) for i in range(node["value"] + 1)]
    keys = {d.month * 100 + d.day for d in days}
    keys |= {229 for d in days if (d.month, d.day) == (2, 28) and not calendar.isleap(d.year)}
    born = CustomerProfile.birthday
    return exists().where(
        CustomerProfile.customer_id == User.id,
        born.is_not(None),
        (extract("month", born) * 100 + extract("day", born)).in_(sorted(keys)),
    )


def _spend(node: dict, ctx: Context):
    since = ctx.at - timedelta(days=node["days"])
    service = (
        select(func.coalesce(func.sum(ServiceRecord.total_fen), 0))
        .join(Vehicle, Vehicle.id == ServiceRecord.vehicle_id)
        .where(Vehicle.owner_id == User.id, ServiceRecord.completed_at >= since)
        .scalar_subquery()
    )
    shop = (
        select(func.coalesce(func.sum(Order.total_fen - Order.refunded_fen), 0))
        .where(
            Order.user_id == User.id,
            Order.status.in_(SPENDING_ORDERS),
            Order.created_at >= since,
        )
        .scalar_subquery()
    )
    return _cmp(service + shop, node["op"], node["value"])


def _maintenance(node: dict, ctx: Context):
    condition = and_(
        DueEvent.vehicle_id == Vehicle.id, Vehicle.owner_id == User.id, DueEvent.status == "open"
    )
    if node["value"] == "overdue":
        condition = and_(
            condition, or_(DueEvent.due_date < ctx.today, DueEvent.due_km < Vehicle.current_km)
        )
    return exists().where(condition)


def _loan_ending(node: dict, ctx: Context):
    month = ctx.today.year * 12 + ctx.today.month - 1
    start = extract("year", Loan.start_date) * 12 + extract("month", Loan.start_date) - 1
    ends = start + Loan.term_months  # the month index of the last instalment, plus one
    return exists().where(
        Loan.customer_id == User.id,
        Loan.status == "active",
        ends >= month,
        ends <= month + node["value"],
    )


def _open_booking(node: dict, ctx: Context):
    holding = exists().where(Booking.owner_id == User.id, Booking.status.in_(HOLDING))
    return holding if node["value"] else not_(holding)


def _consent(node: dict, ctx: Context):
    given = has_consent(node["value"])
    return given if node["op"] == "has" else not_(given)


def has_consent(channel: str, customer=None) -> ColumnElement[bool]:
    """Return the SQL condition "the customer consents to marketing on this channel now"."""
    customer = User.id if customer is None else customer
    return exists().where(
        MarketingConsent.user_id == customer,
        MarketingConsent.channel == channel,
        MarketingConsent.withdrawn_at.is_(None),
    )


CONDITIONS = {
    "model": lambda n, c: _vehicle(Vehicle.series.in_(n["value"])),
    "brand": lambda n, c: _vehicle(Vehicle.brand.in_(n["value"])),
    "model_year": lambda n, c: _vehicle(_cmp(Vehicle.model_year, n["op"], n["value"])),
    "car_age_years": _car_age,
    "mileage_km": lambda n, c: _vehicle(_cmp(Vehicle.current_km, n["op"], n["value"])),
    "last_visit_days": _last_visit,
    "spend_fen": _spend,
    "maintenance": _maintenance,
    "open_booking": _open_booking,
    "policy_expiring_days": lambda n, c: exists().where(
        InsurancePolicy.customer_id == User.id,
        InsurancePolicy.ends_on >= c.today,
        InsurancePolicy.ends_on <= c.today + timedelta(days=n["value"]),
    ),
    "loan_ending_months": _loan_ending,
    "lead_stage": lambda n, c: exists().where(
        Lead.customer_id == User.id, Lead.state.in_(ACTIVE_STATES), Lead.stage.in_(n["value"])
    ),
    "store": lambda n, c: User.store_id.in_(n["value"]),
    "consent": _consent,
    "birthday_in_days": _birthday,
    "recall": lambda n, c: _vehicle(
        Vehicle.vin.in_(select(RecallVin.vin).where(RecallVin.list_id == n["value"]))
    ),
    "value_band": lambda n, c: customer_value.in_bands(n["value"]),
}


def members(store: Store, rule: dict, ctx: Context | None = None) -> Select:
    """Return the one SELECT of the ids of the store's customers that match the rule."""
    ctx = ctx or context_for(store)
    return select(User.id).where(
        User.role == OWNER,
        User.is_active.is_(True),
        User.store_id == store.id,
        compile_rule(validate(rule), ctx),
    )


def count(store: Store, rule: dict) -> int:
    """Return how many customers match, counted by the database."""
    return db.session.scalar(select(func.count()).select_from(members(store, rule).subquery()))


def preview(viewer: User, store: Store, rule: dict, limit: int = PREVIEW) -> list[dict]:
    """Return the first matching customers with their phone as the viewer may see it."""
    ids = members(store, rule).order_by(User.id).limit(limit)
    people = db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)).all()
    return [{"id": u.id, "name": u.name, "phone": access.customer_phone(viewer, u)} for u in people]
