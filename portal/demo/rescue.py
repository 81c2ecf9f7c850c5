"""Demo roadside rescues in every state, so the queue, the status pages and the charts show."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import Rescue, User
from portal.services import rescue as svc
from portal.services.rescue import retention
from portal.timeutil import now

# (owner login, advisor login, problem, location, minutes ago, steps [(step, minutes later)])
DEMO_RESCUES = [
    ("13800000001", "13900000101", "flat_tyre", (22.5331, 113.9304, "深南大道科技园段 东行"),
     2 * 24 * 60, [("claim", 3), ("dispatch", 6), ("on_site", 35), ("resolve", 55)]),
    ("13800000007", "13900000102", "battery", (22.5196, 113.9410, ""),
     24 * 60, [("claim", 2), ("dispatch", 4), ("on_site", 28), ("resolve", 40)]),
    ("13800000009", "13900000103", "accident", (None, None, "滨海大道 后海立交 往福田方向"),
     5 * 24 * 60, [("claim", 7), ("dispatch", 10), ("on_site", 45), ("resolve", 120)]),
    ("13800000011", "13900000101", "breakdown", (22.5566, 113.8832, "宝安大道 西乡段"),
     40, [("claim", 2), ("dispatch", 5)]),
    ("13800000013", "13900000102", "locked_out", (22.5432, 113.9500, ""), 12, [("claim", 4)]),
    ("13800000015", None, "fuel", (None, None, "广深沿江高速 机场出口前 2 公里"), 8, []),
    ("13800000017", None, "other", (22.5901, 113.9712, "留仙大道 塘朗"), 1, []),
    ("13800000001", "13900000102", "battery", (22.5402, 113.9528, "科苑南路 软件产业基地停车场"),
     15, [("claim", 2), ("dispatch", 4)]),
    # Closed longer ago than the retention period: its location is already rounded to ~1 km.
    ("13800000003", "13900000103", "battery", (22.5476, 113.9362, "南山区 桃园路"),
     200 * 24 * 60, [("claim", 3), ("dispatch", 5), ("on_site", 30), ("resolve", 45)]),
]  # fmt: skip
# Which of the owner's cars a rescue is for, where not the first: the demo owner's first car
# is in the workshop, so their open rescue (on its way) is for the other one.
CAR_OF = {len(DEMO_RESCUES) - 1: -1}


def load_demo_rescues() -> int:
    """Create the demo rescues once (keyed per owner); return how many were created."""
    created = 0
    for i, (login, advisor_login, problem, where, ago, steps) in enumerate(DEMO_RESCUES):
        owner = db.session.scalar(select(User).where(User.phone == login))
        if owner is None or not owner.vehicles:
            continue
        lat, lng, address = where
        rescue, new = svc.request_rescue(
            owner,
            owner.vehicles[CAR_OF.get(i, 0)],
            problem=problem,
            callback_phone=login,
            idempotency_key=f"demo-rescue-{i:02d}-m4s",
            latitude=lat,
            longitude=lng,
            accuracy_m=15 if lat is not None else None,
            address=address,
        )
        if not new:
            continue
        created += 1
        advisor = db.session.scalar(select(User).where(User.phone == advisor_login))
        for step, _minutes in steps:
            if step == "claim":
                svc.claim(advisor, rescue)
            elif step == "dispatch":
                svc.dispatch(advisor, rescue, 25)
            elif step == "on_site":
                svc.arrive(advisor, rescue)
            else:
                svc.resolve(advisor, rescue, "已现场处理，车辆恢复正常行驶。")
        _backdate(rescue, ago, dict(steps))
        if rescue.resolved_at and rescue.resolved_at < now() - retention.retention():
            db.session.flush()
            retention.coarsen(rescue)  # what the worker's job does, audited the same way
    db.session.flush()
    return created


def _backdate(rescue: Rescue, ago: int, steps: dict[str, int]) -> None:
    """Spread the demo's timestamps over the past, so ages and timings look real."""
    start = now() - timedelta(minutes=ago)
    rescue.created_at = start
    for step, column in (("claim", "claimed_at"), ("dispatch", "dispatched_at"),
                         ("on_site", "on_site_at"), ("resolve", "resolved_at")):  # fmt: skip
        if step in steps:
            setattr(rescue, column, start + timedelta(minutes=steps[step]))
    if rescue.dispatched_at:  # help still on the way arrives in the future
        rescue.eta_at = max(
            rescue.dispatched_at + timedelta(minutes=25), now() + timedelta(minutes=15)
        )
    for event in rescue.events:
        offset = {"claimed": "claim", "dispatched": "dispatch", "on_site": "on_site",
                  "resolved": "resolve"}.get(event.kind)  # fmt: skip
        event.at = start + timedelta(minutes=steps.get(offset, 0))
    # The past is past: do not page today's managers about last week's demo rescues.
    if rescue.status != "received":
        rescue.unclaimed_escalated_at = rescue.claimed_at
