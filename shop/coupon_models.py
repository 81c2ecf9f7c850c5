"""Coupons: an offer (amount or percent off, a minimum, dates) and the owners' single-use codes.

A coupon is held by at most one order at a time (``order_id``, UNIQUE); a cancelled unpaid
order lets go of it, so it can be used again. The order keeps the code and its discount.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models import Store, User
from portal.models.base import Base, Bilingual, UTCDateTime, utcnow


class CouponOffer(Bilingual, Base):
    """What a coupon is worth: a fixed amount off, or a percent off up to a cap, from a minimum
    order, valid from one store-local day to another (both included)."""

    __tablename__ = "shop_coupon_offers"
    __table_args__ = (
        CheckConstraint(
            "(amount_off_fen IS NOT NULL AND percent_off IS NULL AND amount_off_fen > 0)"
            " OR (amount_off_fen IS NULL AND percent_off IS NOT NULL"
            " AND percent_off >= 1 AND percent_off <= 99)",
            name="one_kind",
        ),
        CheckConstraint("cap_fen IS NULL OR cap_fen > 0", name="cap_positive"),
        CheckConstraint("min_order_fen >= 0", name="min_nonnegative"),
        CheckConstraint("valid_to >= valid_from", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))  # the title in Chinese
    name_en: Mapped[str] = mapped_column(String(80), default="")
    amount_off_fen: Mapped[int | None] = mapped_column()
    percent_off: Mapped[int | None] = mapped_column()
    cap_fen: Mapped[int | None] = mapped_column()  # the most a percent coupon takes off
    min_order_fen: Mapped[int] = mapped_column(default=0)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    store: Mapped[Store] = relationship()
    coupons: Mapped[list[Coupon]] = relationship(back_populates="offer")

    def __str__(self) -> str:
        return self.name


class Coupon(Base):
    """One owner's single-use code of an offer; ``order_id`` is the order that uses it."""

    __tablename__ = "shop_coupons"
    __table_args__ = (UniqueConstraint("offer_id", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("shop_coupon_offers.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_orders.id"), unique=True)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    offer: Mapped[CouponOffer] = relationship(back_populates="coupons")
    owner: Mapped[User] = relationship()
