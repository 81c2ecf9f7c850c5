"""A campaign's offer: the coupon it carries, one single-use code per recipient issued with the
snapshot, the code in each message, and the coupons' numbers for the campaign's report.

Codes are made in the same INSERT .. SELECT as the coupons: ``C<offer>-<n>``, where n is the
customer id mixed by a bijection of 0..2^32 (so codes of one offer never collide, and the offer
number keeps them apart across offers). A code works only for its owner (shop.coupons), so it
need not be secret; the mixing only keeps neighbours' codes from looking alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import BigInteger, String, cast, func, insert, literal, select, update

from crm.campaign_models import DRAFT, SKIPPED, Campaign, CampaignSend
from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.models import Store
from portal.models.base import UTCDateTime
from portal.services.vehicles import store_today
from portal.timeutil import now
from shop import coupons
from shop.coupon_models import Coupon, CouponOffer
from shop.models import Order


@dataclass
class OfferDraft:
    """What a manager fills in for a campaign's coupon (money in fen, days store-local)."""

    title_zh: str
    title_en: str
    amount_off_fen: int | None
    percent_off: int | None
    cap_fen: int | None
    min_order_fen: int
    valid_from: date | None
    valid_to: date | None


def make_offer(store: Store, draft: OfferDraft) -> CouponOffer:
    """Check and write a coupon offer for the store (flushed)."""
    title = (draft.title_zh or "").strip()[:80]
    if not title:
        raise ValidationError(_("Give the coupon a Chinese title."), field="offer_title_zh")
    if (draft.amount_off_fen is None) == (draft.percent_off is None):
        raise ValidationError(_("Give either an amount off or a percent off."), field="offer_kind")
    if draft.amount_off_fen is not None and draft.amount_off_fen <= 0:
        raise ValidationError(_("Enter an amount above zero."), field="offer_amount")
    if draft.percent_off is not None and not 1 <= draft.percent_off <= 99:
        raise ValidationError(_("The percent off is 1 to 99."), field="offer_percent")
    if draft.cap_fen is not None and draft.cap_fen <= 0:
        raise ValidationError(_("The cap is above zero, or left empty."), field="offer_cap")
    if draft.valid_from is None or draft.valid_to is None:
        raise ValidationError(_("Choose the coupon's first and last day."), field="offer_dates")
    if draft.valid_to < draft.valid_from or draft.valid_to < store_today(store.id):
        raise ValidationError(
            _("The last day comes after the first, and not before today."), field="offer_dates"
        )
    offer = CouponOffer(
        store_id=store.id,
        name=title,
        name_en=(draft.title_en or "").strip()[:80],
        amount_off_fen=draft.amount_off_fen,
        percent_off=draft.percent_off,
        cap_fen=draft.cap_fen if draft.percent_off is not None else None,
        min_order_fen=max(0, draft.min_order_fen),
        valid_from=draft.valid_from,
        valid_to=draft.valid_to,
    )
    db.session.add(offer)
    db.session.flush()
    return offer


def attach(campaign: Campaign, offer: CouponOffer) -> None:
    """Let a draft campaign carry the offer: each recipient gets a code when it is sent."""
    if offer.store_id != campaign.store_id:
        raise ValidationError(_("The coupon is for another store."), field="offer")
    moved = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status == DRAFT, Campaign.offer_id.is_(None))
        .values(offer_id=offer.id)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise Conflict(_("Only a draft campaign without a coupon takes one."))
    db.session.flush()
    db.session.refresh(campaign)


def code_for(offer_id: int, customer_id: int) -> str:
    """Return the code the snapshot gives this customer for this offer (as the SQL does)."""
    return f"C{offer_id}-{customer_id % 2**31 * 2654435761 % 2**32}"


def _code_sql(offer_id: int, customer):
    mixed = cast(customer, BigInteger) % literal(2**31, BigInteger)  # a product within BIGINT
    mixed = mixed * literal(2654435761, BigInteger) % literal(2**32, BigInteger)
    return literal(f"C{offer_id}-") + cast(mixed, String)


def issue(campaign: Campaign) -> int:
    """Give every customer with a message in the snapshot their coupon; return how many.

    The holdout and customers left out by the cap get none. Runs inside start()'s snapshot."""
    if campaign.offer_id is None:
        return 0
    customer = CampaignSend.customer_id
    rows = (
        select(
            literal(campaign.offer_id),
            customer,
            _code_sql(campaign.offer_id, customer),
            literal(now(), UTCDateTime),
        )
        .where(CampaignSend.campaign_id == campaign.id, CampaignSend.status != SKIPPED)
        .group_by(customer)
    )
    done = db.session.execute(
        insert(Coupon).from_select(["offer_id", "owner_id", "code", "issued_at"], rows)
    )
    return done.rowcount


def codes_for(campaign: Campaign, customer_ids: list[int]) -> dict[int, str]:
    """Return the coupon codes of these customers for the campaign's offer."""
    if campaign.offer_id is None or not customer_ids:
        return {}
    rows = db.session.execute(
        select(Coupon.owner_id, Coupon.code).where(
            Coupon.offer_id == campaign.offer_id, Coupon.owner_id.in_(customer_ids)
        )
    )
    return dict(rows.all())


def coupon_line(offer: CouponOffer, code: str) -> str:
    """The sentence a message adds about the recipient's coupon (current language)."""
    return _(
        "Your coupon %(code)s: %(title)s, %(worth)s, until %(day)s. Choose it at checkout in "
        "the shop.",
        code=code,
        title=offer.shown(),
        worth=coupons.worth(offer),
        day=offer.valid_to.isoformat(),
    )


@dataclass(frozen=True)
class CouponReport:
    issued: int
    redeemed: int  # on orders that were paid
    waiting: int  # on orders placed but not paid yet
    discount_fen: int  # given on the paid orders
    revenue_fen: int  # what the paid orders brought, net of refunds


def report(campaign: Campaign) -> CouponReport | None:
    """Count the campaign's coupons issued and redeemed, and the revenue of their orders."""
    if campaign.offer_id is None:
        return None
    paid = Order.paid_at.is_not(None)
    row = db.session.execute(
        select(
            func.count(Coupon.id),
            func.count(Order.id).filter(paid),
            func.count(Order.id).filter(Order.paid_at.is_(None)),
            func.coalesce(func.sum(Order.discount_fen).filter(paid), 0),
            func.coalesce(func.sum(Order.total_fen - Order.refunded_fen).filter(paid), 0),
        )
        .select_from(Coupon)
        .outerjoin(Order, Order.id == Coupon.order_id)
        .where(Coupon.offer_id == campaign.offer_id)
    ).one()
    return CouponReport(*(int(v or 0) for v in row))
