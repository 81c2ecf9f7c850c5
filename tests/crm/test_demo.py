"""The CRM demo: leads in several stages for the demo advisor, loaded once."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.demo import PLAN, load_crm_demo
from crm.models import Lead
from portal.demo import DEMO_LOGINS, load_demo
from portal.models import User


def test_demo_leads_span_the_pipeline_and_load_once(db):
    load_demo(owners=12)
    db.session.commit()
    assert load_crm_demo() == {"leads": len(PLAN)}
    db.session.commit()
    assert load_crm_demo() == {"leads": 0}
    stages = set(db.session.scalars(select(Lead.stage)))
    assert {"new", "contacted", "test_drive", "quote", "order", "delivered"} <= stages
    advisor = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS["advisor"]))
    mine = db.session.scalar(select(func.count(Lead.id)).where(Lead.advisor_id == advisor.id))
    assert mine >= 3
    assert db.session.scalar(select(func.count(Lead.id)).where(Lead.state == "lost_pending")) == 1
