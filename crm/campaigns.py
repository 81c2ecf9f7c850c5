"""Campaigns: save a segment, draft a campaign and snapshot its audience in SQL. When it goes
(scheduled, paused, resumed, done) is crm.campaign_schedule; the worker's batches
(crm.campaign_sending) put the sends into the outbox.

At send time the audience is a snapshot of the segment, written with INSERT .. SELECT: only
customers who consent to marketing on at least one of the campaign's channels. A stable random
part of it is the holdout and gets nothing; in an A/B test variant_b_pct of the rest get variant
B's texts (crm.campaign_variants). Each channel's sends are a second INSERT .. SELECT: consent
on that channel, a way to reach the customer there, and fewer than the monthly cap of marketing
sends in the last 30 days (a recall notice is no marketing: it is not counted). Snapshots lock
the one settings row, so two of them at once cannot both take a customer's last place under
the cap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    and_,
    case,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError

from crm import campaign_offers, segments
from crm.campaign_models import (
    DRAFT,
    PENDING,
    RECALL,
    SENDING,
    SKIPPED,
    VARIANT_A,
    VARIANT_B,
    Campaign,
    CampaignMember,
    CampaignMessage,
    CampaignSend,
    MarketingSettings,
    Segment,
)
from crm.campaign_variants import bucket_sql, variant_b_channels
from portal import access
from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.models import Store, User, WeChatBinding
from portal.models.accounts import ADMIN, MANAGER
from portal.models.channels import MARKETING_CHANNELS
from portal.timeutil import now

CAP_DAYS = 30  # "per month": any 30 days
BIG_SNAPSHOT = 10_000  # members from which the snapshot refreshes PostgreSQL's statistics
VARIABLE = re.compile(r"\{(name|store)\}")


def may_manage(user: User) -> bool:
    """Return whether the user may build segments and send campaigns (managers, admins)."""
    return access.is_active_staff(user) and user.role in (MANAGER, ADMIN)


def store_for(user: User, store_id: int | None) -> Store:
    """Return the store a manager works for (an admin names one), or raise ValidationError."""
    wanted = store_id if access.sees_all_stores(user) else user.store_id
    store = db.session.get(Store, wanted) if wanted else None
    if store is None or not access.in_store(user, store.id):
        raise ValidationError(_("Choose a store."), field="store")
    return store


def save_segment(actor: User, store: Store, name: str, rule: dict, segment=None) -> Segment:
    """Create or change a segment after checking its rule (flushed)."""
    name = (name or "").strip()[:80]
    if not name:
        raise ValidationError(_("Give the segment a name."), field="name")
    segments.validate(rule)
    taken = db.session.scalar(
        select(Segment.id).where(Segment.store_id == store.id, Segment.name == name)
    )
    if taken is not None and (segment is None or taken != segment.id):
        raise ValidationError(_("The store already has a segment of this name."), field="name")
    if segment is None:
        segment = Segment(store_id=store.id, created_by_id=actor.id)
        db.session.add(segment)
    segment.name, segment.rule, segment.updated_at = name, rule, now()
    db.session.flush()
    return segment


@dataclass
class Draft:
    """What a manager fills in for a campaign."""

    name: str
    segment: Segment
    texts: dict[str, dict[str, str]]  # channel -> subject_zh, body_zh, subject_en, body_en
    unit_costs: dict[str, int]
    holdout_pct: int = 10
    cost_fen: int = 0
    window_days: int = 14
    # An A/B test: variant B's texts (channel -> parts, as texts) and its share of the reached.
    texts_b: dict[str, dict[str, str]] = field(default_factory=dict)
    variant_b_pct: int = 0


def create_campaign(actor: User, draft: Draft, builtin: str | None = None) -> Campaign:
    """Write a draft campaign with one message per channel that has a Chinese text (flushed)."""
    name = (draft.name or "").strip()[:120]
    if not name:
        raise ValidationError(_("Give the campaign a name."), field="name")
    if not 0 <= draft.holdout_pct <= 50:
        raise ValidationError(_("The holdout is 0 to 50 %."), field="holdout_pct")
    if not 1 <= draft.window_days <= 180:
        raise ValidationError(_("The window is 1 to 180 days."), field="window_days")
    channels = [c for c in MARKETING_CHANNELS if (draft.texts.get(c) or {}).get("body_zh")]
    if not channels:
        raise ValidationError(_("Write the message for at least one channel."), field="body")
    b_channels = variant_b_channels(draft, channels)
    campaign = Campaign(
        store_id=draft.segment.store_id,
        segment_id=draft.segment.id,
        name=name,
        status=DRAFT,
        builtin=builtin,
        holdout_pct=draft.holdout_pct,
        variant_b_pct=draft.variant_b_pct if b_channels else 0,
        cost_fen=max(0, draft.cost_fen),
        window_days=draft.window_days,
        created_by_id=actor.id if actor else None,
    )
    written = [(c, VARIANT_A, draft.texts[c]) for c in channels]
    written += [(c, VARIANT_B, draft.texts_b[c]) for c in b_channels]
    for channel, variant, text in written:
        campaign.messages.append(
            CampaignMessage(
                channel=channel,
                variant=variant,
                subject_zh=text.get("subject_zh", "")[:120],
                body_zh=text["body_zh"][:2000],
                subject_en=text.get("subject_en", "")[:120],
                body_en=text.get("body_en", "")[:2000],
                unit_cost_fen=max(0, draft.unit_costs.get(channel, 0)),
            )
        )
    db.session.add(campaign)
    db.session.flush()
    return campaign


def available_channels() -> tuple[str, ...]:
    """Return the channels this installation can deliver on (SMS, WeChat need a provider)."""
    cfg = current_app.config
    on = {
        "inapp": True,
        "email": True,
        "sms": bool(cfg["SMS_PROVIDER"]),
        "wechat": bool(cfg["WECHAT_APP_ID"]),
    }
    return tuple(c for c in MARKETING_CHANNELS if on[c])


def locked_settings() -> MarketingSettings:
    """Return the group's marketing settings row, locked until the transaction ends."""
    row = db.session.scalar(
        select(MarketingSettings).where(MarketingSettings.id == 1).with_for_update()
    )
    if row is None:  # a new database: the first snapshot writes the defaults
        try:
            with db.session.begin_nested():
                db.session.add(MarketingSettings(id=1))
        except IntegrityError:
            pass  # a concurrent snapshot wrote it first
        row = db.session.scalar(
            select(MarketingSettings).where(MarketingSettings.id == 1).with_for_update()
        )
    return row


def reachable(channel: str, customer=None):
    """Return the SQL condition "the customer has an address on this channel"."""
    customer = User.id if customer is None else customer
    if channel == "email":
        return User.email.is_not(None)
    if channel == "sms":
        return User.phone.is_not(None)
    if channel == "wechat":
        return exists().where(WeChatBinding.user_id == customer)
    return true()


def start(actor: User | None, campaign: Campaign, due_by=None) -> Campaign:
    """Snapshot the audience and the sends, and set the campaign sending (flushed).

    With due_by (the worker), only a draft still scheduled at or before that time starts, so a
    schedule cancelled meanwhile is left alone; the conditional UPDATE lets one claimant win."""
    at = now()
    wanted = [Campaign.id == campaign.id, Campaign.status == DRAFT]
    if due_by is not None:
        wanted += [Campaign.send_at.is_not(None), Campaign.send_at <= due_by]
    claimed = db.session.execute(
        update(Campaign)
        .where(*wanted)
        .values(status=SENDING, sent_at=at, send_at=None)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise Conflict(_("This campaign was already sent."))
    cap = locked_settings().cap_per_month
    _without_jit()
    channels = list(
        dict.fromkeys(m.channel for m in campaign.messages if m.channel in available_channels())
    )
    _snapshot_members(campaign, channels)
    _refresh_statistics(campaign)
    for channel in channels:
        _snapshot_sends(campaign, channel, cap, at)
    campaign_offers.issue(campaign)  # a coupon for each customer with a message, if it has one
    audience, holdout = db.session.execute(
        select(func.count(), func.count().filter(CampaignMember.holdout.is_(True))).where(
            CampaignMember.campaign_id == campaign.id
        )
    ).one()
    db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(audience=audience, holdout=holdout)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    db.session.refresh(campaign)
    return campaign


def _without_jit() -> None:
    # The snapshot's statements are index probes over one store's customers: PostgreSQL's JIT
    # compiled them for 0.6 s each and the members INSERT of 60k customers took 4 s instead
    # of 2-3 s on the 1M group. Off for the rest of this transaction only.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sql_text("SET LOCAL jit = off"))


def _refresh_statistics(campaign: Campaign) -> None:
    # PostgreSQL would plan the sends' INSERT .. SELECT from statistics that know nothing of
    # the members just written (on a new installation: tables it believes empty), and a plan
    # made for one member runs for minutes with 100k. ANALYZE in this transaction counts its
    # own rows; it costs a sample, so only a big snapshot pays for it.
    if db.session.get_bind().dialect.name != "postgresql":
        return
    members = db.session.scalar(
        select(func.count()).where(CampaignMember.campaign_id == campaign.id)
    )
    if members >= BIG_SNAPSHOT:
        db.session.execute(sql_text("ANALYZE crm_campaign_members, crm_campaign_sends"))


def _snapshot_members(campaign: Campaign, channels: list[str]) -> None:
    store = db.session.get(Store, campaign.store_id)
    segment = db.session.get(Segment, campaign.segment_id)
    if campaign.builtin == RECALL:  # a safety notice: every owner reachable on a channel
        consenting = or_(false(), *(reachable(c) for c in channels))
    else:
        consenting = or_(false(), *(and_(segments.has_consent(c), reachable(c)) for c in channels))
    audience = segments.members(store, segment.rule).where(consenting)
    if campaign.builtin and campaign.builtin != RECALL:
        # A built-in campaign takes a customer once in the cap's period.
        audience = audience.where(~_builtin_recently(campaign))
    bucket = bucket_sql(campaign.id, User.id)
    holdout = case((bucket < campaign.holdout_pct, true()), else_=false())
    # The reached buckets split in proportion: variant_b_pct of them get B (as variant_of).
    gets_b = (bucket - campaign.holdout_pct) * 100 < campaign.variant_b_pct * (
        100 - campaign.holdout_pct
    )
    variant = case(
        (bucket < campaign.holdout_pct, null()),
        (gets_b, literal(VARIANT_B)),
        else_=literal(VARIANT_A),
    )
    rows = audience.with_only_columns(literal(campaign.id), User.id, holdout, variant)
    db.session.execute(
        insert(CampaignMember).from_select(
            ["campaign_id", "customer_id", "holdout", "variant"], rows
        )
    )


def _builtin_recently(campaign: Campaign):
    # Holdout members too: reaching them the next day would spoil the earlier run's holdout.
    earlier = select(Campaign.id).where(
        Campaign.builtin == campaign.builtin,
        Campaign.store_id == campaign.store_id,
        Campaign.id != campaign.id,
        Campaign.sent_at >= now() - timedelta(days=CAP_DAYS),
    )
    return exists().where(
        CampaignMember.customer_id == User.id, CampaignMember.campaign_id.in_(earlier)
    )


def _snapshot_sends(campaign: Campaign, channel: str, cap: int, at) -> None:
    member = CampaignMember.customer_id
    wanted = [
        CampaignMember.campaign_id == campaign.id,
        CampaignMember.holdout.is_(False),
        reachable(channel, member),
    ]
    if campaign.builtin != RECALL:  # a recall is no marketing: no consent asked, no cap used
        wanted += [segments.has_consent(channel, member), _under_cap(campaign, cap, at)]
    rows = (
        select(literal(campaign.id), member, literal(channel), literal(PENDING), literal(at))
        .join(User, User.id == member)
        .where(*wanted)
    )
    db.session.execute(
        insert(CampaignSend).from_select(
            ["campaign_id", "customer_id", "channel", "status", "created_at"], rows
        )
    )


def _under_cap(campaign: Campaign, cap: int, at):
    """Return the condition "the member has had fewer than cap marketing sends in 30 days".

    The members at the cap are found once per statement (an uncorrelated subquery), not once
    per member: a per-member count planned against a still small sends table scanned the
    table, which this very statement grows, for every member (minutes for 100k members)."""
    if cap <= 0:
        return false()
    at_cap = (
        select(CampaignSend.customer_id)
        .join(Campaign, Campaign.id == CampaignSend.campaign_id)
        .where(
            CampaignSend.customer_id.in_(
                select(CampaignMember.customer_id).where(CampaignMember.campaign_id == campaign.id)
            ),
            CampaignSend.created_at >= at - timedelta(days=CAP_DAYS),
            CampaignSend.status != SKIPPED,
            # A recall notice is a safety message: it uses up no place under the marketing cap.
            or_(Campaign.builtin.is_(None), Campaign.builtin != RECALL),
        )
        .group_by(CampaignSend.customer_id)
        .having(func.count(CampaignSend.id) >= cap)
    )
    return CampaignMember.customer_id.not_in(at_cap)


def render(text: str, user_name: str, store_name: str) -> str:
    """Fill the variables {name} and {store} of a message text."""
    values = {"name": user_name, "store": store_name}
    return VARIABLE.sub(lambda m: values[m.group(1)], text)
