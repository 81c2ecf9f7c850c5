"""A store's managers edit its customer value bands: names in Chinese and English, order, and
thresholds on recency, frequency and spend. Every change re-bands the store's customers at once
(one UPDATE), so the report and the segments agree with the bands as they now stand."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from crm.customer_value import band_customers
from crm.profiles import flush_named
from crm.value_models import WINDOW_DAYS, CustomerValue, ValueBand
from portal.errors import NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.models import User
from portal.models.accounts import MANAGER
from portal.money import fen_from_form
from portal.services import audit

MAX_BANDS = 10
MAX_FREQUENCY = 10_000
MAX_SPEND_FEN = 10**12  # ten billion yuan: any real threshold is below


@dataclass(frozen=True)
class BandInput:
    """A band as typed in the form: every value is the raw text."""

    name_zh: str = ""
    name_en: str = ""
    position: str = ""
    recency_min_days: str = ""
    recency_max_days: str = ""
    frequency_min: str = ""
    spend_min_yuan: str = ""


def _require_manager(actor: User) -> int:
    if actor.role != MANAGER or not actor.is_active or actor.store_id is None:
        raise NotAllowed(_("Only the store's managers edit the customer value bands."))
    return actor.store_id


def _whole(
    raw: str, low: int, high: int, field: str, message: str, *, optional=False, blank=None
) -> int | None:
    text = (raw or "").strip()
    if not text:
        if optional:
            return blank
        raise ValidationError(message, field=field)
    if not re.fullmatch(r"[0-9]{1,7}", text) or not low <= int(text) <= high:
        raise ValidationError(message, field=field)
    return int(text)


def _values(data: BandInput) -> dict:
    zh, en = " ".join((data.name_zh or "").split()), " ".join((data.name_en or "").split())
    if not zh or len(zh) > 30:
        raise ValidationError(_("Give the band a Chinese name of up to 30 characters."), "name_zh")
    if len(en) > 30:
        raise ValidationError(_("The English name has at most 30 characters."), field="name_en")
    position = _whole(
        data.position, 1, 99, "position", _("The order is a whole number from 1 to 99.")
    )
    days = _(
        "Days since the last visit are a whole number from 0 to %(n)d, or empty for any.",
        n=WINDOW_DAYS,
    )
    r_min = _whole(data.recency_min_days, 0, WINDOW_DAYS, "recency_min_days", days, optional=True)
    r_max = _whole(data.recency_max_days, 0, WINDOW_DAYS, "recency_max_days", days, optional=True)
    if r_min is not None and r_max is not None and r_min > r_max:
        raise ValidationError(
            _("The fewest days since the last visit cannot be more than the most."),
            field="recency_min_days",
        )
    frequency = _whole(
        data.frequency_min,
        0,
        MAX_FREQUENCY,
        "frequency_min",
        _("The number of visits and orders is a whole number from 0 to 10000."),
        optional=True,
        blank=0,
    )
    spend = 0
    if (data.spend_min_yuan or "").strip():
        spend = fen_from_form(data.spend_min_yuan, field="spend_min_yuan", max_fen=MAX_SPEND_FEN)
    return {
        "name_zh": zh,
        "name_en": en,
        "position": position,
        "recency_min_days": r_min,
        "recency_max_days": r_max,
        "frequency_min": frequency,
        "spend_min_fen": spend,
    }


def _flush_unique(band: ValueBand, add: bool = False) -> None:
    flush_named(band, _("The store already has a band of this name."), add)


def add_band(actor: User, data: BandInput) -> ValueBand:
    """Add a band to the manager's store and re-band its customers."""
    store_id = _require_manager(actor)
    values = _values(data)
    count = db.session.scalar(
        select(func.count(ValueBand.id)).where(ValueBand.store_id == store_id)
    )
    if count >= MAX_BANDS:
        raise ValidationError(_("A store keeps at most 10 value bands."), field="name_zh")
    band = ValueBand(store_id=store_id, **values)
    _flush_unique(band, add=True)
    band_customers(store_id)
    audit.record("value_band_added", actor=actor, target=band, name=band.name_zh)
    return band


def _band(actor: User, band_id: int) -> ValueBand:
    store_id = _require_manager(actor)
    band = db.session.get(ValueBand, band_id)
    if band is None or band.store_id != store_id:
        raise NotFound(_("No such value band."))
    return band


def update_band(actor: User, band_id: int, data: BandInput) -> ValueBand:
    """Change a band's names, order or thresholds and re-band the store's customers."""
    band = _band(actor, band_id)
    values = _values(data)  # all checked before anything changes
    for key, value in values.items():
        setattr(band, key, value)
    _flush_unique(band)
    band_customers(band.store_id)
    audit.record("value_band_changed", actor=actor, target=band, name=band.name_zh)
    return band


def remove_band(actor: User, band_id: int) -> None:
    """Delete a band (never the store's last) and re-band its customers."""
    band = _band(actor, band_id)
    count = db.session.scalar(
        select(func.count(ValueBand.id)).where(ValueBand.store_id == band.store_id)
    )
    if count <= 1:
        raise ValidationError(_("A store keeps at least one value band."), field="name_zh")
    db.session.execute(
        update(CustomerValue)
        .where(CustomerValue.band_id == band.id)
        .values(band_id=None)
        .execution_options(synchronize_session=False)
    )
    audit.record("value_band_removed", actor=actor, target=band, name=band.name_zh)
    store_id = band.store_id
    db.session.delete(band)
    db.session.flush()
    band_customers(store_id)
