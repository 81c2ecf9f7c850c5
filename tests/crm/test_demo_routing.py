"""The routing demo: a roster with days off, a phone rule, a duplicate to merge; loaded once."""

from __future__ import annotations

from sqlalchemy import func, select

from crm import merge
from crm.demo_routing import DUPLICATE_PHONE, load_routing_demo
from crm.staffing_models import DutyShift, RoutingRule
from portal.demo import DEMO_LOGINS, load_demo
from portal.models import User


def test_routing_demo_rosters_the_store_and_offers_a_merge_once(db):
    load_demo(owners=12)
    db.session.commit()
    made = load_routing_demo()
    db.session.commit()
    assert made["shifts"] >= 6 and made["rules"] == 1
    assert load_routing_demo() == {"shifts": 0}
    days = db.session.scalar(select(func.count(func.distinct(DutyShift.weekday))))
    assert days == 7
    assert db.session.scalar(select(RoutingRule.source)) == "phone"
    duplicate = db.session.scalar(select(User).where(User.phone == DUPLICATE_PHONE))
    manager = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS["manager"]))
    original = db.session.scalar(
        select(User).where(User.name == duplicate.name, User.id != duplicate.id).limit(1)
    )
    shown = merge.preview(manager, original, duplicate)
    assert shown.problem == "" and shown.survivor_counts.get("vehicles.owner_id", 0) >= 1
