"""Demo duty roster, a routing rule and a duplicate customer to merge (idempotent)."""

from __future__ import annotations

from sqlalchemy import select

from crm.routing import active_advisors
from crm.staffing_models import DutyShift, RoutingRule
from portal.demo import DEMO_LOGINS
from portal.extensions import db
from portal.models import User, Vehicle
from portal.models.accounts import ADVISOR, OWNER
from portal.services.passwords import hash_password

DUPLICATE_PHONE = "13500009901"  # the same person's old number, a second record to merge


def load_routing_demo() -> dict[str, int]:
    """Roster the demo store's advisors (9:00-18:00, each with a day off), route phone leads to
    the demo advisor, and add a duplicate of a demo owner for the manager to merge."""
    advisor = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[ADVISOR]))
    if advisor is None or advisor.store_id is None:
        return {"shifts": 0}
    store_id = advisor.store_id
    if db.session.scalar(select(DutyShift.id).where(DutyShift.store_id == store_id).limit(1)):
        return {"shifts": 0}
    shifts = 0
    for i, person in enumerate(active_advisors(store_id)):
        for weekday in range(7):
            if weekday == (5 + i) % 7:
                continue  # each advisor's day off falls on a different day
            db.session.add(
                DutyShift(
                    store_id=store_id,
                    advisor_id=person.id,
                    weekday=weekday,
                    start_minute=9 * 60,
                    end_minute=18 * 60,
                )
            )
            shifts += 1
    db.session.add(
        RoutingRule(store_id=store_id, position=1, source="phone", advisor_id=advisor.id)
    )
    original = db.session.scalar(
        select(User)
        .join(Vehicle, Vehicle.owner_id == User.id)
        .where(User.role == OWNER, User.store_id == store_id)
        .order_by(User.id)
        .limit(1)
    )
    if (
        original is not None
        and db.session.scalar(select(User.id).where(User.phone == DUPLICATE_PHONE)) is None
    ):
        db.session.add(
            User(
                role=OWNER,
                name=original.name,
                phone=DUPLICATE_PHONE,
                password_hash=hash_password("not-a-demo-login-9"),
                store_id=store_id,
            )
        )
    db.session.flush()
    return {"shifts": shifts, "rules": 1}
