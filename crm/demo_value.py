"""Demo customer value: run the nightly computation so the report and the value bands are
filled, and save a segment of the demo store's best customers by band (idempotent).

The demo history is dense (a service record per maintenance item, many shop orders for a few
owners), so under the default thresholds every demo customer would be "core". The demo store's
manager therefore sets the spend thresholds of the top two bands to the store's own spread, as a
manager would: core is about the top sixth of spenders, important the next sixth, through the
same band editor (and its checks) a manager uses.
"""

from __future__ import annotations

from sqlalchemy import func, select

from crm import campaigns, customer_value, value_bands
from crm.campaign_models import Segment
from crm.value_bands import BandInput
from crm.value_models import CustomerValue, ValueBand
from portal.demo import DEMO_LOGINS
from portal.extensions import db
from portal.models import User
from portal.models.accounts import MANAGER

SEGMENT_NAME = "核心与重要客户 · Core and important customers"
SHARES = (6, 3)  # core: the top sixth by spend; important: down to the top third


def load_value_demo() -> dict[str, int]:
    """Compute every customer's value now, tune the demo store's bands once, save a segment."""
    result = customer_value.refresh_values()
    manager = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[MANAGER]))
    if manager is None or manager.store is None:
        return {**result, "segments": 0}
    store = manager.store
    saved = select(Segment.id).where(Segment.store_id == store.id, Segment.name == SEGMENT_NAME)
    if db.session.scalar(saved) is not None:
        return {**result, "segments": 0}
    bands = customer_value.bands(store.id)
    for band, share in zip(bands[:2], SHARES, strict=False):
        _tune(manager, band, share)
    rule = {"field": "value_band", "op": "in", "value": [b.id for b in bands[:2]]}
    campaigns.save_segment(manager, store, SEGMENT_NAME, rule)
    return {**result, "segments": 1}


def _tune(manager: User, band: ValueBand, share: int) -> None:
    """Set the band's spend threshold to the spend of the store's top 1/share customer."""
    spend = CustomerValue.monetary_fen
    mine = CustomerValue.store_id == band.store_id
    customers = db.session.scalar(select(func.count()).where(mine)) or 0
    if customers < share:
        return
    cut = db.session.scalar(
        select(spend).where(mine).order_by(spend.desc()).offset(customers // share - 1).limit(1)
    )
    value_bands.update_band(
        manager,
        band.id,
        BandInput(
            name_zh=band.name_zh,
            name_en=band.name_en,
            position=str(band.position),
            recency_min_days=_text(band.recency_min_days),
            recency_max_days=_text(band.recency_max_days),
            frequency_min=str(band.frequency_min),
            spend_min_yuan=str(max(cut, 0) // 100),
        ),
    )


def _text(days: int | None) -> str:
    return "" if days is None else str(days)
