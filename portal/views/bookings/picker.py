"""Fill the store, day and slot pickers of the booking forms."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask import abort, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.errors import ValidationError
from portal.extensions import db
from portal.forms.bookings import SERVICE_TYPE_LABELS, BookingForm
from portal.models import Store, User
from portal.services import capacity


def _stores() -> list[Store]:
    return list(
        db.session.scalars(select(Store).where(Store.is_active.is_(True)).order_by(Store.id))
    )


def day_choices(store: Store) -> list[SelectChoice]:
    """Return the bookable days of a store as picker choices."""
    return [SelectChoice(d.isoformat(), _day_label(d)) for d in capacity.bookable_days(store)]


def _day_label(d: date) -> str:
    return _label(d, str(get_locale()))


@lru_cache(maxsize=1024)
def _label(d: date, locale: str) -> str:
    # 31 day names per booking form: Babel's formatting is worth caching per day and locale.
    return babel_dates.format_date(d, "EEE, MMM d", locale=locale)


def slot_choices(
    store: Store, day: date, keep: datetime | None = None, slots: list | None = None
) -> list[SelectChoice]:
    """Return the free slots of a store's day (and the kept one) as picker choices."""
    tz = ZoneInfo(store.timezone)
    choices = []
    for s in capacity.slots_for_day(store, day) if slots is None else slots:
        if s.free > 0 or s.starts_at == keep:
            label = s.starts_at.astimezone(tz).strftime("%H:%M")
            hint = _("%(n)d free", n=s.free)
            choices.append(SelectChoice(s.starts_at.isoformat(), f"{label} · {hint}"))
    return choices


def parse_day(raw: str | None, store: Store) -> date:
    """Parse a picked day, falling back to the store's first bookable day."""
    days = capacity.bookable_days(store)
    try:
        day = date.fromisoformat(raw or "")
    except ValueError:
        return days[0]
    return day


def parse_slot(raw: str | None) -> datetime:
    """Parse a slot value (ISO 8601 with offset) or raise ValidationError."""
    try:
        value = datetime.fromisoformat(raw or "")
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationError(_("Pick a time."), field="slot")
    return value.astimezone(ZoneInfo("UTC"))


def submitted(form: FlaskForm) -> bool:
    """Return whether the form was posted to be saved (not to show other slots) and is valid."""
    return request.method == "POST" and "show" not in request.form and form.validate_on_submit()


def prepare(
    form: BookingForm, owner: User, store: Store | None = None, keep: datetime | None = None
) -> Store:
    """Fill the choices of a booking form and return the chosen store."""
    vehicles = owner.vehicles
    form.vehicle.choices = [SelectChoice(v.id, f"{v.plate} · {v.label}") for v in vehicles]
    stores = _stores()
    form.store.choices = [SelectChoice(s.id, s.name) for s in stores]
    form.service_types.choices = [SelectChoice(k, v) for k, v in SERVICE_TYPE_LABELS.items()]
    chosen = (
        store
        or next((s for s in stores if s.id == form.store.data), None)
        or next((s for s in stores if s.id == owner.store_id), stores[0] if stores else None)
    )
    if chosen is None:
        abort(503)
    form.store.data = chosen.id
    form.day.choices = day_choices(chosen)
    if form.day.data:
        day, slots = parse_day(form.day.data, chosen), None
    else:
        day, slots = first_free_day(chosen)
    form.day.data = day.isoformat()
    form.slot.choices = slot_choices(chosen, day, keep, slots)
    return chosen


def first_free_day(store: Store) -> tuple[date, list[capacity.Slot]]:
    """Return the first bookable day with a free place (today is often over already), and
    its slots."""
    days = capacity.bookable_days(store)
    slots = capacity.slots_for_days(store, days[:14])  # two queries for the 14 days
    day = next((d for d in days[:14] if any(s.free > 0 for s in slots[d])), days[0])
    return day, slots[day]
