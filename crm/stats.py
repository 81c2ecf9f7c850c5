"""Speed to lead: time to first contact per advisor, against the 5-minute target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from crm.leads import FIRST_CONTACT_MINUTES
from crm.models import Lead
from portal import access
from portal.extensions import db
from portal.models import Store, User
from portal.timeutil import now

# When the lead reached us: an imported platform lead counts from its import, not its
# creation on the platform.
ARRIVED = func.coalesce(Lead.arrived_at, Lead.created_at, type_=Lead.created_at.type)


@dataclass
class Speed:
    advisor: str
    leads: int
    contacted: int
    median_min: float | None
    p90_min: float | None
    on_time: int  # first contact within the target


def _quantile(sorted_values: list[float], q: float) -> float | None:
    """Return the nearest-rank quantile of sorted values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 1))  # ceil(n * q), at least 1
    return sorted_values[int(rank) - 1]


def speed_to_lead(viewer: User, days: int = 30, store_id: int | None = None) -> list[Speed]:
    """Return time to first contact per advisor for the leads received in the last days,
    counted on time against the store's target (one who sees every store may choose one)."""
    end = now()
    return speed_report(viewer, end - timedelta(days=days), end, store_id).by_advisor


def store_target(viewer: User, store_id: int | None = None) -> int:
    """The first-contact target in minutes of the chosen store (for one who sees every store),
    else of the viewer's store (the default without a store)."""
    if store_id is None or not access.sees_all_stores(viewer):
        store_id = viewer.store_id
    store = db.session.get(Store, store_id) if store_id else None
    return (store.first_contact_minutes if store else None) or FIRST_CONTACT_MINUTES


@dataclass
class SpeedReport:
    target_min: int  # the store's first-contact target
    by_advisor: list[Speed]
    by_source: list[Speed]  # Speed.advisor holds the source key here


def _speeds(groups: dict[str, list], target: int) -> list[Speed]:
    result = []
    for key, items in sorted(groups.items()):
        minutes = sorted((f - c).total_seconds() / 60 for c, f in items if f is not None)
        result.append(
            Speed(
                advisor=key,
                leads=len(items),
                contacted=len(minutes),
                median_min=_quantile(minutes, 0.5),
                p90_min=_quantile(minutes, 0.9),
                on_time=sum(1 for m in minutes if m <= target),
            )
        )
    return result


def speed_report(viewer: User, start_utc, end_utc, store_id: int | None = None) -> SpeedReport:
    """Return time to first contact per advisor and per source for the leads received in
    [start_utc, end_utc), against the store's target (one query); one who sees every store
    may narrow it to store_id."""
    target = store_target(viewer, store_id)
    rows = db.session.execute(
        access.chosen_store_scope(
            select(User.name, Lead.source, ARRIVED, Lead.first_contact_at)
            .outerjoin(User, User.id == Lead.advisor_id)
            .where(Lead.created_at >= start_utc, Lead.created_at < end_utc),
            Lead,
            viewer,
            store_id,
        )
    ).all()
    by_advisor: dict[str, list] = {}
    by_source: dict[str, list] = {}
    for name, source, created, first in rows:
        by_advisor.setdefault(name or "", []).append((created, first))
        by_source.setdefault(source, []).append((created, first))
    return SpeedReport(target, _speeds(by_advisor, target), _speeds(by_source, target))
