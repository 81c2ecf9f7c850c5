"""The demo's technicians: job cards on open jobs, and a repeat repair the attribution shows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from portal.demo import DEMO_LOGINS, load_demo
from portal.models import Booking, BookingTechnician, Inspection, JobLabourLine, Store, User
from portal.models.accounts import TECHNICIAN
from portal.services import repeat_attribution
from portal.services.inspections import INSPECTABLE
from portal.timeutil import now


def test_demo_technicians_have_jobs_and_a_repeat_to_attribute(db):
    load_demo(owners=16)
    db.session.commit()
    stores = db.session.scalars(select(Store)).all()
    for store in stores:
        techs = db.session.scalar(
            select(func.count(User.id)).where(User.role == TECHNICIAN, User.store_id == store.id)
        )
        assert 3 <= techs <= 4
    assert db.session.scalar(select(User.role).where(User.phone == DEMO_LOGINS[TECHNICIAN])) == (
        TECHNICIAN
    )
    assert db.session.scalar(select(func.count(JobLabourLine.id))) > 0
    # The demo technician has a car in the workshop to inspect (the browser journey's).
    demo_tech = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[TECHNICIAN]))
    to_inspect = (
        select(Booking.id)
        .join(BookingTechnician, BookingTechnician.booking_id == Booking.id)
        .outerjoin(Inspection, Inspection.booking_id == Booking.id)
        .where(
            BookingTechnician.technician_id == demo_tech.id,
            Booking.status.in_(INSPECTABLE),
            Inspection.id.is_(None),
        )
    )
    assert db.session.scalars(to_inspect).all() != []
    assert db.session.scalar(select(func.count()).select_from(BookingTechnician)) > 0
    end = now() + timedelta(days=1)
    rows = repeat_attribution.by_technician(None, end - timedelta(days=400), end, 30)
    assert rows and sum(x["repeated"] for x in rows) >= 1
    load_demo(owners=16)  # again: nothing doubles
    db.session.commit()
    assert db.session.scalar(select(func.count(User.id)).where(User.role == TECHNICIAN)) == sum(
        1 for s in stores for _ in range(4)
    )
