"""A campaign's A/B test and holdout: each customer's stable bucket (0..99) for a campaign, in
Python and in SQL alike; the holdout is the first holdout_pct buckets, and variant B the next
variant_b_pct of the rest, in proportion. Which text a member gets on a channel, and the check
that a draft's variant B is whole."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy import BigInteger, cast, literal

from crm.campaign_models import VARIANT_A, VARIANT_B, Campaign, CampaignMessage
from portal.errors import ValidationError
from portal.models.channels import MARKETING_CHANNELS

if TYPE_CHECKING:
    from crm.campaigns import Draft


def variant_b_channels(draft: Draft, channels: list[str]) -> list[str]:
    """Return the channels with a variant B text, checking the A/B test is whole."""
    written = [c for c in MARKETING_CHANNELS if (draft.texts_b.get(c) or {}).get("body_zh")]
    if not 0 <= draft.variant_b_pct <= 90:
        raise ValidationError(_("Variant B's share is 0 to 90 %."), field="variant_b_pct")
    orphan = [c for c in written if c not in channels]
    if orphan:
        raise ValidationError(
            _("Variant B needs variant A's text on the same channel."), field="body_b"
        )
    if written and not draft.variant_b_pct:
        raise ValidationError(
            _("Give variant B a share of the audience, or leave its texts empty."),
            field="variant_b_pct",
        )
    if draft.variant_b_pct and not written:
        raise ValidationError(
            _("Write variant B's Chinese text for at least one channel."), field="body_b"
        )
    return written


def variant_of(campaign: Campaign, customer_id: int) -> str | None:
    """Return the variant a customer gets (None for the holdout); the snapshot's SQL agrees."""
    bucket = holdout_bucket(campaign.id, customer_id)
    if bucket < campaign.holdout_pct:
        return None
    b = (bucket - campaign.holdout_pct) * 100 < campaign.variant_b_pct * (
        100 - campaign.holdout_pct
    )
    return VARIANT_B if b else VARIANT_A


def message_for(campaign: Campaign, channel: str, variant: str | None) -> CampaignMessage | None:
    """Return the campaign's text on a channel for a variant (variant A where B has none)."""
    found = {(m.channel, m.variant): m for m in campaign.messages}
    return found.get((channel, variant or VARIANT_A)) or found.get((channel, VARIANT_A))


def holdout_bucket(campaign_id: int, customer_id: int) -> int:
    """Return the customer's stable bucket 0..99 for this campaign (the SQL computes the same)."""
    mixed = ((customer_id + campaign_id * 7919) % 2**31) * 2654435761 % 2**32
    return (mixed // 65536) % 100


def bucket_sql(campaign_id: int, customer):
    def big(n: int):
        return literal(n, BigInteger)

    mixed = (cast(customer, BigInteger) + big(campaign_id * 7919)) % big(2**31)
    return mixed * big(2654435761) % big(2**32) // big(65536) % big(100)
