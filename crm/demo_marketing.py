"""Demo marketing for the demo manager's store: consents, segments, a sent campaign with its
return, a sent campaign with a shop coupon (crm.demo_coupons), a draft, one scheduled for a
later morning, and the built-in "maintenance due but not booked" switched on (idempotent)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update

from crm import builtins, campaign_schedule, campaign_sending, campaigns, recalls
from crm.campaign_models import BIRTHDAY, MAINTENANCE_DUE, Campaign, CampaignSend, Segment
from crm.demo_coupons import coupon_campaign
from portal.demo import DEMO_LOGINS
from portal.extensions import db
from portal.models import MarketingConsent, User, Vehicle
from portal.models.accounts import MANAGER, OWNER
from portal.timeutil import now

SEGMENTS = [
    ("三年以上车龄 · Cars over 3 years", {"field": "car_age_years", "op": "gte", "value": 3}),
    (
        "近一年消费满 2000 元 · Spent ¥2,000 in a year",
        {"field": "spend_fen", "op": "gte", "value": 200_000, "days": 365},
    ),
    (
        "同意站内信且无预约 · In-app consent, no booking",
        {
            "all": [
                {"field": "consent", "op": "has", "value": "inapp"},
                {"not": {"field": "open_booking", "op": "is", "value": True}},
            ]
        },
    ),
]
WINTER = {
    "subject_zh": "{name}，冬季养护九折",
    "body_zh": "{name}您好！{store}冬季养护套餐九折，含电瓶、防冻液检测，名额有限，欢迎在线预约。",
    "subject_en": "{name}, 10% off winter care",
    "body_en": "Hello {name}! Winter care at {store} is 10% off, battery and coolant checks "
    "included. Book online while places last.",
}

# The sent campaign is an A/B test: half of those reached read a free car wash instead.
WINTER_B = {
    "body_zh": "{name}您好！{store}冬季养护套餐含电瓶、防冻液检测，"
    "本月到店再送精洗一次，欢迎在线预约。",
    "body_en": "Hello {name}! Winter care at {store} checks battery and coolant, and this "
    "month your car gets a free wash too. Book online.",
}

WINTER_NAME = "冬季养护九折 · Winter care"  # the sent campaign (its responders: crm.demo_responses)

SPRING = {
    "subject_zh": "{name}，春节前来做个保养",
    "body_zh": "{name}您好！春节出行前，{store}为您免费检测轮胎、刹车和灯光，保养工时八五折。",
    "subject_en": "{name}, a service before the Spring Festival",
    "body_en": "Hello {name}! Before your Spring Festival trip, {store} checks tyres, brakes "
    "and lights for free, with 15% off service labour.",
}


def load_marketing_demo(seed: int = 23) -> dict[str, int]:
    """Create the demo marketing data once (nothing happens if any segment exists)."""
    if db.session.scalar(select(Segment.id).limit(1)) is not None:
        return {"segments": 0}
    manager = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[MANAGER]))
    if manager is None or manager.store is None:
        return {"segments": 0}
    store, rng = manager.store, random.Random(seed)
    owners = db.session.scalars(
        select(User.id).where(User.role == OWNER, User.store_id == store.id).order_by(User.id)
    ).all()
    demo_owner = db.session.scalar(select(User.id).where(User.phone == DEMO_LOGINS[OWNER]))
    rows = []
    for owner_id in owners:
        for channel, share in (("inapp", 0.7), ("email", 0.4), ("sms", 0.3)):
            if owner_id == demo_owner and channel == "inapp" or rng.random() < share:
                rows.append(
                    {
                        "user_id": owner_id,
                        "channel": channel,
                        "granted_at": now() - timedelta(days=rng.randrange(5, 400)),
                    }
                )
    if rows:
        db.session.execute(insert(MarketingConsent), rows)
    made = [campaigns.save_segment(manager, store, name, rule) for name, rule in SEGMENTS]
    sent = _sent_campaign(manager, made[2])
    voucher = coupon_campaign(manager)
    draft = campaigns.Draft("新车主首保提醒 · First service", made[0], {"inapp": WINTER}, {}, 10)
    campaigns.create_campaign(manager, draft)
    _scheduled_campaign(manager, made[1])
    builtins.switch(manager, store, MAINTENANCE_DUE, True)
    builtins.switch(manager, store, BIRTHDAY, True)
    _recall(manager, store)
    db.session.flush()
    return {
        "segments": len(made) + 2,  # and the coupon campaign's and the recall's
        "campaigns": 4,
        "audience": sent.audience,
        "coupons": voucher.audience,
    }


def _recall(manager: User, store) -> None:
    """A manufacturer's recall of a few of the store's cars, uploaded but not sent yet."""
    vins = db.session.scalars(
        select(Vehicle.vin)
        .join(User, User.id == Vehicle.owner_id)
        .where(User.store_id == store.id)
        .order_by(Vehicle.id)
        .limit(6)
    ).all()
    if vins:
        checked = recalls.check_table([["车架号"], *([v] for v in vins)])
        recalls.save_list(manager, store, "SVW-2026-R07 后悬架螺栓", checked)


def _scheduled_campaign(manager: User, segment: Segment) -> Campaign:
    """A campaign the worker sends at 10:00 (store time) three days from now."""
    draft = campaigns.Draft(
        "春节前保养 · Service before the Spring Festival",
        segment,
        {"inapp": SPRING, "email": SPRING},
        {"email": 1},
        holdout_pct=10,
        cost_fen=20_000,
    )
    campaign = campaigns.create_campaign(manager, draft)
    zone = ZoneInfo(manager.store.timezone)
    day = (now().astimezone(zone) + timedelta(days=3)).date()
    morning = datetime.combine(day, time(10, 0), tzinfo=zone).astimezone(UTC)
    campaign_schedule.schedule(campaign, morning)
    return campaign


def _sent_campaign(manager: User, segment: Segment) -> Campaign:
    draft = campaigns.Draft(
        WINTER_NAME,
        segment,
        {"inapp": WINTER, "email": WINTER, "sms": WINTER},
        {"sms": 5, "email": 1},
        holdout_pct=10,
        cost_fen=50_000,
        window_days=14,
        texts_b={"inapp": WINTER_B, "sms": WINTER_B},
        variant_b_pct=50,
    )
    campaign = campaigns.start(manager, campaigns.create_campaign(manager, draft))
    while campaign_sending.queue_batch(campaign.id, 500):
        pass  # nothing in quiet hours: the worker sends it in the morning
    campaign_schedule.finish_if_done(campaign.id)
    # Sent six days ago: the demo's bookings and orders since then count as its outcomes.
    db.session.refresh(campaign)
    campaign.sent_at -= timedelta(days=6)
    db.session.execute(
        update(CampaignSend)
        .where(CampaignSend.campaign_id == campaign.id)
        .values(created_at=campaign.sent_at)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return campaign
