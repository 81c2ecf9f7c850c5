"""The demo data of issue 7: every used-car state, finance records, notices, referrals."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.demo import load_demo
from portal.models import InsurancePolicy, Loan, Notice, UsedCarRequest, User
from portal.models.usedcars import STATUSES


def test_demo_has_every_state_and_runs_twice_without_change(db):
    load_demo(owners=8)
    db.session.commit()
    states = set(db.session.scalars(select(UsedCarRequest.status)))
    assert states == set(STATUSES)
    counts = [
        db.session.scalar(select(func.count(m.id)))
        for m in (UsedCarRequest, Loan, InsurancePolicy, Notice)
    ]
    assert all(counts)
    assert db.session.scalar(select(func.count(User.id)).where(User.referred_by_id.is_not(None)))
    load_demo(owners=8)
    db.session.commit()
    again = [
        db.session.scalar(select(func.count(m.id)))
        for m in (UsedCarRequest, Loan, InsurancePolicy, Notice)
    ]
    assert again == counts
