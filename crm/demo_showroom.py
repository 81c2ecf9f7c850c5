"""Demo of the handoff to the showroom and each person's day: visits booked by the demo agent
(one arrived today, one expected, one tomorrow, one no-show back in the agent's queue) and two
weeks of logged calls and tasks, so the activity report and its charts have something to show."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from crm import invitations
from crm import leads as lead_svc
from crm.models import PHONE, TASK_DONE, Task
from crm.showroom_models import CallLog, Invitation
from portal.demo import DEMO_LOGINS, MODELS, chinese_name
from portal.extensions import db
from portal.models import User
from portal.models.accounts import ADVISOR, AGENT
from portal.timeutil import now

# (hours from now of the visit, what for, what happens): the demo agent's invitations.
VISITS = [
    (-2, "visit", "arrived"),
    (3, "test_drive", "expected"),
    (24 + 2, "visit", "expected"),
    (-26, "visit", "no_show"),
]
HISTORY_DAYS = 13


def load_showroom_demo(seed: int = 23) -> dict[str, int]:
    """Book the demo agent's visits and log two weeks of work (nothing if any visit exists)."""
    if db.session.scalar(select(Invitation.id).limit(1)) is not None:
        return {"invitations": 0}
    agent = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[AGENT]))
    advisor = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[ADVISOR]))
    if agent is None or advisor is None or advisor.store_id != agent.store_id:
        return {"invitations": 0}
    rng = random.Random(seed)
    at = now()
    made = 0
    for i, (hours, kind, fate) in enumerate(VISITS):
        brand, series, _wmi = MODELS[i % len(MODELS)]
        lead = lead_svc.capture(
            lead_svc.Inquiry(
                name=chinese_name(rng),
                phone=f"134{rng.randrange(10**8):08d}",
                store=advisor.store,
                source=PHONE,
                model_interest=f"{brand} {series}",
                timeframe="15d",
            ),
            actor=agent,
        ).lead
        visit = invitations.invite(
            agent, lead, at + timedelta(hours=1), kind=kind, advisor=advisor, note="电话邀约"
        )
        if fate == "arrived":
            invitations.check_in(advisor, visit)
            visit.arrived_at = at + timedelta(hours=hours, minutes=-5)
        visit.starts_at = at + timedelta(hours=hours)
        visit.created_at = at - timedelta(days=1)
        made += 1
    db.session.flush()
    invitations.mark_no_shows()  # yesterday's visit that nobody checked in
    _history(rng, [agent, advisor], at)
    return {"invitations": made}


def _history(rng: random.Random, people: list[User], at) -> None:
    """Log past days' calls and tasks: most done on their day, some late, a few left."""
    customers = db.session.scalars(
        select(User.id)
        .where(User.role == "owner", User.store_id == people[0].store_id)
        .order_by(User.id)
        .limit(8)
    ).all()
    if not customers:
        return
    for days_ago in range(HISTORY_DAYS, 0, -1):
        day = at - timedelta(days=days_ago)
        for person in people:
            for n in range(rng.randint(3, 6)):
                due = day.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=40 * n)
                late = rng.random() < 0.2
                done = due + timedelta(days=1 if late else 0, minutes=20)
                task = Task(
                    customer_id=customers[(days_ago + n) % len(customers)],
                    store_id=person.store_id,
                    owner_id=person.id,
                    kind="follow_up",
                    status=TASK_DONE,
                    outcome="reached",
                    attempts=1,
                    due_at=due,
                    done_at=done,
                    created_at=due - timedelta(days=1),
                )
                db.session.add(task)
                db.session.flush()
                db.session.add(
                    CallLog(
                        task_id=task.id,
                        actor_id=person.id,
                        store_id=person.store_id,
                        outcome="reached",
                        at=done,
                    )
                )
