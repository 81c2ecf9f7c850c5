"""Segments: rule validation with clear errors, and each field compiled to SQL (one statement)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event

from crm import segments
from crm.leads import Inquiry, capture
from portal.errors import ValidationError
from portal.models import (
    Booking,
    DueEvent,
    InsurancePolicy,
    Loan,
    ServiceRecord,
)
from portal.services import consent
from portal.timeutil import now


def ids(store, rule):
    from portal.extensions import db

    return set(db.session.scalars(segments.members(store, rule)))


def cond(field, op, value, **kw):
    return {"field": field, "op": op, "value": value, **kw}


@pytest.mark.parametrize(
    "rule, message",
    [
        ([], "each part must be an object"),
        ({"all": []}, "non-empty list"),
        ({"all": [{"field": "colour", "op": "in", "value": ["red"]}]}, "unknown field"),
        ({"any": [cond("mileage_km", "in", 5)]}, "takes the operators"),
        ({"not": cond("mileage_km", "gte", -5)}, "whole number from 0"),
        (cond("mileage_km", "gte", True), "whole number"),
        (cond("lead_stage", "in", ["flying"]), "unknown lead stage"),
        (cond("consent", "has", "fax"), "the channel is one of"),
        (cond("spend_fen", "gte", 100), "rule.days"),
        (
            {"not": {"not": {"not": {"not": {"not": {"not": cond("model", "in", ["x"])}}}}}},
            "levels",
        ),
        ({"all": [cond("model", "in", ["x"])] * 61}, "at most 60 parts"),
        ({"all": [cond("model", "in", ["x"])], "any": []}, "nothing beside it"),
    ],
)
def test_bad_rules_are_refused_with_the_place_named(rule, message):
    with pytest.raises(ValidationError) as err:
        segments.validate(rule)
    assert message in err.value.message
    assert err.value.message.startswith("rule")


def test_each_field_selects_the_right_customers(f, db):
    store, other = f.store(), f.store()
    today = now().date()
    old = f.owner(store, name="old car")
    f.vehicle(
        old, series="帕萨特", model_year=2012, current_km=150_000, purchase_date=date(2012, 6, 1)
    )
    new = f.owner(store, name="new car")
    car = f.vehicle(new, series="途观", model_year=today.year, current_km=3_000)
    f.vehicle(f.owner(other), series="帕萨特", model_year=2012)  # another store's customer
    assert ids(store, cond("model", "in", ["帕萨特"])) == {old.id}
    assert ids(store, cond("brand", "in", ["大众"])) == {old.id, new.id}
    assert ids(store, cond("model_year", "lte", 2015)) == {old.id}
    assert ids(store, cond("car_age_years", "gte", 5)) == {old.id}
    assert ids(store, cond("car_age_years", "lte", 1)) == {new.id}
    assert ids(store, cond("mileage_km", "gte", 100_000)) == {old.id}
    assert ids(store, {"not": cond("mileage_km", "gte", 100_000)}) == {new.id}
    assert ids(store, {"any": [cond("model", "in", ["途观"]), cond("model_year", "eq", 2012)]}) == {
        old.id,
        new.id,
    }
    # Visits and spend: a service record 10 days ago worth 800 yuan, and a paid shop order.
    db.session.add(
        ServiceRecord(
            vehicle_id=car.id,
            store_id=store.id,
            mileage_km=3_000,
            total_fen=80_000,
            completed_at=now() - timedelta(days=10),
        )
    )
    db.session.commit()
    assert ids(store, cond("last_visit_days", "within", 30)) == {new.id}
    assert ids(store, cond("last_visit_days", "not_within", 30)) == {old.id}
    assert ids(store, cond("spend_fen", "gte", 80_000, days=30)) == {new.id}
    assert ids(store, cond("spend_fen", "gte", 80_001, days=30)) == set()
    assert ids(store, cond("spend_fen", "gte", 80_000, days=5)) == set()
    # Maintenance due (open event), overdue (its date passed), and an open booking.
    db.session.add(
        DueEvent(
            vehicle_id=car.id,
            code="engine_oil",
            brand="大众",
            series="途观",
            due_key="5000|",
            due_km=5_000,
            status="open",
        )
    )
    db.session.commit()
    assert ids(store, cond("maintenance", "is", "due")) == {new.id}
    assert ids(store, cond("maintenance", "is", "overdue")) == set()
    car.current_km = 6_000
    db.session.commit()
    assert ids(store, cond("maintenance", "is", "overdue")) == {new.id}
    assert ids(store, cond("open_booking", "is", False)) == {old.id, new.id}
    booking = f.booking(new, store, vehicle=car)
    assert isinstance(booking, Booking)
    assert ids(store, cond("open_booking", "is", True)) == {new.id}
    # Policy and loan.
    db.session.add(
        InsurancePolicy(
            customer_id=old.id,
            store_id=store.id,
            insurer="人保",
            policy_number="P1",
            coverage="combined",
            premium_fen=1,
            starts_on=today - timedelta(days=340),
            ends_on=today + timedelta(days=20),
        )
    )
    start = date(today.year - 3, today.month, 1)
    db.session.add(
        Loan(
            customer_id=new.id,
            store_id=store.id,
            lender="招行",
            principal_fen=1,
            annual_rate_bp=400,
            term_months=38,
            start_date=start,
        )
    )
    db.session.commit()
    assert ids(store, cond("policy_expiring_days", "within", 30)) == {old.id}
    assert ids(store, cond("policy_expiring_days", "within", 10)) == set()
    assert ids(store, cond("loan_ending_months", "within", 1)) == set()
    assert ids(store, cond("loan_ending_months", "within", 2)) == {new.id}
    # Lead stage, store, consent.
    lead = capture(Inquiry(name="x", phone=old.phone, store=store, source="phone")).lead
    db.session.commit()
    assert lead.customer_id == old.id
    assert ids(store, cond("lead_stage", "in", ["new"])) == {old.id}
    assert ids(store, cond("store", "in", [other.id])) == set()
    consent.set_consent(new.id, "sms", True)
    db.session.commit()
    assert ids(store, cond("consent", "has", "sms")) == {new.id}
    assert ids(store, cond("consent", "lacks", "sms")) == {old.id}


def test_a_count_is_one_statement(f, db):
    store = f.store()
    f.vehicle(f.owner(store))
    rule = {
        "all": [
            cond("maintenance", "is", "due"),
            {"not": cond("open_booking", "is", True)},
            {"any": [cond("spend_fen", "gte", 1, days=365), cond("consent", "has", "email")]},
        ]
    }
    assert store.timezone  # loaded before counting: the count itself is what is measured
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert segments.count(store, rule) == 0
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
