"""Pay-at-store pickups: the owner's pickup day, its deadline, and cancelling missed ones."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from portal.errors import ValidationError
from portal.extensions import db
from portal.models import Store
from portal.services import notify
from portal.timeutil import now, to_local
from shop import coupons, stock
from shop.models import CANCELLED, PENDING, Order


def window(store: Store) -> tuple[date, date]:
    """The first and last day an owner may choose to pick up at the store (store zone)."""
    today = to_local(now(), store.timezone).date()
    return today, today + timedelta(days=store.pickup_hold_days)


def deadline(store: Store, day: date) -> datetime:
    """The end of the pickup day in the store's zone, as an aware UTC time."""
    end = datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(store.timezone))
    return end.astimezone(ZoneInfo("UTC"))


def check_day(store: Store, day: date | None) -> date:
    """Return the chosen pickup day, or raise ValidationError when it is outside the window."""
    first, last = window(store)
    if day is None:
        raise ValidationError(_("Choose the day you will pick up the order."), field="pickup_on")
    if not first <= day <= last:
        raise ValidationError(
            _(
                "Choose a pickup day from %(first)s to %(last)s.",
                first=first.isoformat(),
                last=last.isoformat(),
            ),
            field="pickup_on",
        )
    return day


_DUE = (
    select(Order.id)
    .where(Order.status == PENDING, Order.pickup_on.is_not(None))
    .order_by(Order.hold_expires_at, Order.id)
)


def expire_pickups(limit: int = 200) -> int:
    """Cancel the pay-at-store pickups whose day has passed, put their stock back and tell
    each owner; return how many this call cancelled.

    Each cancel is a conditional UPDATE (still pending): of two workers racing on one order,
    exactly one wins, so the stock goes back and the owner is told exactly once."""
    at = now()
    due = db.session.scalars(_DUE.where(Order.hold_expires_at <= at).limit(limit)).all()
    cancelled = 0
    for order_id in due:
        res = db.session.execute(
            update(Order)
            .where(Order.id == order_id, Order.status == PENDING)
            .values(status=CANCELLED)
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            continue
        order = db.session.get(Order, order_id, populate_existing=True)
        stock.release_hold(order, note="pickup day passed")
        coupons.release(order)
        _tell_owner(order)
        db.session.commit()
        cancelled += 1
    return cancelled


def _tell_owner(order: Order) -> None:
    with force_locale(order.user.locale or current_app.config["DEFAULT_LOCALE"]):
        text = _(
            "Order %(n)s was not picked up by %(day)s, so it is cancelled and the items are "
            "back on sale.",
            n=order.number,
            day=order.pickup_on.isoformat(),
        )
    notify.notify(order.user, text, f"/shop/orders/{order.id}")
