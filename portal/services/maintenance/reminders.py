"""Send each owner one reminder per item and level as items fall due."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.extensions import db
from portal.models import (
    Vehicle,
)
from portal.services.maintenance.due import DUE, OVERDUE, SOON, _today
from portal.services.maintenance.schedule import schedule
from portal.services.maintenance.uptake import sync_vehicle
from portal.timeutil import now

LEVELS = (SOON, DUE, OVERDUE)


def _claim_reminder(vehicle_id: int, code: str, due_key: str, level: str) -> bool:
    """Insert the reminder row; only the caller that inserted it may send (UNIQUE + no-op)."""
    from portal.models import MaintenanceReminder

    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    table = MaintenanceReminder.__table__
    inserted = db.session.execute(
        insert(table)
        .values(vehicle_id=vehicle_id, code=code, due_key=due_key, level=level, sent_at=now())
        .on_conflict_do_nothing(index_elements=["vehicle_id", "code", "due_key", "level"])
        .returning(table.c.id)  # psycopg reports no rowcount for INSERT; RETURNING tells
    ).first()
    return inserted is not None


def remind_vehicle(vehicle: Vehicle) -> int:
    """Sync the vehicle's due events and send each new due-soon/due/overdue reminder once."""
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from portal.mail import send_mail
    from portal.models import Notification, User
    from portal.services import channels

    sync_vehicle(vehicle)
    _plan, rows = schedule(vehicle)
    owner = db.session.get(User, vehicle.owner_id)
    sent = 0
    for row in rows:
        if row.status not in LEVELS:
            continue
        if not _claim_reminder(vehicle.id, row.item.code, row.point.key, row.status):
            continue
        with force_locale(owner.locale or current_app.config["DEFAULT_LOCALE"]):
            text = {
                SOON: _(
                    "%(plate)s: %(item)s is due soon.", plate=vehicle.plate, item=row.item.shown()
                ),
                DUE: _(
                    "%(plate)s: %(item)s is due now.", plate=vehicle.plate, item=row.item.shown()
                ),
                OVERDUE: _(
                    "%(plate)s: %(item)s is overdue.", plate=vehicle.plate, item=row.item.shown()
                ),
            }[row.status]
        link = f"/vehicles/{vehicle.id}/maintenance"
        if owner.remind_inapp:
            db.session.add(Notification(user_id=owner.id, text=text, link=link, created_at=now()))
        if owner.remind_email and owner.email:
            base = current_app.config["BASE_URL"].rstrip("/")
            send_mail(
                owner.email,
                text,
                f"{text}\n\n{base}{link}",
                kind="reminder",
                store_id=owner.store_id,
                user_id=owner.id,
            )
        # SMS and WeChat as the owner chose them (Messages and channels), quiet hours kept.
        channels.fan_out(
            owner,
            "reminder",
            subject=text,
            text=text,
            link=current_app.config["BASE_URL"].rstrip("/") + link,
            params={"plate": vehicle.plate, "item": row.item.name},
            at=now(),
            only=("sms", "wechat"),
        )
        sent += 1
    return sent


def send_due_reminders() -> int:
    """The maintenance-reminders job: check only the vehicles whose status may have moved
    (a new mileage, or a date threshold reached; see reminder_checks), committing each."""
    from portal.services import reminder_checks

    today = _today()
    ids = reminder_checks.vehicles_to_check(today)
    db.session.commit()
    sent = 0
    for vehicle_id in ids:
        vehicle = db.session.get(Vehicle, vehicle_id)
        if vehicle is None:  # deleted meanwhile
            continue
        sent += remind_vehicle(vehicle)
        _plan, rows = schedule(vehicle)
        check_on = reminder_checks.next_check_on([row.point for row in rows], today)
        reminder_checks.record_check(vehicle.id, vehicle.current_km, check_on)
        db.session.commit()
    return sent
