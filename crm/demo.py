"""Demo leads for the demo advisor's store, in several stages (idempotent)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from crm import leads as svc
from crm import pipeline_demo
from crm.models import PHONE, PORTAL, TEST_DRIVE, WALK_IN, Lead
from portal.demo import DEMO_LOGINS, MODELS, chinese_name
from portal.extensions import db
from portal.models import User
from portal.models.accounts import ADVISOR

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
        _backdate(lead, timedelta(minutes=minutes_ago))
        pipeline_demo.backdate(lead, timedelta(minutes=minutes_ago))
        if lead.stage == TEST_DRIVE:
            pipeline_demo.upcoming_drive(worker, lead, cars)
    db.session.flush()
    return {"leads": len(PLAN)}


def _backdate(lead: Lead, delta: timedelta) -> None:
    """Move the lead and its records back in time, keeping their order."""
    lead.created_at -= delta
    lead.updated_at -= delta
    if lead.first_contact_at:
        lead.first_contact_at -= delta - timedelta(minutes=4)
    for task in lead.tasks:
        task.due_at -= delta
        task.created_at -= delta
        if task.done_at:
            task.done_at -= delta - timedelta(minutes=4)
    for event in lead.events:
        if event.at is not None:
            event.at -= delta
