"""Demo: buyers who asked about the demo store's listed used cars, as leads of the CRM."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from crm.demo import _backdate
from crm.models import USED_CAR, Lead
from crm.used_car_leads import inquire
from portal.demo import chinese_name
from portal.extensions import db
from portal.models import UsedCarRequest
from portal.models.usedcars import LISTED

# What buyers write, and how long ago (minutes): one fresh enough to be called now.
QUESTIONS = (
    ("车况和照片一致吗？周六能来看车吗", 3),
    ("价格还能谈吗？可以置换我的旧车吗", 95),
    ("有没有泡水、火烧记录？能做第三方检测吗", 60 * 26),
)


def load_used_car_leads_demo(seed: int = 23) -> dict[str, int]:
    """Three buyers' inquiries about listed cars (nothing happens if any exists)."""
    if db.session.scalar(select(Lead.id).where(Lead.source == USED_CAR).limit(1)) is not None:
        return {"used_car_leads": 0}
    cars = db.session.scalars(
        select(UsedCarRequest).where(UsedCarRequest.status == LISTED).order_by(UsedCarRequest.id)
    ).all()
    if not cars:
        return {"used_car_leads": 0}
    rng = random.Random(seed)
    made = 0
    for i, (question, minutes_ago) in enumerate(QUESTIONS):
        got = inquire(
            cars[i % len(cars)],
            name=chinese_name(rng),
            phone=f"136{rng.randrange(10**8):08d}",
            message=question,
            language="zh_CN",
        )
        if got.created:
            _backdate(got.lead, timedelta(minutes=minutes_ago), contact_after=min(5, minutes_ago))
            made += 1
    db.session.flush()
    return {"used_car_leads": made}
