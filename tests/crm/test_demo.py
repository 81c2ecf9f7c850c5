"""The CRM demo: leads in several stages for the demo advisor, loaded once."""

from __future__ import annotations

from flask_babel import force_locale
from sqlalchemy import func, select

from crm.demo import PLAN, load_crm_demo
from crm.models import Lead
from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, load_demo
from portal.models import User
from portal.timeutil import now


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


def test_call_centre_demo_gives_the_agent_a_day_and_loads_once(db, client, auth):
    from crm import lifecycle
    from crm.demo import AGENT_DAY, load_call_centre_demo
    from crm.models import Task

    load_demo(owners=12)
    db.session.commit()
    made = load_call_centre_demo()["tasks"]
    db.session.commit()
    assert made >= len(AGENT_DAY)
    assert load_call_centre_demo() == {"tasks": 0}
    agent = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS["agent"]))
    assert agent.role == "agent"
    tasks = db.session.scalars(select(Task).where(Task.owner_id == agent.id)).all()
    assert len(tasks) >= len(AGENT_DAY)
    assert any(t.overdue_at is not None for t in tasks)
    assert [t.status for t in tasks].count("awaiting") == 1
    # The lifecycle rules' calls, each with the reason the Today page shows.
    rules_made = {t.rule for t in db.session.scalars(select(Task).where(Task.rule.is_not(None)))}
    assert {"renewal_policy", "renewal_loan", "trade_in_3y"} <= rules_made
    advisor = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS["advisor"]))
    trade_in = db.session.scalar(select(Task).where(Task.rule == "trade_in_3y"))
    assert trade_in.owner_id == advisor.id and lifecycle.reason(trade_in)
    # A warranty the advisor entered, ending next month: its trade-in call is on their Today.
    warranty = db.session.scalar(select(Task).where(Task.rule == "trade_in_warranty"))
    assert warranty.owner_id == advisor.id and warranty.status == "open"
    assert warranty.due_at <= now()
    with force_locale("en"):
        shown = lifecycle.reason(warranty)
    assert shown.startswith("Warranty ends ")
    auth.login(advisor, DEMO_PASSWORD["advisor"])
    page = client.get("/admin/today/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert shown in page, page[page.find("<main") :][:3000]


def test_quality_demo_has_answered_surveys_complaints_and_a_late_one_and_loads_once(db):
    from crm import complaints, quality_stats
    from crm.quality_demo import load_quality_demo
    from crm.quality_models import Complaint, Survey

    load_demo(owners=12)
    db.session.commit()
    made = load_quality_demo()
    db.session.commit()
    assert made["surveys"] > 20 and made["open_complaints"] == 3
    assert load_quality_demo() == {"surveys": 0, "open_complaints": 0}
    answered = db.session.scalar(select(func.count(Survey.id)).where(Survey.nps.is_not(None)))
    low = db.session.scalar(select(func.count(Survey.id)).where(Survey.nps <= 6))
    from_surveys = db.session.scalar(
        select(func.count(Complaint.id)).where(Complaint.source == "survey")
    )
    assert answered > 10 and low == from_surveys > 0
    assert complaints.escalate()["managers"] >= 1  # the demo's late complaint
    manager = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS["manager"]))
    assert quality_stats.csi_by_month(manager)
    own = complaints.store_sla(manager.store_id)  # the demo store's own deadlines
    assert own["high"] == (1, 1) and own["low"] == complaints.SLA["low"]


def test_quality_demo_answers_the_survey_of_the_crm_demos_delivered_orders(db):
    from crm.pipeline_models import SalesOrder
    from crm.quality_demo import load_quality_demo
    from crm.quality_models import Survey

    load_demo(owners=12)
    load_crm_demo()
    db.session.commit()
    load_quality_demo()
    db.session.commit()
    delivered = db.session.scalars(select(SalesOrder).where(SalesOrder.delivered_at.is_not(None)))
    orders = {o.id for o in delivered}
    answered = db.session.scalars(
        select(Survey).where(Survey.kind == "delivery", Survey.nps.is_not(None))
    ).all()
    assert orders and {s.sales_order_id for s in answered} == orders
    assert all(len(s.answers) == 3 and s.csi is not None for s in answered)


def test_showroom_demo_books_visits_and_logs_two_weeks_and_loads_once(db):
    from crm import activity
    from crm.demo import load_call_centre_demo
    from crm.demo_showroom import VISITS, load_showroom_demo
    from crm.showroom_models import Invitation

    load_demo(owners=12)
    db.session.commit()
    load_call_centre_demo()
    db.session.commit()
    assert load_showroom_demo() == {"invitations": len(VISITS)}
    db.session.commit()
    assert load_showroom_demo() == {"invitations": 0}
    states = sorted(db.session.scalars(select(Invitation.status)))
    assert states == ["arrived", "invited", "invited", "no_show"]
    missed = db.session.scalar(select(Invitation).where(Invitation.status == "no_show"))
    assert missed.recovery_task.owner_id == missed.agent_id
    agent = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS["agent"]))
    from portal.timeutil import now

    overall, per_person = activity.completion(agent, agent.store, now().date(), 14)
    assert sum(v is not None for _, v in overall) >= 12
    assert len(per_person) == 1  # the agent sees only their own line
