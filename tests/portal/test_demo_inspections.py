"""The demo's inspections: a checklist per store, decided history, one waiting for the owner."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.demo import load_demo
from portal.demo.inspections import load_inspection_demo
from portal.models import Inspection, InspectionTemplate, InspectionUptake, JobLine, Store
from portal.models.inspections import APPROVED, PENDING


def test_demo_inspections_fill_the_counters_and_leave_one_waiting(db):
    load_demo(owners=16)
    db.session.commit()
    stores = db.session.scalar(select(func.count(Store.id)))
    assert db.session.scalar(select(func.count(InspectionTemplate.id))) == stores
    waiting = db.session.scalars(
        select(Inspection)
        .join(Inspection.booking)
        .where(Inspection.opened_at.is_(None))
        .where(Inspection.booking.has(status="in_progress"))
    ).all()
    assert len(waiting) == stores
    for inspection in waiting:
        recs = inspection.recommendations
        assert [r.decision for r in recs] == [PENDING] * 3
        assert all(r.image is not None for r in recs)
    # Counters agree with the decided items they summarise, and approvals made job lines.
    approved = db.session.scalar(select(func.sum(InspectionUptake.approved)))
    assert approved == db.session.scalar(select(func.count(JobLine.id))) > 0
    from portal.models import InspectionItem

    assert approved == db.session.scalar(
        select(func.count(InspectionItem.id)).where(InspectionItem.decision == APPROVED)
    )
    assert load_inspection_demo() == 0  # idempotent
