"""Responders become work: a reached campaign member who books within the campaign's window
gets a follow-up call from their advisor, once per member.

The response is the one crm.returns counts (a booking not rejected or cancelled, made within
the window after the send) by a member the campaign actually reached (a send that left). The
task is keyed by rule "campaign_reply" and cause "campaign:<id>:<customer>", inserted with
ON CONFLICT DO NOTHING on that unique pair, so workers running at once make it once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, exists, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crm.campaign_models import DONE, PAUSED, SENDING, Campaign, CampaignMember, CampaignSend
from crm.models import FOLLOW_UP, HIGH, Task
from crm.returns import LEFT
from portal.extensions import db
from portal.models import Booking, User
from portal.models.bookings import CANCELLED, REJECTED
from portal.timeutil import now

RULE = "campaign_reply"
LONGEST_WINDOW = timedelta(days=180)  # crm_campaigns.window_range


def cause(campaign_id: int, customer_id: int) -> str:
    """Return the task's cause for one member of one campaign."""
    return f"campaign:{campaign_id}:{customer_id}"


def follow_up_responders() -> int:
    """Create the advisor's call for each new responder of a campaign in its window (the
    worker's job); return how many tasks went in."""
    at = now()
    campaigns = db.session.execute(
        select(
            Campaign.id, Campaign.name, Campaign.store_id, Campaign.sent_at, Campaign.window_days
        ).where(
            Campaign.status.in_((SENDING, PAUSED, DONE)),
            Campaign.sent_at >= at - LONGEST_WINDOW,
        )
    ).all()
    made = 0
    for campaign_id, name, store_id, sent_at, window_days in campaigns:
        end = sent_at + timedelta(days=window_days)
        if end < at - timedelta(days=1):
            continue  # the window closed a day ago: its responders were all seen
        made += _follow_up(campaign_id, name, store_id, sent_at, end, at)
    return made


def _follow_up(campaign_id: int, name: str, store_id: int, start, end, at) -> int:
    member = CampaignMember.customer_id
    reached = exists().where(
        CampaignSend.campaign_id == campaign_id,
        CampaignSend.customer_id == member,
        CampaignSend.status.in_(LEFT),
    )
    booked = (
        select(func.min(Booking.created_at))
        .where(
            Booking.owner_id == member,
            Booking.created_at >= start,
            Booking.created_at < end,
            Booking.status.not_in((REJECTED, CANCELLED)),
        )
        .scalar_subquery()
    )
    stmt = (
        select(member, User.advisor_id, booked.label("booked"))
        .join(User, User.id == member)
        .where(
            and_(CampaignMember.campaign_id == campaign_id, CampaignMember.holdout.is_(False)),
            reached,
            booked.is_not(None),
        )
    )
    rows = [
        {
            "lead_id": None,
            "customer_id": customer_id,
            "store_id": store_id,
            "owner_id": advisor_id,
            "kind": FOLLOW_UP,
            "priority": HIGH,
            "status": "open",
            "due_at": at,
            "rule": RULE,
            "cause": cause(campaign_id, customer_id),
            "note": name,  # the campaign they answered, as the manager named it
            "ask_reason": "",
            "attempts": 0,
            "created_at": at,
        }
        for customer_id, advisor_id, _booked in db.session.execute(stmt)
    ]
    if not rows:
        return 0
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(Task)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["rule", "cause"])
        .returning(Task.id)
    )
    made = len(db.session.execute(stmt).all())
    db.session.commit()
    return made
