"""Builders for the coupon tests: an offer and an owner's coupon, in one commit each."""

from __future__ import annotations

from datetime import date

from portal.extensions import db
from shop.coupon_models import Coupon, CouponOffer


def offer(store, **kw) -> CouponOffer:
    """An offer of the store: ¥20 off from ¥100, valid all of December 2026 unless told."""
    values = {
        "name": "商城满减券",
        "name_en": "Shop voucher",
        "amount_off_fen": 2000,
        "min_order_fen": 10_000,
        "valid_from": date(2026, 12, 1),
        "valid_to": date(2026, 12, 31),
        **kw,
    }
    if values.get("percent_off") is not None:
        values["amount_off_fen"] = None
    found = CouponOffer(store_id=store.id, **values)
    db.session.add(found)
    db.session.commit()
    return found


def coupon(the_offer, owner, code: str | None = None) -> Coupon:
    found = Coupon(offer_id=the_offer.id, owner_id=owner.id, code=code or f"T{owner.id}")
    db.session.add(found)
    db.session.commit()
    return found
