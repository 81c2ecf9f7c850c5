"""The maintenance-reminders job visits only vehicles whose status may have moved."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from portal.models import MaintenanceReminder, ReminderCheck
from portal.services import maintenance as svc
from portal.services import reminder_checks
from portal.services import vehicles as vehicle_svc
from tests.portal.test_maintenance import make_plan


def _today():
    return svc._today()


def test_a_run_where_nothing_changed_visits_no_vehicle(f, db):
    make_plan(db)
    cars = [f.vehicle(f.owner(), current_km=km) for km in (3_000, 9_500, 10_200)]
    assert reminder_checks.vehicles_to_check(_today()) == [c.id for c in cars]
    assert svc.send_due_reminders() == 2  # due soon and due
    assert reminder_checks.vehicles_to_check(_today()) == []
    assert svc.send_due_reminders() == 0
    # km-only plan: no date can change anything, only a new reading.
    assert db.session.scalar(select(func.count()).where(ReminderCheck.check_on.is_not(None))) == 0


def test_a_new_reading_brings_the_vehicle_back_and_it_is_reminded(f, db):
    make_plan(db)
    car = f.vehicle(f.owner(), current_km=3_000)
    assert svc.send_due_reminders() == 0
    vehicle_svc.record_mileage(car, 9_200)
    db.session.commit()
    assert reminder_checks.vehicles_to_check(_today()) == [car.id]
    assert svc.send_due_reminders() == 1
    level = db.session.scalar(select(MaintenanceReminder.level))
    assert level == "due_soon"


def test_a_date_threshold_brings_the_vehicle_back_on_that_day(f, db, clock, app):
    make_plan(db, interval_km=None, interval_months=12)
    today = _today()
    car = f.vehicle(f.owner(), current_km=100, purchase_date=today - timedelta(days=300))
    assert svc.send_due_reminders() == 0
    check_on = db.session.scalar(select(ReminderCheck.check_on))
    due_day = svc.add_months(car.purchase_date, 12)
    assert check_on == due_day - timedelta(days=app.config["MAINTENANCE_SOON_DAYS"])
    clock.advance(days=(check_on - today).days - 1)
    assert reminder_checks.vehicles_to_check(_today()) == []
    clock.advance(days=1)
    assert reminder_checks.vehicles_to_check(_today()) == [car.id]
    assert svc.send_due_reminders() == 1
    assert db.session.scalar(select(ReminderCheck.check_on)) > _today()
