"""What recipients do with a campaign message: open its tracked link, leave their details on
the offer page, reply by SMS (TD withdraws consent), or book after a click. Every answer but TD
becomes a lead of source "campaign", routed and given its first-contact task like any other.

The tracked link names one send by a signed token (portal.signed_links): nobody can count a
click for someone else. A click is recorded once per send by a conditional UPDATE (clicked_at
IS NULL), so a replayed or double-tapped link changes nothing. An inbound SMS is recorded once
per provider message key (a UNIQUE column), so a provider's retry makes no second lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError

from crm.campaign_models import (
    BOOKING,
    DETAILS,
    REPLY,
    UNSUBSCRIBE,
    Campaign,
    CampaignMember,
    CampaignResponse,
    CampaignSend,
)
from crm.customers import find_customer
from crm.leads import Inquiry, capture_for
from crm.models import CAMPAIGN
from crm.returns import LEFT
from portal import signed_links
from portal.extensions import db
from portal.models import Booking, User
from portal.models.accounts import OWNER
from portal.models.bookings import CANCELLED, REJECTED
from portal.services import consent
from portal.services.accounts import normalize_phone
from portal.timeutil import now

SALT = "m4s-campaign-click"
LINK_DAYS = 180  # a message's link works this long (the longest outcome window)
REPLY_DAYS = 30  # an SMS reply belongs to the campaign that texted the number this recently
STOP_WORDS = {"TD", "T", "N", "STOP", "UNSUBSCRIBE", "退订", "退", "取消订阅"}
TEXT_LIMIT = 500


def click_token(send_id: int) -> str:
    """Return the signed token of one send's tracked link."""
    return signed_links.sign(SALT, "send", send_id)


def click_path(send_id: int) -> str:
    """Return the path of one send's tracked link (the message adds BASE_URL)."""
    return "/c/" + click_token(send_id)


def send_for(token: str) -> CampaignSend | None:
    """Return the send a tracked link names, or None for a forged, expired or stale link."""
    try:
        send_id = signed_links.read(SALT, "send", token, max_age=LINK_DAYS * 86400)
    except signed_links.LinkInvalid:
        return None
    return db.session.get(CampaignSend, send_id)


def record_click(send: CampaignSend) -> bool:
    """Record the send's first click; return whether this was it (a replay returns False)."""
    result = db.session.execute(
        update(CampaignSend)
        .where(CampaignSend.id == send.id, CampaignSend.clicked_at.is_(None))
        .values(clicked_at=now())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(send)
    return result.rowcount == 1


def _lead(campaign: Campaign, customer: User, channel: str, note: str):
    inquiry = Inquiry(
        name=customer.name,
        phone=customer.phone or "",
        store=campaign.store,
        source=CAMPAIGN,
        email=customer.email,
        note=note,
        utm_source="m4s",
        utm_medium=channel,
        utm_campaign=campaign.name[:60],
        language=customer.locale or "",
    )
    return capture_for(customer, inquiry).lead


def leave_details(send: CampaignSend, note: str) -> CampaignResponse:
    """Turn a recipient who asks to be called from the offer page into a lead (flushed)."""
    campaign = db.session.get(Campaign, send.campaign_id)
    customer = db.session.get(User, send.customer_id)
    note = (note or "").strip()[:TEXT_LIMIT]
    lead = _lead(campaign, customer, send.channel, note or campaign.name)
    response = CampaignResponse(
        campaign_id=campaign.id,
        customer_id=customer.id,
        send_id=send.id,
        kind=DETAILS,
        text=note,
        lead_id=lead.id,
        at=now(),
    )
    db.session.add(response)
    db.session.flush()
    return response


@dataclass(frozen=True)
class Inbound:
    """One SMS a customer sent us, as the provider's webhook told it."""

    key: str  # "<provider>:<the provider's id of this message>"
    phone: str
    text: str


def is_stop(text: str) -> bool:
    """Return whether a reply asks to stop marketing (TD, 退订 and their usual spellings)."""
    return text.strip().strip("。.!！ ").upper() in STOP_WORDS


def receive_sms(inbound: Inbound) -> CampaignResponse | None:
    """Record an SMS reply once: TD withdraws SMS marketing consent, anything else becomes a
    reply and a lead of the campaign that last texted the number. Return None for an unknown
    number or a message already received (flushed)."""
    customer = find_customer(normalize_phone(inbound.phone))
    if customer is None or customer.role != OWNER:
        return None  # a number we do not know, or a colleague's
    send = _last_sms(customer.id)
    stop = is_stop(inbound.text)
    response = CampaignResponse(
        campaign_id=send.campaign_id if send else None,
        customer_id=customer.id,
        send_id=send.id if send else None,
        kind=UNSUBSCRIBE if stop else REPLY,
        text=inbound.text.strip()[:TEXT_LIMIT],
        inbound_key=inbound.key[:80],
        at=now(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(response)
    except IntegrityError:
        return None  # the provider posted it again: it was handled the first time
    if stop:
        consent.set_consent(customer.id, "sms", False, source="unsubscribe")
    elif send is not None:
        campaign = db.session.get(Campaign, send.campaign_id)
        response.lead_id = _lead(campaign, customer, "sms", response.text).id
    db.session.flush()
    return response


def _last_sms(customer_id: int) -> CampaignSend | None:
    return db.session.scalar(
        select(CampaignSend)
        .where(
            CampaignSend.customer_id == customer_id,
            CampaignSend.channel == "sms",
            CampaignSend.status.in_(LEFT),
            CampaignSend.queued_at >= now() - timedelta(days=REPLY_DAYS),
        )
        .order_by(CampaignSend.queued_at.desc(), CampaignSend.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Funnel:
    sent: int
    delivered: int
    clicked: int
    replied: int
    leads: int
    bookings: int
    revenue_fen: int


def funnel(campaign: Campaign, progress: dict[str, int], revenue_fen: int) -> Funnel:
    """Return the campaign's funnel: messages that left, delivered, recipients who clicked,
    replied, became leads and booked in the window, and the reached group's revenue."""
    clicked = db.session.scalar(
        select(func.count(func.distinct(CampaignSend.customer_id))).where(
            CampaignSend.campaign_id == campaign.id, CampaignSend.clicked_at.is_not(None)
        )
    )
    replied, leads = db.session.execute(
        select(
            func.count(func.distinct(CampaignResponse.customer_id)).filter(
                CampaignResponse.kind == REPLY
            ),
            func.count(func.distinct(CampaignResponse.lead_id)),
        ).where(CampaignResponse.campaign_id == campaign.id)
    ).one()
    return Funnel(
        sent=progress["queued"] + progress["delivered"] + progress["failed"],
        delivered=progress["delivered"],
        clicked=clicked or 0,
        replied=replied or 0,
        leads=leads or 0,
        bookings=_booked(campaign),
        revenue_fen=revenue_fen,
    )


def _booked(campaign: Campaign) -> int:
    if campaign.sent_at is None:
        return 0
    member = CampaignMember.customer_id
    end = campaign.sent_at + timedelta(days=campaign.window_days)
    booked = exists().where(
        Booking.owner_id == member,
        Booking.created_at >= campaign.sent_at,
        Booking.created_at < end,
        Booking.status.not_in((REJECTED, CANCELLED)),
    )
    reached = exists().where(
        CampaignSend.campaign_id == campaign.id,
        CampaignSend.customer_id == member,
        CampaignSend.status.in_(LEFT),
    )
    return (
        db.session.scalar(
            select(func.count()).where(
                CampaignMember.campaign_id == campaign.id,
                CampaignMember.holdout.is_(False),
                reached,
                booked,
            )
        )
        or 0
    )


def leads_from_bookings() -> int:
    """Make a lead of each recipient who clicked and then booked within the campaign's window
    (the worker's job; once per send, however many workers run it); return how many."""
    at = now()
    campaigns = db.session.execute(
        select(Campaign.id, Campaign.sent_at, Campaign.window_days).where(
            Campaign.sent_at >= at - timedelta(days=LINK_DAYS)
        )
    ).all()
    made = 0
    for campaign_id, sent_at, window_days in campaigns:
        end = sent_at + timedelta(days=window_days)
        if end < at - timedelta(days=1):
            continue  # the window closed a day ago: its bookings were all seen
        for send_id in _clicked_and_booked(campaign_id, end):
            made += _booking_lead(send_id, at)
    return made


def _clicked_and_booked(campaign_id: int, end) -> list[int]:
    clicked = CampaignSend.clicked_at
    return list(
        db.session.scalars(
            select(CampaignSend.id).where(
                CampaignSend.campaign_id == campaign_id,
                clicked.is_not(None),
                ~exists().where(
                    CampaignResponse.send_id == CampaignSend.id, CampaignResponse.kind == BOOKING
                ),
                exists().where(
                    Booking.owner_id == CampaignSend.customer_id,
                    Booking.created_at >= clicked,
                    Booking.created_at < end,
                    Booking.status.not_in((REJECTED, CANCELLED)),
                ),
            )
        )
    )


def _booking_lead(send_id: int, at) -> int:
    send = db.session.get(CampaignSend, send_id)
    campaign = db.session.get(Campaign, send.campaign_id)
    customer = db.session.get(User, send.customer_id)
    response = CampaignResponse(
        campaign_id=campaign.id,
        customer_id=customer.id,
        send_id=send.id,
        kind=BOOKING,
        inbound_key=f"booking:{send.id}",  # once per send, even with workers racing
        at=at,
    )
    try:
        with db.session.begin_nested():
            db.session.add(response)
    except IntegrityError:
        return 0
    response.lead_id = _lead(campaign, customer, send.channel, campaign.name).id
    db.session.commit()
    return 1
