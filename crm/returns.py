"""A campaign's measured return: outcomes of the audience against its holdout.

Both groups come from the same snapshot, so comparing them counts only what the campaign
caused (intent to treat: a member left out by the cap still counts as reached). An outcome is a
booking or a paid shop order within the window after the send; revenue is the shop orders' net
total and the service records of those bookings. Cost is what the manager entered plus each
channel's cost per message that left.

An A/B test splits the reached group the same way, so its variants compare like for like; the
difference of their conversion rates is tested with a two-proportion z-test, and a winner is
named only when chance is unlikely (p < 0.05).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, case, exists, func, or_, select

from crm.campaign_models import (
    DELIVERED,
    QUEUED,
    VARIANT_A,
    VARIANT_B,
    Campaign,
    CampaignMember,
    CampaignMessage,
    CampaignSend,
)
from portal.extensions import db
from portal.models import Booking, ServiceRecord
from portal.models.bookings import CANCELLED, REJECTED
from shop.models import Order

PAID_ORDERS = ("paid", "ready", "shipped", "completed")
LEFT = (QUEUED, DELIVERED)
SIGNIFICANT = 0.05


@dataclass(frozen=True)
class Group:
    size: int
    converted: int
    revenue_fen: int

    @property
    def rate(self) -> float:
        return self.converted / self.size if self.size else 0.0

    @property
    def revenue_each(self) -> float:
        return self.revenue_fen / self.size if self.size else 0.0


@dataclass(frozen=True)
class Comparison:
    """Variant B against variant A of one campaign's reached group."""

    a: Group
    b: Group

    @property
    def diff_points(self) -> float:
        """Return B's conversion rate minus A's, in percentage points."""
        return (self.b.rate - self.a.rate) * 100

    @property
    def p_value(self) -> float | None:
        """Return the two-sided p-value of a pooled two-proportion z-test (None: no test)."""
        if not self.a.size or not self.b.size:
            return None
        pooled = (self.a.converted + self.b.converted) / (self.a.size + self.b.size)
        spread = math.sqrt(pooled * (1 - pooled) * (1 / self.a.size + 1 / self.b.size))
        if spread == 0:
            return None  # nobody converted, or everybody did: nothing to tell apart
        z = (self.b.rate - self.a.rate) / spread
        return math.erfc(abs(z) / math.sqrt(2))

    @property
    def winner(self) -> str | None:
        """Return the variant that converts better beyond chance, or None."""
        p = self.p_value
        if p is None or p >= SIGNIFICANT or self.diff_points == 0:
            return None
        return VARIANT_B if self.diff_points > 0 else VARIANT_A


@dataclass(frozen=True)
class Return:
    reached: Group
    holdout: Group
    contacts: int
    cost_fen: int
    channel_costs: dict[str, tuple[int, int]]  # channel -> (messages, cost in fen)
    variants: dict[str, Group] = field(default_factory=dict)  # an A/B test's groups

    @property
    def comparison(self) -> Comparison | None:
        """Return variant B against A when the campaign ran an A/B test."""
        if VARIANT_B not in self.variants:
            return None
        return Comparison(self.variants.get(VARIANT_A, Group(0, 0, 0)), self.variants[VARIANT_B])

    @property
    def lift_points(self) -> float:
        """Return the conversion rate's difference in percentage points."""
        return (self.reached.rate - self.holdout.rate) * 100

    @property
    def incremental_conversions(self) -> float:
        return (self.reached.rate - self.holdout.rate) * self.reached.size

    @property
    def incremental_revenue_fen(self) -> int:
        gain = (self.reached.revenue_each - self.holdout.revenue_each) * self.reached.size
        return round(gain)

    @property
    def cost_per_contact_fen(self) -> int | None:
        return round(self.cost_fen / self.contacts) if self.contacts else None

    @property
    def cost_per_conversion_fen(self) -> int | None:
        extra = self.incremental_conversions
        return round(self.cost_fen / extra) if extra > 0 else None

    @property
    def roi(self) -> float | None:
        """Return (incremental revenue - cost) / cost."""
        if not self.cost_fen:
            return None
        return (self.incremental_revenue_fen - self.cost_fen) / self.cost_fen


def measure(campaign: Campaign) -> Return | None:
    """Return the campaign's measured return, or None before it was sent."""
    if campaign.sent_at is None:
        return None
    start, end = campaign.sent_at, campaign.sent_at + timedelta(days=campaign.window_days)
    member = CampaignMember.customer_id
    booked = and_(
        Booking.owner_id == member,
        Booking.created_at >= start,
        Booking.created_at < end,
        Booking.status.not_in((REJECTED, CANCELLED)),
    )
    ordered = and_(
        Order.user_id == member,
        Order.created_at >= start,
        Order.created_at < end,
        Order.status.in_(PAID_ORDERS),
    )
    converted = or_(exists().where(booked), exists().where(ordered))
    shop = select(func.coalesce(func.sum(Order.total_fen - Order.refunded_fen), 0)).where(ordered)
    service = (
        select(func.coalesce(func.sum(ServiceRecord.total_fen), 0))
        .join(Booking, Booking.id == ServiceRecord.booking_id)
        .where(booked)
    )
    rows = db.session.execute(
        select(
            CampaignMember.holdout,
            CampaignMember.variant,
            func.count(),
            func.sum(case((converted, 1), else_=0)),
            func.sum(shop.scalar_subquery() + service.scalar_subquery()),
        )
        .where(CampaignMember.campaign_id == campaign.id)
        .group_by(CampaignMember.holdout, CampaignMember.variant)
    ).all()
    groups: dict[bool, Group] = {}
    variants: dict[str, Group] = {}
    for holdout, variant, n, c, r in rows:
        part = Group(n, int(c or 0), int(r or 0))
        groups[bool(holdout)] = _add(groups.get(bool(holdout)), part)
        if not holdout and variant and campaign.variant_b_pct:
            variants[variant] = _add(variants.get(variant), part)
    empty = Group(0, 0, 0)
    costs = _channel_costs(campaign)
    contacts = db.session.scalar(
        select(func.count(func.distinct(CampaignSend.customer_id))).where(
            CampaignSend.campaign_id == campaign.id, CampaignSend.status.in_(LEFT)
        )
    )
    return Return(
        reached=groups.get(False, empty),
        holdout=groups.get(True, empty),
        contacts=contacts or 0,
        cost_fen=campaign.cost_fen + sum(cost for _, cost in costs.values()),
        channel_costs=costs,
        variants=variants,
    )


def _add(total: Group | None, part: Group) -> Group:
    if total is None:
        return part
    return Group(
        total.size + part.size,
        total.converted + part.converted,
        total.revenue_fen + part.revenue_fen,
    )


def _channel_costs(campaign: Campaign) -> dict[str, tuple[int, int]]:
    rows = db.session.execute(
        select(CampaignSend.channel, func.count(), CampaignMessage.unit_cost_fen)
        .join(
            CampaignMessage,
            and_(
                CampaignMessage.campaign_id == CampaignSend.campaign_id,
                CampaignMessage.channel == CampaignSend.channel,
                CampaignMessage.variant == VARIANT_A,  # both variants cost the same
            ),
        )
        .where(CampaignSend.campaign_id == campaign.id, CampaignSend.status.in_(LEFT))
        .group_by(CampaignSend.channel, CampaignMessage.unit_cost_fen)
    ).all()
    return {channel: (n, n * unit) for channel, n, unit in rows}
