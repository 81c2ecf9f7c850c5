"""Which vehicles the maintenance-reminders job must look at: those whose status may have moved.

A status moves for one of two reasons: a new mileage (the reading differs from the one the
vehicle was last checked at) or the calendar reaching a date threshold of one of its items
(due soon, due, inside or after the window). After each check the vehicle's row records its
reading and the next such date, so a run where nothing changed reads one index range and one
join that returns nothing, and visits no vehicle.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import bindparam, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.extensions import db
from portal.models import ReminderCheck, Vehicle

_CHECKS, _CARS = ReminderCheck.__table__, Vehicle.__table__

# Due by date (index on check_on), and never checked or driven since (one join, no Python loop).
_DUE_BY_DATE = select(_CHECKS.c.vehicle_id).where(_CHECKS.c.check_on <= bindparam("today"))
_MOVED = (
    select(_CARS.c.id)
    .select_from(_CARS.outerjoin(_CHECKS, _CHECKS.c.vehicle_id == _CARS.c.id))
    .where(or_(_CHECKS.c.vehicle_id.is_(None), _CHECKS.c.km != _CARS.c.current_km))
)


def vehicles_to_check(today: date) -> list[int]:
    """Return the ids of the vehicles whose reminder status may have changed, in id order."""
    conn = db.session.connection()
    due = conn.scalars(_DUE_BY_DATE, {"today": today}).all()
    moved = conn.scalars(_MOVED).all()
    return sorted(set(due) | set(moved))


def next_check_on(points, today: date) -> date | None:
    """Return the first date after today on which a due point's status or window changes."""
    cfg = current_app.config
    soon = timedelta(days=int(cfg["MAINTENANCE_SOON_DAYS"]))
    window = timedelta(days=int(cfg["MAINTENANCE_WINDOW_DAYS"]))
    one = timedelta(days=1)
    dates = [
        d
        for point in points
        if point.day is not None
        for d in (point.day - soon, point.day - window, point.day, point.day + window + one)
        if d > today
    ]
    return min(dates, default=None)


def record_check(vehicle_id: int, km: int, check_on: date | None) -> None:
    """Remember the reading and the next date at which the vehicle must be looked at again."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(_CHECKS).values(vehicle_id=vehicle_id, km=km, check_on=check_on)
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["vehicle_id"], set_={"km": km, "check_on": check_on}
        )
    )


def forget_all() -> None:
    """Make the next run check every vehicle (after a plan changed)."""
    db.session.execute(_CHECKS.delete())
