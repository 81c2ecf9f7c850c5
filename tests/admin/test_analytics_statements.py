"""The repair analytics page runs a small fixed number of SQL statements, whatever it shows.

The page is opened as manager and as admin on a store with a few repairs, then again after
several times more cars came back, with more advisors, technicians and parts. A statement per
shown repeat (its car, its advisor) or per advisor would make the second count larger."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import ServiceItem, ServiceRecord, User, Vehicle
from portal.services import bookings as booking_svc
from portal.timeutil import now
from tests.admin.test_page_statements import Counter

URL = "/admin/booking_analytics/"
LIMIT = 20  # sign-in, the store filter, one statement per chart or table


def _job(store, car, advisor, technician, days_ago: int, part: str) -> None:
    """A completed brake job by `technician`, with `advisor` on the record and a part fitted."""
    db.session.add(
        ServiceRecord(
            vehicle_id=car.id,
            store_id=store.id,
            advisor_id=advisor.id,
            mileage_km=30000,
            fault_category="brakes",
            technician_note="异响",
            total_fen=60_000,
            completed_at=now() - timedelta(days=days_ago),
            items=[
                ServiceItem(
                    kind="labour",
                    description="工时",
                    unit_price_fen=20_000,
                    technician_id=technician.id,
                ),
                ServiceItem(
                    kind="part", description=part, part_no=part, quantity=2, unit_price_fen=20_000
                ),
            ],
        )
    )


def _add_comebacks(f, store, k: int) -> None:
    """Add `k` cars of new owners that came back with their brakes, each advisor deciding
    an online booking, each technician and part on its own jobs."""
    advisors = [f.advisor(store) for _ in range(k)]
    technicians = [f.technician(store) for _ in range(k)]
    for i in range(k):
        owner = f.owner(store)
        car = f.vehicle(owner)
        _job(store, car, advisors[i], technicians[i], 20, f"P{store.id}-{i}")
        _job(store, car, advisors[i], technicians[i], 8, f"P{store.id}-{i}")
        booking = f.booking(owner, store, days=2, hour=9 + i % 8, vehicle=car)
        booking_svc.accept(advisors[i], booking, bay=None, note="")
        db.session.commit()


def _count(client, auth, user) -> tuple[int, str]:
    auth.login(user)
    with Counter() as seen:
        response = client.get(URL)
    assert response.status_code == 200
    auth.logout()
    return len(seen.statements), response.get_data(as_text=True)


@pytest.fixture
def grown(f, client, auth):
    """Count as manager and admin with 2 comebacks, then with 14 in the store and 6 in another."""
    store = f.store("A")
    manager, admin = f.manager(store), f.admin()
    _add_comebacks(f, store, 2)
    small = {"manager": _count(client, auth, manager), "admin": _count(client, auth, admin)}
    _add_comebacks(f, store, 12)
    _add_comebacks(f, f.store("B"), 6)
    large = {"manager": _count(client, auth, manager), "admin": _count(client, auth, admin)}
    return small, large


def test_the_analytics_page_runs_a_fixed_small_number_of_statements(grown):
    small, large = grown
    counts = {role: (small[role][0], large[role][0]) for role in small}
    assert all(a == b <= LIMIT for a, b in counts.values()), counts


def _repeat_rows(html: str) -> list[str]:
    section = html[html.index('id="repeats"') : html.index('id="repeat-attribution"')]
    return re.findall(r"<tr>\s*<td>(.*?)</tr>", section, re.S)


def test_the_counted_pages_show_every_repeat_with_its_car_and_advisor(grown):
    """The counts above are of pages that list the repeats (eagerly loaded, not left out)."""
    small, large = grown
    assert re.search(r'id="repeat-count">2<', small["manager"][1])
    assert re.search(r'id="repeat-count">14<', large["manager"][1])
    assert re.search(r'id="repeat-count">20<', large["admin"][1])
    rows = _repeat_rows(large["admin"][1])
    assert len(rows) == 20
    advisors = {a.name for a in db.session.scalars(select(User).where(User.role == "advisor"))}
    plates = {v.plate for v in db.session.scalars(select(Vehicle))}
    for row in rows:
        assert any(p in row for p in plates) and any(a in row for a in advisors), row
