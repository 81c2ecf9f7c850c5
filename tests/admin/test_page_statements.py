"""Staff pages at group scale: the SQL statements of a page do not grow with its rows.

Each page is opened as admin and as manager on a small store and again after several times
more rows were added (more stores, bookings, cars, requests, leads and notices). The count
of statements must be the same small number both times: a per-row query (N+1) fails it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from crm import leads as lead_svc
from crm.models import PHONE
from portal.extensions import db
from portal.models import ServiceRecord
from portal.models.usedcars import UsedCarFlag
from portal.services import bookings as booking_svc
from portal.services import notices
from portal.timeutil import now
from tests.portal.test_usedcars import submit

PAGES = (
    "/admin/queue/",
    "/admin/queue/items?after=0",
    "/admin/workshop/",
    "/admin/reviewed/",
    "/admin/usedcar_review/",
    "/admin/usedcar_leads/",
    "/admin/advisors/",
    "/admin/notices/",
    "/admin/leads/?scope=store",
    "/admin/sales_board/",
    "/admin/vehicles_admin/",
    "/admin/vehicles_admin/?sort=0",
)

# The most statements any of these pages may issue (sign-in, menu, counts, the page's lists).
LIMIT = 30


class Counter:
    """Count the SQL statements the engine runs while it is installed."""

    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self)


def _add_store(f, k: int, manager=None):
    """Add a store with `k` of everything the measured pages list."""
    store = f.store(bays=20)
    manager = manager or f.manager(store)
    advisors = [f.advisor(store) for _ in range(k)]
    owners = [f.owner(store, advisor_id=advisors[i % k].id) for i in range(k)]
    for i, owner in enumerate(owners):
        car = f.vehicle(owner)
        old = ServiceRecord(
            store_id=store.id,
            vehicle_id=car.id,
            completed_at=now() - timedelta(days=30 + i),
            mileage_km=9000,
            fault_category="brakes",
            total_fen=50_000,
            technician_note="刹车片",
        )
        db.session.add(old)
        f.booking(owner, store, days=2, hour=9 + i % 8, vehicle=car)  # pending
        accepted = f.booking(owner, store, days=3, hour=9 + i % 8, vehicle=car)
        booking_svc.accept(advisors[i % k], accepted, bay=None, note="")
        rejected = f.booking(owner, store, days=4, hour=9 + i % 8, vehicle=car)
        booking_svc.reject(advisors[i % k], rejected, "no_capacity", "")
        req = submit(owner)
        db.session.add(UsedCarFlag(request_id=req.id, kind="mileage_low", detail={}))
        lead_svc.capture(
            lead_svc.Inquiry(
                name=f"客户{store.id}-{i}",
                phone=f"139{store.id:04d}{i:04d}",
                store=store,
                source=PHONE,
            )
        )
        db.session.commit()
    notices.publish(manager, title="周会", body="周一八点开会")
    db.session.commit()
    return store, manager


def _counts(client, auth, user) -> dict[str, int]:
    auth.login(user)
    counts = {}
    for url in PAGES:
        with Counter() as seen:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        counts[url] = len(seen.statements)
    auth.logout()
    return counts


@pytest.fixture
def grown(f, client, auth):
    """Measure every page as admin and manager on one small store, then on four more rows
    per store and two more stores; return both measurements."""
    store, manager = _add_store(f, 2)
    admin = f.admin()
    small = {"admin": _counts(client, auth, admin), "manager": _counts(client, auth, manager)}
    _add_store(f, 6)
    _add_store(f, 6)
    for _ in range(3):
        _add_store_rows(f, store)
    large = {"admin": _counts(client, auth, admin), "manager": _counts(client, auth, manager)}
    return small, large


def _add_store_rows(f, store):
    """Add more of everything to an existing store (its manager sees them)."""
    advisor = f.advisor(store)
    owner = f.owner(store, advisor_id=advisor.id)
    car = f.vehicle(owner)
    f.booking(owner, store, days=5, hour=11, vehicle=car)
    accepted = f.booking(owner, store, days=6, hour=11, vehicle=car)
    booking_svc.accept(advisor, accepted, bay=None, note="")
    submit(owner)
    lead_svc.capture(
        lead_svc.Inquiry(name="新客户", phone=f"1377777{car.id:04d}", store=store, source=PHONE)
    )
    db.session.commit()


def test_each_staff_page_runs_a_small_fixed_number_of_statements(grown):
    small, large = grown
    report = {(role, url): (small[role][url], large[role][url]) for role in small for url in PAGES}
    grew = {k: v for k, v in report.items() if v[1] != v[0]}
    too_many = {k: v for k, v in report.items() if v[1] > LIMIT}
    assert not grew and not too_many, report
