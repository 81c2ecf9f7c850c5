"""When a campaign goes: scheduled for later (the worker starts it at its time), paused and
resumed, and marked done once nothing of it waits. Each move is a conditional UPDATE, so of two
hands or workers acting at once one wins."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import exists, select, update

from crm.campaign_models import DONE, DRAFT, PAUSED, PENDING, SENDING, Campaign, CampaignSend
from crm.campaigns import start
from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.timeutil import now


def schedule(campaign: Campaign, send_at) -> None:
    """Set a draft campaign to be sent at send_at (UTC, in the future); the worker starts it."""
    if send_at is None:
        raise ValidationError(_("Choose when the campaign is sent."), field="send_at")
    if send_at <= now():
        raise ValidationError(_("Choose a sending time in the future."), field="send_at")
    moved = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status == DRAFT)
        .values(send_at=send_at)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise Conflict(_("Only a draft campaign can be scheduled."))
    db.session.flush()
    db.session.refresh(campaign)


def unschedule(campaign: Campaign) -> None:
    """Cancel a scheduled send that has not started; the campaign stays a draft."""
    moved = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status == DRAFT, Campaign.send_at.is_not(None))
        .values(send_at=None)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise Conflict(_("This campaign has no scheduled send to cancel."))
    db.session.flush()
    db.session.refresh(campaign)


def start_due() -> int:
    """Start every scheduled campaign whose time has come (the worker's job); return how many.

    Each campaign is claimed by start()'s conditional UPDATE in its own transaction, so two
    workers racing start it once; the loser's Conflict is rolled back and skipped. Quiet hours
    are kept by the batches (crm.campaign_sending), which queue nothing at night."""
    at = now()
    ids = db.session.scalars(
        select(Campaign.id)
        .where(Campaign.status == DRAFT, Campaign.send_at.is_not(None), Campaign.send_at <= at)
        .order_by(Campaign.send_at, Campaign.id)
    ).all()
    started = 0
    for campaign_id in ids:
        campaign = db.session.get(Campaign, campaign_id)
        try:
            start(None, campaign, due_by=at)
        except Conflict:
            db.session.rollback()  # cancelled, sent by hand or started by another worker
            continue
        db.session.commit()
        started += 1
    return started


def pause(campaign: Campaign) -> None:
    """Stop queueing a sending campaign (what is in the outbox still goes)."""
    _move(campaign, SENDING, PAUSED, _("Only a sending campaign can be paused."))


def resume(campaign: Campaign) -> None:
    """Queue a paused campaign again from where it stopped."""
    _move(campaign, PAUSED, SENDING, _("Only a paused campaign can be resumed."))


def _move(campaign: Campaign, source: str, target: str, refusal: str) -> None:
    moved = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status == source)
        .values(status=target)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise Conflict(refusal)
    db.session.flush()
    db.session.refresh(campaign)


def finish_if_done(campaign_id: int) -> bool:
    """Mark a sending campaign done once nothing of it waits (conditional, race-safe)."""
    waiting = exists().where(
        CampaignSend.campaign_id == campaign_id, CampaignSend.status == PENDING
    )
    result = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == SENDING, ~waiting)
        .values(status=DONE, finished_at=now())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
