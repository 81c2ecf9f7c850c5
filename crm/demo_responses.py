"""Demo responders of the demo's winter campaign (crm.demo_marketing): it is finished, a third
of its recipients opened their link, a few asked to be called from the offer page, a few
replied by SMS (one with TD) and became leads in the pipeline (idempotent: once)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import exists, insert, select, update

from crm import campaign_responses, campaign_schedule
from crm.campaign_models import (
    DELIVERED,
    PENDING,
    Campaign,
    CampaignMember,
    CampaignResponse,
    CampaignSend,
)
from crm.demo_marketing import WINTER_NAME
from crm.returns import LEFT
from crm.segments import has_consent
from portal.extensions import db
from portal.models import User

NOTES = ["想问问冬季套餐包含哪些项目", "周末能不能做？", "Can I bring the car on Saturday?"]
REPLIES = ["周六上午有空位吗？", "电瓶最近打火有点慢，想来查一下", "TD", "好的，下周过去"]


def load_responses_demo(seed: int = 29) -> dict[str, int]:
    """Make the winter campaign's clicks, replies and leads once."""
    if db.session.scalar(select(CampaignResponse.id).limit(1)) is not None:
        return {"responses": 0}
    campaign = db.session.scalar(select(Campaign).where(Campaign.name == WINTER_NAME))
    if campaign is None or campaign.sent_at is None:
        return {"responses": 0}
    rng = random.Random(seed)
    _deliver_waiting(campaign)
    _texted(campaign)
    campaign_schedule.finish_if_done(campaign.id)
    sends = db.session.scalars(
        select(CampaignSend)
        .where(CampaignSend.campaign_id == campaign.id, CampaignSend.status.in_(LEFT))
        .order_by(CampaignSend.id)
    ).all()
    clicked = [s for s in sends if s.channel != "sms" and rng.random() < 0.35]
    for send in clicked:
        send.clicked_at = campaign.sent_at + timedelta(hours=rng.randrange(1, 72))
    made = []
    for send, note in zip(clicked, NOTES, strict=False):
        made.append(campaign_responses.leave_details(send, note))
    texted = [s for s in sends if s.channel == "sms"]
    for send, text in zip(texted, REPLIES, strict=False):
        phone = db.session.get(User, send.customer_id).phone
        inbound = campaign_responses.Inbound(f"demo:{send.id}", phone, text)
        found = campaign_responses.receive_sms(inbound)
        if found is not None:
            made.append(found)
    for response in made:  # they answered in the days after the send
        response.at = campaign.sent_at + timedelta(hours=rng.randrange(2, 120))
    db.session.flush()
    return {
        "clicks": len(clicked),
        "responses": len(made),
        "leads": len({r.lead_id for r in made if r.lead_id}),
    }


def _deliver_waiting(campaign: Campaign) -> None:
    """Loaded at night, the demo's batches waited: they went out when it was sent."""
    db.session.execute(
        update(CampaignSend)
        .where(CampaignSend.campaign_id == campaign.id, CampaignSend.status == PENDING)
        .values(status=DELIVERED, queued_at=campaign.sent_at)
        .execution_options(synchronize_session=False)
    )


def _texted(campaign: Campaign) -> None:
    """The demo has no SMS provider: record the SMS the store's provider delivered then."""
    member = CampaignMember.customer_id
    texted = exists().where(
        CampaignSend.campaign_id == campaign.id,
        CampaignSend.customer_id == member,
        CampaignSend.channel == "sms",
    )
    ids = db.session.scalars(
        select(member)
        .join(User, User.id == member)
        .where(
            CampaignMember.campaign_id == campaign.id,
            CampaignMember.holdout.is_(False),
            User.phone.is_not(None),
            has_consent("sms", member),
            ~texted,
        )
        .order_by(member)
        .limit(12)
    ).all()
    if ids:
        db.session.execute(
            insert(CampaignSend),
            [
                {
                    "campaign_id": campaign.id,
                    "customer_id": i,
                    "channel": "sms",
                    "status": DELIVERED,
                    "created_at": campaign.sent_at,
                    "queued_at": campaign.sent_at,
                }
                for i in ids
            ],
        )
