"""List prices set from a price list: now, or from a day on (scheduled, applied by the worker)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update

from portal.extensions import db
from portal.models import Store, User
from portal.timeutil import now, to_local
from shop.models import Product, ScheduledPrice

UTC = ZoneInfo("UTC")


def store_today(store: Store) -> date:
    """Return today's date in the store's zone."""
    return to_local(now(), store.timezone).date()


def day_start(store: Store, day: date) -> datetime:
    """Return midnight of the day in the store's zone, as an aware UTC time."""
    return datetime.combine(day, time(0), ZoneInfo(store.timezone)).astimezone(UTC)


def set_price(product: Product, price_fen: int) -> None:
    """Give the product this list price now."""
    db.session.execute(
        update(Product)
        .where(Product.id == product.id)
        .values(price_fen=price_fen)
        .execution_options(synchronize_session=False)
    )


def schedule(product: Product, price_fen: int, day: date, store: Store, actor: User) -> None:
    """Give the product this list price from the day on (store zone); a pending price of the
    same product and moment is replaced."""
    starts_at = day_start(store, day)
    db.session.execute(
        delete(ScheduledPrice).where(
            ScheduledPrice.product_id == product.id,
            ScheduledPrice.starts_at == starts_at,
            ScheduledPrice.applied_at.is_(None),
        )
    )
    db.session.add(
        ScheduledPrice(
            product_id=product.id,
            price_fen=price_fen,
            starts_at=starts_at,
            store_id=store.id,
            actor_id=actor.id or None,
        )
    )
    db.session.flush()


def pending(limit: int = 50) -> list[ScheduledPrice]:
    """Return the scheduled prices not applied yet, soonest first."""
    return list(
        db.session.scalars(
            select(ScheduledPrice)
            .where(ScheduledPrice.applied_at.is_(None))
            .order_by(ScheduledPrice.starts_at, ScheduledPrice.id)
            .limit(limit)
        )
    )


def apply_due(limit: int = 500) -> int:
    """Apply the scheduled prices whose moment has come, oldest first; return how many.

    Each is claimed by a conditional UPDATE, so two workers never apply one twice, and a later
    price of the same product lands after an earlier one."""
    at = now()
    due = db.session.execute(
        select(ScheduledPrice.id, ScheduledPrice.product_id, ScheduledPrice.price_fen)
        .where(ScheduledPrice.applied_at.is_(None), ScheduledPrice.starts_at <= at)
        .order_by(ScheduledPrice.starts_at, ScheduledPrice.id)
        .limit(limit)
    ).all()
    applied = 0
    for row_id, product_id, price_fen in due:
        claimed = db.session.execute(
            update(ScheduledPrice)
            .where(ScheduledPrice.id == row_id, ScheduledPrice.applied_at.is_(None))
            .values(applied_at=at)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        db.session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(price_fen=price_fen)
            .execution_options(synchronize_session=False)
        )
        applied += 1
    db.session.commit()
    return applied
