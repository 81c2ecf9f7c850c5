"""The daily activity report's and the CSI page's reads at group scale: their indexes exist,
and the group admin's per-advisor ratings count every store's ratings from the ratings alone."""

from __future__ import annotations

from sqlalchemy import inspect

from crm import quality_stats
from portal.extensions import db
from portal.services import bookings
from tests.admin.test_page_statements import Counter
from tests.crm.quality_data import finished_job


def _leading(table: str) -> set[tuple[str, ...]]:
    return {tuple(i["column_names"]) for i in inspect(db.engine).get_indexes(table)}


def test_tasks_by_store_and_done_time_and_ratings_by_time_have_an_index(app):
    assert ("store_id", "done_at") in _leading("crm_tasks")
    assert any(cols[:1] == ("created_at",) for cols in _leading("ratings"))


def test_the_group_admin_counts_ratings_per_advisor_without_the_bookings(f, auth, client):
    home, away = f.store(), f.store()
    mine, theirs = f.advisor(home), f.advisor(away)
    db.session.commit()
    for store, advisor, stars in ((home, mine, 2), (home, mine, 4), (away, theirs, 5)):
        booking = finished_job(store, advisor)
        bookings.rate(booking.owner, booking, stars, stars, "")
    db.session.commit()
    admin = f.admin()
    per, latest = quality_stats.ratings(admin)
    assert sorted((name, n, s) for name, n, s, _a in per) == [
        (mine.name, 2, 3.0),
        (theirs.name, 1, 5.0),
    ]
    assert len(latest) == 3
    (own,) = quality_stats.ratings(f.manager(home))[0]
    assert own[:3] == (mine.name, 2, 3.0)
    auth.login(admin)
    with Counter() as seen:
        assert client.get("/admin/csi/").status_code == 200
    (counted,) = [s for s in seen.statements if "avg(ratings.service_stars)" in s]
    assert "bookings" not in counted


def test_a_store_manager_counts_the_stores_ratings_by_their_own_store(f, auth, client):
    """A rating keeps its booking's store: the manager's per-advisor figures read the ratings'
    (store_id, created_at) index, not every booking of the store."""
    home, away = f.store(), f.store()
    mine, theirs = f.advisor(home), f.advisor(away)
    db.session.commit()
    for store, advisor, stars in ((home, mine, 1), (home, mine, 5), (away, theirs, 4)):
        booking = finished_job(store, advisor)
        rating = bookings.rate(booking.owner, booking, stars, stars, "")
        assert rating.store_id == store.id
    db.session.commit()
    assert ("store_id", "created_at") in _leading("ratings")
    manager = f.manager(home)
    per, latest = quality_stats.ratings(manager)
    assert [(name, n, s) for name, n, s, _a in per] == [(mine.name, 2, 3.0)]
    assert {r.store_id for r, _b in latest} == {home.id} and len(latest) == 2
    auth.login(manager)
    with Counter() as seen:
        assert client.get("/admin/csi/").status_code == 200
    (counted,) = [s for s in seen.statements if "avg(ratings.service_stars)" in s]
    assert "bookings" not in counted and "ratings.store_id" in counted
