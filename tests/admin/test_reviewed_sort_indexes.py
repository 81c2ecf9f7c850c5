"""The group admin's reviewed bookings sorted by the day booked for or by the decision read a
page through the partial indexes of the decided bookings, not a sort of every one of them; a
reason or a note is no sort column (filtered or searched instead).

The plans are PostgreSQL's (sequential scans off: on a test's few rows the planner would
rather read the table whole)."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.services import bookings as booking_svc
from tests.plans import postgres_plan, statements_during


def _booking_selects(client, url: str) -> list[tuple[str, object]]:
    def work():
        assert client.get(url).status_code == 200

    seen = statements_during(work)
    return [(s, p) for s, p in seen if "FROM bookings" in s and "ORDER BY" in s]


@pytest.fixture
def decided(f):
    store = f.store()
    advisor = f.advisor(store)
    owner = f.owner(store)
    for day in range(3):
        booking = f.booking(owner, store, days=2 + day, vehicle=f.vehicle(owner))
        booking_svc.accept(advisor, booking, bay=None, note="")
    db.session.commit()
    return store


@pytest.mark.parametrize(
    ("sort", "index"), [(2, "ix_bookings_decided_slot"), (6, "ix_bookings_decided_at")]
)
def test_the_admins_sorted_reviewed_list_reads_a_partial_index(
    f, client, auth, decided, sort, index
):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the partial index's plan is PostgreSQL's")
    auth.login(f.admin())
    found = _booking_selects(client, f"/admin/reviewed/?sort={sort}")
    assert found, "the list's statement"
    statement, parameters = found[0]
    plan = postgres_plan(statement, parameters)
    assert index in plan, (statement, plan)


def test_a_reason_or_a_note_is_no_sort_column(f, client, auth, decided):
    auth.login(f.admin())
    page = client.get("/admin/reviewed/").get_data(as_text=True)
    assert "sort=2" in page and "sort=6" in page  # booked for, decided at
    assert "sort=7" not in page and "sort=8" not in page  # reason, note
