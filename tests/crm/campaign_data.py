"""Builders for the campaign tests: many customers and consents in a few statements."""

from __future__ import annotations

from sqlalchemy import insert, select

from crm import campaigns
from portal.extensions import db
from portal.models import MarketingConsent, User
from portal.timeutil import now

EVERYONE = {"not": {"field": "open_booking", "op": "is", "value": True}}
TEXT = {
    "body_zh": "{name}您好，{store}保养季九折。",
    "body_en": "Hello {name}, 10% off at {store}.",
}


def customers(store, n: int, start: int = 0) -> list[int]:
    """Add n owners of the store (no password: fast) and return their ids."""
    rows = [
        {
            "role": "owner",
            "name": f"车主{start + i}",
            "phone": f"159{store.id:02d}{start + i:06d}",
            "email": f"c{store.id}-{start + i}@example.com",
            "password_hash": "!",
            "store_id": store.id,
        }
        for i in range(n)
    ]
    db.session.execute(insert(User), rows)
    db.session.commit()
    phones = [r["phone"] for r in rows]
    return list(db.session.scalars(select(User.id).where(User.phone.in_(phones)).order_by(User.id)))


def consent_to(ids, channel: str) -> None:
    """Record consent on one channel for these customers."""
    if ids:
        db.session.execute(
            insert(MarketingConsent),
            [{"user_id": i, "channel": channel, "granted_at": now()} for i in ids],
        )
        db.session.commit()


def set_cap(n: int) -> None:
    from crm.campaigns import locked_settings

    locked_settings().cap_per_month = n
    db.session.commit()


def campaign(manager, store, channels=("inapp", "email"), rule=None, holdout=10, name="保养季"):
    """A draft campaign to a segment (every customer of the store unless a rule is given)."""
    segment = campaigns.save_segment(manager, store, f"{name} segment", rule or EVERYONE)
    draft = campaigns.Draft(
        name=name,
        segment=segment,
        texts={c: dict(TEXT) for c in channels},
        unit_costs={c: 5 for c in channels},
        holdout_pct=holdout,
    )
    found = campaigns.create_campaign(manager, draft)
    db.session.commit()
    return found
