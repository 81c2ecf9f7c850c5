"""Demo service quality: a year of answered CSI surveys on the demo's completed jobs and on its
new-car deliveries, the
complaints their low scores opened (most resolved, some reopened), and a few open ones in the
demo advisor's store, one of them late (idempotent: nothing happens if a survey exists)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from crm import complaints, surveys
from crm.pipeline_models import SalesOrder
from crm.quality_models import (
    C_ACKNOWLEDGED,
    C_CLOSED,
    C_REOPENED,
    C_RESOLVED,
    CATEGORIES,
    DELIVERY,
    Complaint,
    ComplaintSla,
    Survey,
)
from portal.demo import DEMO_LOGINS
from portal.extensions import db
from portal.models import Booking, ServiceRecord, Store, User, Vehicle
from portal.models.accounts import ADVISOR
from portal.services import brands
from portal.timeutil import now

PER_STORE = 150  # completed jobs surveyed in each store
COMMENTS_LOW = ("等了太久", "收费和报价不一致", "车洗得不干净", "异响没有修好", "顾问态度一般")
COMMENTS_HIGH = ("服务很好", "顾问讲解很清楚", "准时交车", "")
RESOLUTIONS = ("已致电道歉并赠送保养券", "已免费返修", "已退还差价", "已安排技师复检")


def _nps(rng: random.Random, advisor_id: int | None) -> int:
    # Advisors differ a little, so the per-advisor chart has something to say.
    lift = (advisor_id or 0) % 3
    return min(10, max(0, round(rng.gauss(7.6 + 0.6 * lift, 2.0))))


def _history(rng: random.Random) -> int:
    rows = []
    brand_of = brands.brand_matcher()  # each job's survey and complaint carry its car's brand
    for store_id in db.session.scalars(select(Store.id).order_by(Store.id)):
        rows += db.session.execute(
            select(ServiceRecord.booking_id, ServiceRecord.completed_at, Booking.owner_id)
            .add_columns(Booking.store_id, Booking.advisor_id, Vehicle.brand)
            .join(Booking, Booking.id == ServiceRecord.booking_id)
            .join(Vehicle, Vehicle.id == Booking.vehicle_id)
            .where(ServiceRecord.store_id == store_id)
            .where(ServiceRecord.completed_at < now() - timedelta(days=3))
            .where(ServiceRecord.completed_at >= now() - timedelta(days=330))
            .order_by(ServiceRecord.completed_at.desc())
            .limit(PER_STORE)
        ).all()
    made = 0
    for booking_id, done, owner_id, store_id, advisor_id, make in rows:
        survey = Survey(
            booking_id=booking_id,
            brand_id=brand_of(make),
            customer_id=owner_id,
            store_id=store_id,
            advisor_id=advisor_id,
            sent_at=done + timedelta(hours=2),
            answers=[],
            comment="",
        )
        db.session.add(survey)
        made += 1
        if rng.random() < 0.25:  # not everyone answers
            survey.reminded_at = done + timedelta(days=2, hours=2)
            continue
        nps = _nps(rng, advisor_id)
        scores = [min(5, max(1, round(nps / 2.2) + rng.choice((-1, 0, 0, 1)))) for _ in range(3)]
        survey.nps, survey.answered_at = nps, done + timedelta(hours=rng.randint(3, 40))
        survey.answers = [
            {"q": zh, "q_en": en, "a": s}
            for (zh, en), s in zip(surveys.DEFAULT_QUESTIONS, scores, strict=True)
        ]
        survey.csi = round(sum(s - 1 for s in scores) * 100 / 12)
        low = nps <= surveys.COMPLAINT_AT_OR_BELOW
        survey.comment = rng.choice(COMMENTS_LOW if low else COMMENTS_HIGH)
        if low:
            db.session.flush()
            _closed_complaint(rng, survey)
    return made


def _closed_complaint(rng: random.Random, survey: Survey) -> None:
    """The complaint a low score opened, handled in the past: closed, resolved or reopened."""
    opened = survey.answered_at
    severity = "high" if survey.nps <= 3 else "medium"
    ack, resolve = complaints.SLA[severity]
    ack_at = opened + timedelta(hours=rng.uniform(0.3, ack * 1.6))
    resolved_at = ack_at + timedelta(days=rng.uniform(0.2, resolve * 1.4))
    status = rng.choices((C_CLOSED, C_RESOLVED, C_REOPENED), weights=(75, 15, 10))[0]
    db.session.add(
        Complaint(
            customer_id=survey.customer_id,
            store_id=survey.store_id,
            booking_id=survey.booking_id,
            survey_id=survey.id,
            brand_id=survey.brand_id,
            source="survey",
            category=rng.choice(CATEGORIES),
            severity=severity,
            description=survey.comment,
            advisor_id=survey.advisor_id,
            status=status if status != C_REOPENED else C_ACKNOWLEDGED,
            ack_due_at=opened + timedelta(hours=ack),
            resolve_due_at=opened + timedelta(days=resolve),
            acknowledged_at=ack_at,
            resolved_at=resolved_at,
            closed_at=resolved_at + timedelta(days=1) if status == C_CLOSED else None,
            resolution=rng.choice(RESOLUTIONS),
            reopened=1 if status == C_REOPENED else 0,
            created_at=opened,
        )
    )


def _open_ones(advisor: User) -> int:
    """Three complaints in the demo advisor's store today, on the store's own deadlines: one
    of them already late."""
    store = db.session.get(Store, advisor.store_id)
    # The demo store answers faster than the group's defaults for its serious complaints.
    for severity, hours, days in (("high", 1, 1), ("medium", 4, 2)):
        db.session.add(
            ComplaintSla(store_id=store.id, severity=severity, ack_hours=hours, resolve_days=days)
        )
    db.session.flush()
    jobs = db.session.scalars(
        select(Booking)
        .where(Booking.store_id == store.id, Booking.status == "completed")
        .order_by(Booking.id.desc())
        .limit(3)
    ).all()
    plan = (
        ("phone", "waiting", "high"),
        ("walk_in", "price", "medium"),
        ("portal", "quality", "low"),
    )
    made = 0
    for booking, (source, category, severity) in zip(jobs, plan, strict=False):
        complaint = complaints.open_complaint(
            booking.owner,
            store,
            source=source,
            category=category,
            severity=severity,
            description=rng_text(category),
            booking=booking,
            entered_by=advisor if source != "portal" else None,
        )
        if severity == "high":  # received yesterday: past its deadline, the worker escalates
            complaint.created_at -= timedelta(days=1)
            complaint.ack_due_at -= timedelta(days=1)
            complaint.resolve_due_at -= timedelta(days=1)
        made += 1
    return made


def rng_text(category: str) -> str:
    return {
        "waiting": "预约十点到店，等到十二点才开始做。",
        "price": "结算金额比报价高了三百元，没人解释。",
    }.get(category, "保养后仪表盘仍有故障灯。")


DELIVERY_COMMENTS = ("销售顾问讲解很耐心", "交车仪式很用心", "手续办得很快", "")


def _deliveries(rng: random.Random) -> int:
    """Answer the survey of every delivered demo order, as its customer would have."""
    made = 0
    for order in db.session.scalars(
        select(SalesOrder).where(SalesOrder.delivered_at.is_not(None)).order_by(SalesOrder.id)
    ):
        scores = [rng.choice((4, 5, 5)) for _ in surveys.DEFAULT_DELIVERY_QUESTIONS]
        db.session.add(
            Survey(
                kind=DELIVERY,
                sales_order_id=order.id,
                brand_id=order.brand_id,
                customer_id=order.customer_id,
                store_id=order.store_id,
                advisor_id=order.advisor_id,
                sent_at=order.delivered_at + timedelta(hours=2),
                answered_at=order.delivered_at + timedelta(hours=rng.randint(3, 30)),
                nps=rng.choice((8, 9, 10, 10)),
                answers=[
                    {"q": zh, "q_en": en, "a": a}
                    for (zh, en), a in zip(surveys.DEFAULT_DELIVERY_QUESTIONS, scores, strict=True)
                ],
                csi=round(sum(a - 1 for a in scores) * 100 / (4 * len(scores))),
                comment=rng.choice(DELIVERY_COMMENTS),
            )
        )
        made += 1
    return made


def load_quality_demo(seed: int = 23) -> dict[str, int]:
    """Load the surveys and complaints once."""
    if db.session.scalar(select(Survey.id).limit(1)) is not None:
        return {"surveys": 0, "open_complaints": 0}
    rng = random.Random(seed)
    made = _history(rng) + _deliveries(rng)
    advisor = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[ADVISOR]))
    opened = _open_ones(advisor) if advisor is not None and advisor.store_id else 0
    db.session.flush()
    return {"surveys": made, "open_complaints": opened}
