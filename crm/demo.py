"""Demo leads for the demo advisor's store, in several stages (idempotent)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from crm import leads as svc
from crm import pipeline_demo, rules
from crm import tasks as task_svc
from crm.models import PHONE, PORTAL, TEST_DRIVE, WALK_IN, Lead, Task
from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, MODELS, chinese_name
from portal.extensions import db
from portal.models import User
from portal.models.accounts import ADVISOR, AGENT
from portal.services import passwords
from portal.timeutil import now

# (source, timeframe, stages walked, minutes ago, lost reason asked)
PLAN = [
    (PORTAL, "7d", [], 12, None),  # overdue first contact: on top of "my leads"
    (PORTAL, "15d", [], 2, None),
    (PHONE, "30d", ["contacted"], 90, None),
    (WALK_IN, "7d", ["contacted", "visited", "test_drive"], 60 * 26, None),
    (PORTAL, "15d", ["contacted", "visited", "test_drive", "quote"], 60 * 50, None),
    (WALK_IN, "7d", ["contacted", "visited", "test_drive", "quote", "order"], 60 * 72, None),
    (PHONE, "90d", ["contacted"], 60 * 100, "competitor"),
    (
        PORTAL,
        "later",
        ["contacted", "visited", "test_drive", "quote", "order", "delivered"],
        60 * 24 * 20,
        None,
    ),
]


def load_crm_demo(seed: int = 17) -> dict[str, int]:
    """Create a few leads in the demo store (nothing happens if any lead exists)."""
    if db.session.scalar(select(Lead.id).limit(1)) is not None:
        return {"leads": 0}
    advisor = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[ADVISOR]))
    if advisor is None or advisor.store is None:
        return {"leads": 0}
    rng = random.Random(seed)
    cars = pipeline_demo.demo_cars(advisor.store)
    for i, (source, timeframe, stages, minutes_ago, lost) in enumerate(PLAN):
        brand, series, _wmi = MODELS[i % len(MODELS)]
        lead = svc.capture(
            svc.Inquiry(
                name=chinese_name(rng),
                phone=f"135{rng.randrange(10**8):08d}",
                store=advisor.store,
                source=source,
                model_interest=f"{brand} {series}",
                budget_fen=rng.choice([15, 20, 25, 30]) * 10_000_00,
                timeframe=timeframe,
                wants_test_drive=i % 2 == 0,
                utm_source="autohome" if source == PORTAL else "",
            )
        ).lead
        if i < 3:
            lead.advisor_id = advisor.id  # the demo advisor's own day starts with these
            lead.tasks[0].owner_id = advisor.id
        worker = db.session.get(User, lead.advisor_id) if lead.advisor_id else None
        for stage in stages[: stages.index(TEST_DRIVE) if TEST_DRIVE in stages else None]:
            svc.advance(worker, lead, stage)
        pipeline_demo.walk(rng, worker, lead, stages, cars, i)
        if lost:
            svc.request_lost(worker, lead, lost)
        after = min(CONTACT_AFTER[i % len(CONTACT_AFTER)], minutes_ago)  # never in the future
        _backdate(lead, timedelta(minutes=minutes_ago), after)
        pipeline_demo.backdate(lead, timedelta(minutes=minutes_ago))
        if lead.stage == TEST_DRIVE:
            pipeline_demo.upcoming_drive(worker, lead, cars)
    db.session.flush()
    return {"leads": len(PLAN)}


# Minutes from arrival to first contact, lead by lead: most within the 5-minute target, some
# late, as on a real floor (speed to lead and the sales funnel show the spread).
CONTACT_AFTER = (2, 4, 3, 7, 1, 12, 4, 2, 26, 5, 3, 9)


def _backdate(lead: Lead, delta: timedelta, contact_after: int = 4) -> None:
    """Move the lead and its records back in time, keeping their order; the first contact
    lands contact_after minutes after the lead arrived."""
    lead.created_at -= delta
    lead.updated_at -= delta
    contacted = delta - timedelta(minutes=contact_after)
    if lead.first_contact_at:
        lead.first_contact_at -= contacted
    for task in lead.tasks:
        task.due_at -= delta
        task.created_at -= delta
        if task.done_at:
            task.done_at -= contacted
    for event in lead.events:
        if event.at is not None:
            event.at -= delta


def load_call_centre_demo() -> dict[str, int]:
    """Add the demo agent and a day of tasks: a leftover, today's calls, an approval (once)."""
    advisor = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[ADVISOR]))
    if advisor is None or advisor.store is None:
        return {"tasks": 0}
    if db.session.scalar(select(User.id).where(User.phone == DEMO_LOGINS[AGENT])) is not None:
        return {"tasks": 0}
    store = advisor.store
    agent = User(
        role=AGENT,
        name="林晓婷",
        phone=DEMO_LOGINS[AGENT],
        password_hash=passwords.hash_password(DEMO_PASSWORD[AGENT]),
        store_id=store.id,
        password_changed_at=now(),
    )
    db.session.add(agent)
    db.session.flush()
    customers = db.session.scalars(
        select(User)
        .where(User.role == "owner", User.store_id == store.id)
        .order_by(User.id)
        .limit(len(AGENT_DAY))
    ).all()
    at = now()
    made = 0
    for customer, (kind, hours, priority, note, tries) in zip(customers, AGENT_DAY, strict=False):
        task = Task(
            customer_id=customer.id,
            store_id=store.id,
            owner_id=agent.id,
            kind=kind,
            priority=priority,
            due_at=at + timedelta(hours=hours),
            note=note,
            attempts=tries,
            outcome="no_answer" if tries else None,
            overdue_at=at - timedelta(hours=15) if hours < -12 else None,
            created_at=at - timedelta(days=1),
        )
        db.session.add(task)
        made += 1
    db.session.flush()
    if made:
        manager = db.session.scalar(
            select(User).where(User.role == "manager", User.store_id == store.id)
        )
        asked = db.session.scalar(
            select(Task).where(Task.owner_id == agent.id, Task.attempts >= 3).limit(1)
        )
        if asked is not None and manager is not None:
            task_svc.ask(agent, asked, "clear", "连续三天拨打均无人接听，号码可能已停用")
    _lifecycle_causes(store, advisor)
    made += sum(rules.generate_tasks().values())
    made += _warranty_next_month(store, advisor)
    return {"tasks": made}


def _warranty_next_month(store, advisor: User) -> int:
    """The advisor enters the maker's four-year warranty of a customer's car, ending next
    month: the warranty rule has looked past that date already, so the trade-in call goes on
    the advisor's Today at once."""
    from zoneinfo import ZoneInfo

    from crm import trade_ins
    from portal.models import Vehicle
    from portal.services import vehicles
    from portal.timeutil import add_months

    customer = db.session.scalar(
        select(User)
        .where(User.role == "owner", User.store_id == store.id)
        .order_by(User.id.desc())
        .offset(3)  # the store's last three customers have the other lifecycle causes
        .limit(1)
    )
    if customer is None or not customer.vehicles:
        return 0
    car: Vehicle = customer.vehicles[0]
    customer.advisor_id = advisor.id
    ends = add_months(now().astimezone(ZoneInfo(store.timezone)).date(), 1)
    car.purchase_date = add_months(ends, -48)
    vehicles.set_warranty(advisor, car, ends)
    return trade_ins.warranty_entered(car, now())


def _lifecycle_causes(store, advisor: User) -> None:
    """Give three more customers what the lifecycle rules call about (each inside the last
    week before its default 30 days): a policy ending in 28 days and a loan in 27 (the
    agent's renewal calls), a car turning 3 in 26 days (the advisor's trade-in call)."""
    from zoneinfo import ZoneInfo

    from portal.models import InsurancePolicy, Loan, Vehicle
    from portal.timeutil import add_months

    today = now().astimezone(ZoneInfo(store.timezone)).date()
    customers = db.session.scalars(
        select(User)
        .where(User.role == "owner", User.store_id == store.id)
        .order_by(User.id.desc())  # the store's last customers: the agent's day has the first
        .limit(3)
    ).all()
    if len(customers) < 3:
        return
    insured, borrower, driver = customers
    ends = today + timedelta(days=28)
    db.session.add(
        InsurancePolicy(
            customer_id=insured.id,
            vehicle_id=insured.vehicles[0].id if insured.vehicles else None,
            store_id=store.id,
            insurer="中国人保",
            policy_number=f"PDAA{today:%Y}{insured.id:08d}",
            coverage="combined",
            premium_fen=4_860_00,
            starts_on=add_months(ends, -12),
            ends_on=ends,
        )
    )
    start = add_months(today + timedelta(days=27), -36)
    db.session.add(
        Loan(
            customer_id=borrower.id,
            store_id=store.id,
            lender="上汽通用汽车金融",
            principal_fen=80_000_00,
            annual_rate_bp=399,
            term_months=36,
            start_date=start,
        )
    )
    car: Vehicle | None = driver.vehicles[0] if driver.vehicles else None
    if car is not None:
        driver.advisor_id = advisor.id
        car.purchase_date = add_months(today + timedelta(days=26), -36)
        car.warranty_ends_on = add_months(car.purchase_date, 60)  # the maker's five years
    db.session.flush()


# The demo agent's day: (kind, due in hours from now, priority, note, tries so far).
AGENT_DAY = [
    ("post_service", -20, 2, "昨天未完成：保养后回访", 1),
    ("post_service", -3, 3, "号码多次无人接听", 3),
    ("renewal", -1, 1, "交强险 12 月 20 日到期", 0),
    ("maintenance_due", 1, 2, "已超保养里程 800 公里", 0),
    ("appointment_confirm", 2, 1, "周六上午 10 点试驾确认", 0),
    ("complaint_callback", 3, 1, "客户反映洗车不干净，已安排返工", 0),
    ("no_show", 4, 2, "昨天预约未到店", 0),
]
