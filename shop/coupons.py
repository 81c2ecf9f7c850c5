"""Coupons at checkout: the owner's usable coupons, the discount, redeeming one on an order
race-safely, and letting go of it when the unpaid order is cancelled.

Rules: a coupon is the owner's own (another owner's code does not exist for them), unused,
within its offer's days in the offer's store zone, and the order (before the discount) reaches
the offer's minimum. The discount never exceeds the order, so the total is never below zero.
A card payment below Stripe's least charge (payments.MIN_CHARGE_FEN) is refused with a message
asking the owner to pay at the store, where any total, zero included, is fine: we never switch
the owner's payment method behind their back.

Redeeming is one conditional UPDATE (``order_id IS NULL``), and ``shop_coupons.order_id`` is
UNIQUE: of two checkouts racing with one coupon, exactly one gets it; the other is refused and
its order rolled back by the view.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from portal import access
from portal.errors import Conflict, ValidationError
from portal.extensions import db
from portal.i18n import cny
from portal.models import User
from portal.services.vehicles import store_today
from portal.timeutil import now
from shop import payments
from shop.coupon_models import Coupon, CouponOffer
from shop.models import Order

USABLE, USED, EXPIRED, NOT_YET = "usable", "used", "expired", "not_yet"


def discount_fen(offer: CouponOffer, subtotal_fen: int) -> int:
    """Return what the offer takes off an order of subtotal_fen, never more than the order."""
    if offer.amount_off_fen is not None:
        off = offer.amount_off_fen
    else:
        off = subtotal_fen * offer.percent_off // 100
        if offer.cap_fen is not None:
            off = min(off, offer.cap_fen)
    return max(0, min(off, subtotal_fen))


def state(coupon: Coupon) -> str:
    """Return whether the coupon is usable, used, expired or not valid yet."""
    if coupon.order_id is not None:
        return USED
    today = store_today(coupon.offer.store_id)
    if today > coupon.offer.valid_to:
        return EXPIRED
    if today < coupon.offer.valid_from:
        return NOT_YET
    return USABLE


def mine(user: User) -> list[Coupon]:
    """Return the owner's coupons, newest first, with their offers."""
    stmt = access.owner_scope(select(Coupon), Coupon.owner_id, user)
    stmt = stmt.options(joinedload(Coupon.offer)).order_by(Coupon.issued_at.desc(), Coupon.id)
    return list(db.session.scalars(stmt.limit(100)))


def usable(user: User) -> list[Coupon]:
    """Return the owner's coupons that could be used today."""
    return [c for c in mine(user) if state(c) == USABLE]


def owned(user: User, code: str) -> Coupon:
    """Return the owner's coupon of this code, or ValidationError (others' do not exist)."""
    code = (code or "").strip().upper()[:24]
    stmt = access.owner_scope(select(Coupon), Coupon.owner_id, user).where(Coupon.code == code)
    coupon = db.session.scalar(stmt) if code else None
    if coupon is None:
        raise ValidationError(_("You have no coupon with this code."), field="coupon")
    return coupon


def _check(coupon: Coupon, subtotal_fen: int) -> None:
    offer = coupon.offer
    found = state(coupon)
    if found == USED:
        raise Conflict(_("This coupon is already used."), field="coupon")
    if found == EXPIRED:
        day = offer.valid_to.isoformat()
        raise ValidationError(_("This coupon expired after %(day)s.", day=day), field="coupon")
    if found == NOT_YET:
        day = offer.valid_from.isoformat()
        raise ValidationError(_("This coupon is valid from %(day)s.", day=day), field="coupon")
    if subtotal_fen < offer.min_order_fen:
        raise ValidationError(
            _("This coupon needs an order of at least %(min)s.", min=cny(offer.min_order_fen)),
            field="coupon",
        )


def redeem(user: User, order: Order, code: str) -> Coupon:
    """Use the owner's coupon on their new order: take the discount off its total (flushed)."""
    if order.user_id != user.id or order.status != "pending" or order.coupon_code:
        raise Conflict(_("A coupon is only used when the order is placed."), field="coupon")
    coupon = owned(user, code)
    _check(coupon, order.total_fen)
    off = discount_fen(coupon.offer, order.total_fen)
    total = order.total_fen - off
    if order.payment == "stripe" and total < payments.MIN_CHARGE_FEN:
        raise ValidationError(
            _(
                "With this coupon the order comes to %(total)s, less than the %(least)s a card "
                "payment takes. Choose to pay at the store.",
                total=cny(total),
                least=cny(payments.MIN_CHARGE_FEN),
            ),
            field="coupon",
        )
    claimed = db.session.execute(
        update(Coupon)
        .where(Coupon.id == coupon.id, Coupon.order_id.is_(None))
        .values(order_id=order.id, redeemed_at=now())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise Conflict(_("This coupon is already used."), field="coupon")
    order.total_fen, order.discount_fen, order.coupon_code = total, off, coupon.code
    db.session.flush()
    db.session.refresh(coupon)
    return coupon


def release(order: Order) -> bool:
    """Let go of the coupon an unpaid order held, so it can be used again; return whether one
    was (idempotent: a coupon another order holds by now is left alone). The order keeps its
    record of the code and the discount."""
    if not order.coupon_code:
        return False
    freed = db.session.execute(
        update(Coupon)
        .where(Coupon.order_id == order.id)
        .values(order_id=None, redeemed_at=None)
        .execution_options(synchronize_session=False)
    )
    return freed.rowcount == 1


def worth(offer: CouponOffer) -> str:
    """Say what the offer takes off and from which order total, in the current language."""
    if offer.amount_off_fen is not None:
        off = _("%(amount)s off", amount=cny(offer.amount_off_fen))
    elif offer.cap_fen is not None:
        off = _("%(pct)d%% off, at most %(cap)s", pct=offer.percent_off, cap=cny(offer.cap_fen))
    else:
        off = _("%(pct)d%% off", pct=offer.percent_off)
    if offer.min_order_fen:
        return _("%(off)s on orders from %(min)s", off=off, min=cny(offer.min_order_fen))
    return off
