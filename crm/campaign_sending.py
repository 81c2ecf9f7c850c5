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
            CampaignSend.id.label("send_id"),
            CampaignSend.channel,
            User.id,
            User.name,
            User.locale,
            User.email,
            User.phone,
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
    codes = codes_for(campaign, [row.id for row in rows])
    outbox, notes, delivered, queued = [], [], [], []
    # One switch of language per batch, not one per message: each switch reloads the catalog.
    for english, group in _by_language(campaign, rows).items():
        with force_locale("en" if english else "zh_CN"):
            for row, text in group:
                coupon = (campaign.offer, codes[row.id]) if row.id in codes else None
                message = _message(text, row, store, row.channel, coupon, row.send_id, english)
                if row.channel == "inapp":
                    notes.append(
                        {
                            "user_id": row.id,
                            "created_at": at,
                            "text": message["body"],
                            "link": message["offer_path"],
                        }
                    )
                    delivered.append(row.send_id)
                    continue
                key = uuid.uuid4().hex
                outbox.append(_outbox_row(key, row, store, message, at))
                queued.append({"id": row.send_id, "outbox_id": key})
    if outbox:
        db.session.execute(insert(OutboxMessage), outbox)
    if notes:
        db.session.execute(insert(Notification), notes)
    _settle(delivered, queued, at)
    return len(ids)


def _by_language(campaign: Campaign, rows) -> dict[bool, list]:
    """Return the rows with their text, parted by language (True: English)."""
    parts: dict[bool, list] = {}
    for row in rows:
        text = message_for(campaign, row.channel, row.variant)  # A/B: the member's own variant
        english = row.locale == "en" and bool(text.body_en)
        parts.setdefault(english, []).append((row, text))
    return parts


def _settle(delivered: list[int], queued: list[dict], at) -> None:
    # In-app sends are all alike: one UPDATE. Each queued one names its own outbox row.
    if delivered:
        db.session.execute(
            update(CampaignSend)
            .where(CampaignSend.id.in_(delivered))
            .values(status=DELIVERED, queued_at=at)
            .execution_options(synchronize_session=False)
        )
    if queued:
        db.session.execute(
            update(CampaignSend),
            [dict(q, status=QUEUED, queued_at=at) for q in queued],
        )


def _message(
    text: CampaignMessage, to, store: Store, channel: str, coupon, send_id, english: bool
) -> dict:
    """Return one recipient's message in the current language (the caller forces it)."""
    subject = text.subject_en if english else text.subject_zh
    body = render(text.body_en if english else text.body_zh, to.name, store.name)
    base = current_app.config["BASE_URL"].rstrip("/")
    # The recipient's own tracked link: its click is counted, then it opens the offer.
    offer_path = click_path(send_id) if send_id else None
    if coupon is not None:  # the recipient's own code, in their language
        body = f"{body}\n{coupon_line(*coupon)}"
    if channel == "inapp" and offer_path:  # the portal's own page: no unsubscribe line
        return {
            "subject": render(subject, to.name, store.name),
            "body": body,
            "offer_path": offer_path,
        }
    path = "/unsubscribe/" + consent.unsubscribe_token(to.id, channel)
    link = base + path
    offer_path = offer_path or path
    if send_id and channel in ("email", "sms", "wechat"):
        offer_line = _("See the offer: %(link)s", link=base + offer_path)
        body = f"{body}\n{offer_line}"
    if channel in ("email", "sms"):
        footer = _("Unsubscribe from these messages: %(link)s", link=link)
        body = f"{body}\n\n{footer}"
    return {
        "subject": render(subject, to.name, store.name),
        "body": body,
        "link": base + offer_path if send_id and channel == "wechat" else link,
        "path": path,
        "offer_path": offer_path,
    }


def _outbox_row(key, to, store, message, at) -> dict:
    recipient = {"email": to.email, "sms": to.phone, "wechat": to.openid}[to.channel]
    return {
        "id": key,
        "channel": to.channel,
        "kind": MARKETING,
        "recipient": recipient or "",
        "subject": (message["subject"] or message["body"][:80])[:255],
        "body": message["body"],
        "data": {"link": message["link"], "params": {"text": message["body"][:60]}},
        "store_id": store.id,
        "user_id": to.id,
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
