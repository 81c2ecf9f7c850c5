"""Test drives: the store's demo cars, their slots in store time, and bookings that never overlap.

A booking takes one slot of one car. The partial unique index on (car, slot start) of live
bookings is the rule: two advisors booking the same slot at the same moment get one booking
and one clear refusal, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from crm import leads as lead_svc
from crm.models import OPEN, STAGES, TEST_DRIVE, Lead, LeadEvent
from crm.pipeline_models import (
    BOOKED,
    CANCELLED,
    DRIVEN,
    NO_SHOW,
    DemoCar,
    DriveBooking,
    SalesSettings,
)
from portal import access
from portal.errors import Conflict, NotAllowed, ValidationError
from portal.extensions import db
from portal.i18n import in_language_of, language_of
from portal.models import Store, User
from portal.services.notify import notify
from portal.timeutil import now

DAYS_AHEAD = 30  # how far ahead a test drive may be booked
# A mainland resident ID number is the driving licence number: 17 digits and a check character.
_LICENCE = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def settings_for(store_id: int) -> SalesSettings:
    """Return the store's sales settings, the defaults if the store has not set any."""
    found = db.session.get(SalesSettings, store_id)
    return found or SalesSettings(store_id=store_id, discount_limit_fen=5_000_00, slot_minutes=60)


def normalize_licence(raw: str) -> str:
    """Return the licence number in canonical form, or raise ValidationError with the reason."""
    number = re.sub(r"\s", "", raw or "").upper()
    if not _LICENCE.match(number):
        raise ValidationError(
            _("A driving licence number has 18 characters: 17 digits and a digit or X."),
            field="licence_no",
        )
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
    if _CHECK[total % 11] != number[17]:
        raise ValidationError(
            _("This licence number's last character does not match: check it again."),
            field="licence_no",
        )
    return number


def mask_licence(number: str) -> str:
    """Hide the middle of a licence number (it is the holder's ID number)."""
    return number[:3] + "*" * max(len(number) - 7, 0) + number[-4:] if number else ""


@dataclass
class Slot:
    starts_at: datetime  # UTC
    ends_at: datetime
    local: datetime  # the start in store time, for labels


def slots(store: Store, day: date) -> list[Slot]:
    """Return the day's test-drive slots in the store's opening hours (UTC, with local start)."""
    zone = ZoneInfo(store.timezone)
    length = timedelta(minutes=settings_for(store.id).slot_minutes)
    start = datetime.combine(day, store.opens_at, tzinfo=zone)
    close = datetime.combine(day, store.closes_at, tzinfo=zone)
    result = []
    while start + length <= close:
        utc = start.astimezone(UTC)
        result.append(Slot(utc, utc + length, start))
        start += length
    return result


def cars(store_id: int) -> list[DemoCar]:
    """Return the store's active demo cars."""
    return list(
        db.session.scalars(
            select(DemoCar)
            .where(DemoCar.store_id == store_id, DemoCar.is_active.is_(True))
            .order_by(DemoCar.id)
        )
    )


def calendar(store: Store, day: date) -> tuple[list[DemoCar], list[Slot], dict]:
    """Return the store's cars, the day's slots and the live bookings by (car id, slot start)."""
    day_slots = slots(store, day)
    booked: dict[tuple[int, datetime], DriveBooking] = {}
    if day_slots:
        rows = db.session.scalars(
            select(DriveBooking).where(
                DriveBooking.store_id == store.id,
                DriveBooking.status != CANCELLED,
                DriveBooking.starts_at >= day_slots[0].starts_at,
                DriveBooking.starts_at < day_slots[-1].ends_at,
            )
        )
        booked = {(b.car_id, b.starts_at): b for b in rows}
    return cars(store.id), day_slots, booked


def add_car(actor: User, store: Store, brand: str, model_zh: str, model_en: str, plate: str):
    """Add a demo car to the store's fleet: managers only."""
    if not (lead_svc.is_manager(actor) and access.in_store(actor, store.id)):
        raise NotAllowed(_("Only a manager adds demo cars."))
    brand, model_zh, model_en = brand.strip(), model_zh.strip(), model_en.strip()
    if not brand or not model_zh or not model_en:
        raise ValidationError(_("Give the brand and the model in Chinese and English."))
    if len(brand) > 40 or len(model_zh) > 80 or len(model_en) > 80 or len(plate.strip()) > 8:
        raise ValidationError(_("A name is too long."))
    car = DemoCar(
        store_id=store.id, brand=brand, model_zh=model_zh, model_en=model_en, plate=plate.strip()
    )
    db.session.add(car)
    db.session.flush()
    return car


def book(
    actor: User,
    lead: Lead,
    car: DemoCar | None,
    starts_at: datetime | None,
    *,
    licence_no: str,
    licence_valid_until: date | None,
    licence_seen: bool,
) -> DriveBooking:
    """Book a demo car's slot for a lead, after the advisor has seen a valid driving licence."""
    if not lead_svc.may_work(actor, lead):
        raise NotAllowed(_("Only the lead's advisor or a manager may change it."))
    if lead.state != OPEN:
        raise ValidationError(_("Only an open lead moves through the stages."))
    if car is None or not car.is_active or car.store_id != lead.store_id:
        raise ValidationError(_("Choose one of this store's demo cars."), field="car")
    slot = _slot_at(lead.store, starts_at)
    number = normalize_licence(licence_no)
    if licence_valid_until is None or licence_valid_until < slot.local.date():
        raise ValidationError(
            _("The driving licence must be valid on the day of the drive."),
            field="licence_valid_until",
        )
    if not licence_seen:
        raise ValidationError(
            _("Check the original driving licence and tick the box."), field="licence_seen"
        )
    at = now()
    drive = DriveBooking(
        lead_id=lead.id,
        car_id=car.id,
        store_id=lead.store_id,
        advisor_id=lead.advisor_id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        status=BOOKED,
        licence_no=number,
        licence_valid_until=licence_valid_until,
        licence_checked_by_id=actor.id,
        licence_checked_at=at,
        created_at=at,
    )
    try:
        with db.session.begin_nested():  # the second booking of a slot fails here
            db.session.add(drive)
    except IntegrityError as exc:
        raise Conflict(_("This car is already booked at that time: choose another slot.")) from exc
    when = slot.local.strftime("%Y-%m-%d %H:%M")
    label = car.name("zh")
    if STAGES.index(lead.stage) < STAGES.index(TEST_DRIVE):
        lead_svc.advance(actor, lead, TEST_DRIVE, f"{label} {when}")
    db.session.add(
        LeadEvent(lead_id=lead.id, kind="drive_booked", actor_id=actor.id, note=f"{label} {when}")
    )
    customer = lead.customer
    with in_language_of(customer):
        text = _(
            "Test drive booked: %(car)s at %(store)s, %(when)s.",
            car=car.name(language_of(customer)),
            store=lead.store.name,
            when=when,
        )
    notify(customer, text, kind="booking")
    return drive


def _slot_at(store: Store, starts_at: datetime | None) -> Slot:
    if starts_at is None:
        raise ValidationError(_("Choose a time slot."), field="slot")
    local_day = starts_at.astimezone(ZoneInfo(store.timezone)).date()
    match = next((s for s in slots(store, local_day) if s.starts_at == starts_at), None)
    if match is None:
        raise ValidationError(_("Choose one of the store's time slots."), field="slot")
    if match.starts_at <= now() or match.starts_at > now() + timedelta(days=DAYS_AHEAD):
        raise ValidationError(
            _("Choose a slot from now to %(days)d days ahead.", days=DAYS_AHEAD), field="slot"
        )
    return match


def record_outcome(actor: User, drive: DriveBooking, status: str, outcome: str = "") -> None:
    """Log how a booked drive went (driven or no-show), or cancel it to free the slot."""
    if not lead_svc.may_work(actor, drive.lead):
        raise NotAllowed(_("Only the lead's advisor or a manager may change it."))
    if status not in (DRIVEN, NO_SHOW, CANCELLED):
        raise ValidationError(_("Choose what happened."), field="status")
    if status != CANCELLED and drive.starts_at > now():
        raise ValidationError(_("A drive's outcome is logged after it starts."), field="status")
    done = db.session.execute(  # one outcome wins if two people log it at once
        update(DriveBooking)
        .where(DriveBooking.id == drive.id, DriveBooking.status == BOOKED)
        .values(status=status, outcome=outcome.strip()[:2000])
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise Conflict(_("This test drive was already closed."))
    db.session.refresh(drive)
    db.session.add(
        LeadEvent(
            lead_id=drive.lead_id, kind=f"drive_{status}", actor_id=actor.id, note=outcome[:2000]
        )
    )


def drives_of(lead: Lead) -> list[DriveBooking]:
    """Return the lead's test drives, latest first."""
    return list(
        db.session.scalars(
            select(DriveBooking)
            .where(DriveBooking.lead_id == lead.id)
            .order_by(DriveBooking.starts_at.desc())
        )
    )
