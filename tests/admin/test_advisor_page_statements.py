"""An advisor's performance page runs a fixed number of SQL statements, whatever the advisor
has done: its lists are the newest ten, its figures one aggregate each."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import Rating
from portal.services import bookings as booking_svc
from tests.admin.test_page_statements import Counter

LIMIT = 20  # sign-in, the advisor, one statement per figure or list


def _customers(f, store, advisor, k: int) -> None:
    """Add k customers the advisor serves and referred, each with a decided, rated booking."""
    for i in range(k):
        owner = f.owner(store, advisor_id=advisor.id, referred_by_id=advisor.id)
        booking = f.booking(owner, store, days=2 + i % 5, hour=9 + i % 8, vehicle=f.vehicle(owner))
        booking_svc.accept(advisor, booking, bay=None, note="")
        db.session.add(
            Rating(
                booking_id=booking.id,
                owner_id=owner.id,
                advisor_id=advisor.id,
                service_stars=5,
                advisor_stars=1 + i % 5,
                comment=f"评价{i}",
            )
        )
        db.session.commit()


def _count(client, auth, user, url: str) -> int:
    auth.login(user)
    with Counter() as seen:
        response = client.get(url)
    assert response.status_code == 200
    auth.logout()
    return len(seen.statements)


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_the_performance_page_does_not_grow_with_the_advisors_work(f, client, auth, role):
    store = f.store("A")
    advisor = f.advisor(store)
    viewer = f.manager(store) if role == "manager" else f.admin()
    url = f"/admin/advisors/{advisor.id}"
    _customers(f, store, advisor, 2)
    small = _count(client, auth, viewer, url)
    _customers(f, store, advisor, 14)
    large = _count(client, auth, viewer, url)
    assert small == large <= LIMIT, (small, large)


def test_the_csi_page_does_not_grow_with_the_ratings_stores_and_advisors(f, client, auth):
    """The latest ratings name their store and advisor in the list's own statement."""
    admin = f.admin()
    store = f.store("A")
    _customers(f, store, f.advisor(store), 2)
    small = _count(client, auth, admin, "/admin/csi/")
    for name in ("B", "C", "D"):
        other = f.store(name)
        for _ in range(2):
            _customers(f, other, f.advisor(other), 3)
    large = _count(client, auth, admin, "/admin/csi/")
    assert small == large <= LIMIT, (small, large)
