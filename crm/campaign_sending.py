"""The worker's side of campaigns: queue pending sends through the outbox in batches, outside
the store's quiet hours, dropping sends whose consent was withdrawn since the snapshot; and the
progress (waiting, queued, delivered, failed) the back office polls."""

from __future__ import annotations

import uuid

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, func, insert, select, update

from crm.campaign_models import (
    DELIVERED,
    PENDING,
    QUEUED,
    RECALL,
    SENDING,
    SKIPPED,
    Campaign,
    CampaignMember,
    CampaignMessage,
    CampaignSend,
)
from crm.campaign_offers import codes_for, coupon_line
from crm.campaign_responses import click_path
from crm.campaign_schedule import finish_if_done
from crm.campaign_variants import message_for
from crm.campaigns import render
from crm.segments import has_consent
from portal.extensions import db
from portal.models import Notification, OutboxMessage, Store, User, WeChatBinding
from portal.services import consent
from portal.services.channels import quiet_until
from portal.timeutil import now

MARKETING = "marketing"


def queue_due(batch: int | None = None, max_batches: int = 50) -> int:
    """Queue up to max_batches batches of every sending campaign; return the sends handled."""
    batch = batch or current_app.config["CAMPAIGN_BATCH"]
    done = 0
    ids = db.session.scalars(select(Campaign.id).where(Campaign.status == SENDING)).all()
    for campaign_id in ids:
        for _turn in range(max_batches):
            handled = queue_batch(campaign_id, batch)
            db.session.commit()
            if handled == 0:
                break
            done += handled
        if finish_if_done(campaign_id):
            db.session.commit()
    return done


def queue_batch(campaign_id: int, batch: int) -> int:
    """Claim one batch of a campaign's pending sends and queue it; return how many (flushed)."""
    campaign = db.session.get(Campaign, campaign_id, populate_existing=True)
    if campaign is None or campaign.status != SENDING:
        return 0  # paused meanwhile: the rest waits
    store = db.session.get(Store, campaign.store_id)
    at = now()
    if quiet_until(at, store.timezone) is not None:
        return 0  # marketing never arrives at night, on any channel
    ids = db.session.scalars(
        select(CampaignSend.id)
        .where(CampaignSend.campaign_id == campaign_id, CampaignSend.status == PENDING)
        .order_by(CampaignSend.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    if not ids:
        return 0
    # Consent withdrawn since the snapshot (the one-tap link): this send never leaves. A
    # recall notice is a safety message, not marketing: it goes regardless.
    if campaign.builtin != RECALL:
        db.session.execute(
            update(CampaignSend)
            .where(
                CampaignSend.id.in_(ids),
                ~has_consent(CampaignSend.channel, CampaignSend.customer_id),
            )
            .values(status=SKIPPED)
            .execution_options(synchronize_session=False)
        )
    rows = db.session.execute(
        select(
            CampaignSend.id,
            CampaignSend.channel,
            User,
            WeChatBinding.openid,
            CampaignMember.variant,
        )
        .join(User, User.id == CampaignSend.customer_id)
        .outerjoin(WeChatBinding, WeChatBinding.user_id == User.id)
        .outerjoin(
            CampaignMember,
            and_(
                CampaignMember.campaign_id == CampaignSend.campaign_id,
                CampaignMember.customer_id == CampaignSend.customer_id,
            ),
        )
        .where(CampaignSend.id.in_(ids), CampaignSend.status == PENDING)
    ).all()
    outbox, notes, settled = [], [], []
    codes = codes_for(campaign, [user.id for _id, _ch, user, _o, _v in rows])
    for send_id, channel, user, openid, variant in rows:
        coupon = (campaign.offer, codes[user.id]) if user.id in codes else None
        text = message_for(campaign, channel, variant)  # A/B: the member's own variant
        message = _message(text, user, store, channel, coupon, send_id)
        if channel == "inapp":
            notes.append(
                {
                    "user_id": user.id,
                    "created_at": at,
                    "text": message["body"],
                    "link": message["offer_path"],
                }
            )
            settled.append({"id": send_id, "status": DELIVERED, "queued_at": at})
            continue
        key = uuid.uuid4().hex
        outbox.append(_outbox_row(key, channel, user, openid, store, message, at))
        settled.append({"id": send_id, "status": QUEUED, "outbox_id": key, "queued_at": at})
    if outbox:
        db.session.execute(insert(OutboxMessage), outbox)
    if notes:
        db.session.execute(insert(Notification), notes)
    if settled:
        db.session.execute(update(CampaignSend), settled)
    return len(ids)


def _message(
    text: CampaignMessage, user: User, store: Store, channel: str, coupon=None, send_id=None
) -> dict:
    english = user.locale == "en" and text.body_en
    subject = text.subject_en if english else text.subject_zh
    body = render(text.body_en if english else text.body_zh, user.name, store.name)
    base = current_app.config["BASE_URL"].rstrip("/")
    path = "/unsubscribe/" + consent.unsubscribe_token(user.id, channel)
    link = base + path
    # The recipient's own tracked link: its click is counted, then it opens the offer.
    offer_path = click_path(send_id) if send_id else path
    with force_locale("en" if english else "zh_CN"):
        footer = _("Unsubscribe from these messages: %(link)s", link=link)
        if coupon is not None:  # the recipient's own code, in their language
            body = f"{body}\n{coupon_line(*coupon)}"
        if send_id and channel in ("email", "sms", "wechat"):
            offer_line = _("See the offer: %(link)s", link=base + offer_path)
            body = f"{body}\n{offer_line}"
    if channel in ("email", "sms"):
        body = f"{body}\n\n{footer}"
    return {
        "subject": render(subject, user.name, store.name),
        "body": body,
        "link": base + offer_path if send_id and channel == "wechat" else link,
        "path": path,
        "offer_path": offer_path,
    }


def _outbox_row(key, channel, user, openid, store, message, at) -> dict:
    recipient = {"email": user.email, "sms": user.phone, "wechat": openid}[channel]
    return {
        "id": key,
        "channel": channel,
        "kind": MARKETING,
        "recipient": recipient or "",
        "subject": (message["subject"] or message["body"][:80])[:255],
        "body": message["body"],
        "data": {"link": message["link"], "params": {"text": message["body"][:60]}},
        "store_id": store.id,
        "user_id": user.id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": at,
        "created_at": at,
    }


def progress(campaign: Campaign) -> dict[str, int]:
    """Return the campaign's sends by state: waiting, queued, delivered, failed, skipped."""
    rows = db.session.execute(
        select(CampaignSend.status, OutboxMessage.status, func.count())
        .outerjoin(OutboxMessage, and_(OutboxMessage.id == CampaignSend.outbox_id))
        .where(CampaignSend.campaign_id == campaign.id)
        .group_by(CampaignSend.status, OutboxMessage.status)
    ).all()
    found = dict.fromkeys(("waiting", "queued", "delivered", "failed", "skipped"), 0)
    for send_status, outbox_status, n in rows:
        if send_status == PENDING:
            found["waiting"] += n
        elif send_status == SKIPPED:
            found["skipped"] += n
        elif send_status == DELIVERED or outbox_status == "sent":
            found["delivered"] += n
        elif outbox_status == "dead":
            found["failed"] += n
        else:
            found["queued"] += n
    found["total"] = sum(found.values())
    return found
