"""The workshop board a page at a time: jobs by slot, then id, by a stable keyset; a job that
moved on meanwhile still marks the place, and a cursor of another store shows the first page."""

from __future__ import annotations

import re

from admin import workshop
from portal.extensions import db
from portal.models import Booking
from tests.factories import slot


def _jobs(f, store, n: int) -> list[int]:
    """Add n accepted bookings, two to a slot (ties by id); return their ids in board order."""
    owner = f.owner(store)
    rows = [
        Booking(
            owner_id=owner.id,
            vehicle_id=f.vehicle(owner).id,
            store_id=store.id,
            slot_start=slot(store, 1 + i // 8, 9 + (i // 2) % 4),
            service_types=["repair"],
            status="accepted",
        )
        for i in range(n)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return [b.id for b in sorted(rows, key=lambda b: (b.slot_start, b.id))]


def _shown(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="card mb-3" id="job-(\d+)"', html)]


def _next(html: str) -> str | None:
    found = re.search(r'id="workshop-pager-next" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_board_pages_through_every_job_once_in_slot_order(f, client, auth, monkeypatch):
    monkeypatch.setattr(workshop, "BOARD_PAGE", 4)
    store = f.store()
    expected = _jobs(f, store, 11)
    _jobs(f, f.store(), 3)  # another store's jobs are never on this board
    auth.login(f.advisor(store))
    seen, url, pages = [], "/admin/workshop/", 0
    while url:
        html = client.get(url).get_data(as_text=True)
        shown = _shown(html)
        assert 0 < len(shown) <= 4
        seen += shown
        url, pages = _next(html), pages + 1
        if pages == 1:  # the page's last job is done meanwhile: its place still holds
            db.session.get(Booking, shown[-1]).status = "completed"
            db.session.commit()
    assert seen == expected and pages == 3


def test_a_cursor_of_another_stores_job_shows_the_first_page(f, client, auth, monkeypatch):
    monkeypatch.setattr(workshop, "BOARD_PAGE", 4)
    store = f.store()
    mine = _jobs(f, store, 6)
    theirs = _jobs(f, f.store(), 2)
    auth.login(f.advisor(store))
    html = client.get(f"/admin/workshop/?cursor={theirs[0]}").get_data(as_text=True)
    assert _shown(html) == mine[:4] and 'id="workshop-bad-cursor"' in html
    for odd in ("abc", "-5", "9" * 30):
        page = client.get(f"/admin/workshop/?cursor={odd}")
        assert page.status_code == 200 and _shown(page.get_data(as_text=True)) == mine[:4]
