"""The maintenance journey in a real Chromium at phone size: the owner reads the schedule with
"other owners chose" percentages, books the due items and finds them in the booking."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.app import create_app
from portal.demo import DEMO_PASSWORD
from portal.extensions import db, limiter
from portal.models import Booking, User, Vehicle
from portal.models.accounts import OWNER
from portal.services import maintenance as svc
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e

TAKEN = {"13800000001", "13800000003", "13800000004", "13800000005"}  # other journeys' owners


class LiveDatabase:
    """The live server's own database, read through the portal's services in this process."""

    def __init__(self, live_server) -> None:
        enabled = limiter.enabled  # the factory sets the shared limiter's switch: keep it
        self.app = create_app(
            {
                "ENV": "testing",
                "SECRET_KEY": "e2e-live-database-reader-" + "0" * 32,
                "DATABASE_URL": live_server.env["M4S_DATABASE_URL"],
                "RATELIMIT_ENABLED": False,
            }
        )
        limiter.enabled = enabled

    def due_car(self) -> tuple[str, int, list[str], list[str]]:
        """Return (owner login, vehicle id, due item codes, item codes showing a percentage)
        of the first demo car that has due or overdue items and a shown percentage."""
        with self.app.app_context():
            try:
                cars = db.session.execute(
                    select(User.phone, Vehicle)
                    .join(Vehicle, Vehicle.owner_id == User.id)
                    # Demo owners only (138...): other journeys register owners with other
                    # passwords.
                    .where(User.role == OWNER, User.phone.like("138%"), User.phone.not_in(TAKEN))
                    .order_by(User.phone, Vehicle.id)
                ).all()
                for phone, vehicle in cars:
                    _plan, rows = svc.schedule(vehicle)
                    due = [r.item.code for r in rows if r.status in (svc.DUE, svc.OVERDUE)]
                    shown = [r.item.code for r in rows if r.uptake.scope != "none"]
                    if due and shown:
                        return phone, vehicle.id, due, shown
            finally:
                db.session.rollback()
                db.session.remove()
        raise AssertionError("no demo car with a due item and a shown uptake rate")

    def booking(self, booking_id: int) -> tuple[list[str], list[str]]:
        """Return the booking's maintenance items and service types."""
        with self.app.app_context():
            try:
                b = db.session.get(Booking, booking_id)
                return list(b.maintenance_items), list(b.service_types)
            finally:
                db.session.rollback()
                db.session.remove()


def test_owner_books_the_due_items_from_the_schedule(phone, live_server):
    live = LiveDatabase(live_server)
    owner_login, vehicle_id, due, shown = live.due_car()
    page = phone
    login(page, owner_login, DEMO_PASSWORD[OWNER])
    expect(page).to_have_url(live_server.url + "/")

    page.goto(f"/vehicles/{vehicle_id}/maintenance")
    assert_fits_phone(page)
    expect(page.locator(f"#uptake-{shown[0]} strong")).to_have_text(re.compile(r"^\d{1,3}% "))
    for code in due:  # due and overdue items come pre-selected
        expect(page.locator(f"#pick-{code}")).to_be_checked()
        expect(page.locator(f"#item-{code} .status-badge")).to_be_visible()
    names = [page.locator(f"#item-{code} label").inner_text().strip() for code in due]

    page.locator("#book-items").click()
    expect(page).to_have_url(re.compile(r"/bookings/new\?"))
    assert_fits_phone(page)
    hidden = page.locator("#booking-form input[name=maintenance_items]")  # exactly one
    expect(hidden).to_have_attribute("type", "hidden")
    assert sorted(hidden.input_value().split(",")) == sorted(due)
    expect(page.locator("input[name=service_types][value=maintenance]")).to_be_checked()
    expect(page.locator("#vehicle")).to_have_value(str(vehicle_id))
    for name in names:
        expect(page.locator("#description")).to_have_value(re.compile(re.escape(name)))

    page.locator("input[name=slot]").first.check()
    page.locator("#book-submit").click()
    expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
    booking_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(f"#booking-status-{booking_id}.status-submitted")).to_be_visible()
    for name in names:
        expect(page.locator("#main")).to_contain_text(name)
    assert_fits_phone(page)

    items, types = live.booking(booking_id)
    assert sorted(items) == sorted(due)
    assert "maintenance" in types
