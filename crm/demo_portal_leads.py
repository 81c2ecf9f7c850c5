"""Demo: leads the portal brings besides new-car interest: buyers who asked about the demo
store's listed used cars, and owners who asked for a trade-in valuation."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from crm import trade_in
from crm.demo import _backdate
from crm.leads import Inquiry
from crm.models import TRADE_IN_VALUATION, USED_CAR, Lead
from crm.used_car_leads import inquire
from portal.demo import chinese_name
from portal.extensions import db
from portal.models import Store, UsedCarRequest, User, Vehicle
from portal.models.accounts import OWNER
from portal.models.usedcars import LISTED

# What buyers write, and how long ago (minutes): one fresh enough to be called now.
QUESTIONS = (
    ("车况和照片一致吗？周六能来看车吗", 3),
    ("价格还能谈吗？可以置换我的旧车吗", 95),
    ("有没有泡水、火烧记录？能做第三方检测吗", 60 * 26),
)


def load_portal_leads_demo(seed: int = 23) -> dict[str, int]:
    """Three buyers' inquiries about listed cars (nothing happens if any exists), and the
    trade-in valuations."""
    if db.session.scalar(select(Lead.id).where(Lead.source == USED_CAR).limit(1)) is not None:
        return {"used_car_leads": 0, "trade_ins": 0}
    cars = db.session.scalars(
        select(UsedCarRequest).where(UsedCarRequest.status == LISTED).order_by(UsedCarRequest.id)
    ).all()
    if not cars:
        return {"used_car_leads": 0, "trade_ins": 0}
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
    return {"used_car_leads": made, "trade_ins": _trade_ins(rng)}


def _trade_ins(rng: random.Random) -> int:
    """Two owners of the demo store ask what their own car is worth, a visitor describes hers."""
    owners = db.session.scalars(
        select(User)
        .where(User.role == OWNER, User.phone.is_not(None), User.store_id.is_not(None))
        .where(select(Vehicle.id).where(Vehicle.owner_id == User.id).exists())
        .order_by(User.id.desc())
        .limit(2)
    ).all()
    made = 0
    for owner in owners:
        car = db.session.scalars(
            select(Vehicle).where(Vehicle.owner_id == owner.id).order_by(Vehicle.id).limit(1)
        ).one()
        store = db.session.get(Store, owner.store_id)
        inquiry = Inquiry(owner.name, owner.phone, store, TRADE_IN_VALUATION, language="zh_CN")
        made += trade_in.ask_valuation(inquiry, trade_in.of_vehicle(car)).created
    if owners:
        store = db.session.get(Store, owners[0].store_id)
        visitor = Inquiry(
            chinese_name(rng),
            f"137{rng.randrange(10**8):08d}",
            store,
            TRADE_IN_VALUATION,
            model_interest="新能源SUV",
            note="下周末方便到店",
            language="zh_CN",
        )
        made += trade_in.ask_valuation(
            visitor, trade_in.TradeInCar("本田", "思域", 2016, 98_000)
        ).created
    return made
