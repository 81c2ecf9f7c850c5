"""The booking queue at group scale: a page of the oldest at a time by a stable keyset, a store
filter for admins, the count waiting from SQL, and new bookings polled in at the top."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from admin import bookings as queue
from portal.extensions import db
from portal.models import Booking, ServiceRecord
from portal.services import bookings as booking_svc
from portal.timeutil import now
from tests.admin.test_page_statements import Counter
from tests.factories import slot
from tests.pager_walk import walk_both_ways

HX = {"HX-Request": "true"}


def _pending(f, store, n: int, *, start=None) -> list[int]:
    """Add n pending bookings of n cars (each with a past repair), three to a creation time
    (ties are ordered by id); return their ids in queue order."""
    owner = f.owner(store)
    start = start or now() - timedelta(days=2)
    rows = []
    for i in range(n):
        car = f.vehicle(owner)
        db.session.add(
            ServiceRecord(
                store_id=store.id,
                vehicle_id=car.id,
                completed_at=now() - timedelta(days=40),
                mileage_km=9000,
                fault_category="repair",
                total_fen=50_000,
                technician_note="刹车片",
            )
        )
        rows.append(
            Booking(
                owner_id=owner.id,
                vehicle_id=car.id,
                store_id=store.id,
                slot_start=slot(store, 2 + i % 5, 9 + i % 8),
                service_types=["repair"],
                created_at=start + timedelta(minutes=i // 3),
            )
        )
    db.session.add_all(rows)
    db.session.commit()
    return [b.id for b in rows]


def _shown(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="card mb-3 queue-item" id="queue-(\d+)"', html)]


def _next(html: str) -> str | None:
    m = re.search(r'id="queue-pager-next" href="([^"]+)"', html)
    return m.group(1).replace("&amp;", "&") if m else None


def _poller(html: str) -> str:
    return re.search(r'hx-get="(/admin/queue/items[^"]*)"', html).group(1).replace("&amp;", "&")


def _waiting(html: str) -> int:
    return int(re.search(r'id="queue-waiting"[^>]*>[^<]*?(\d+)</p>', html).group(1))


def _walk(client, url: str) -> list[list[int]]:
    pages = []
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(_shown(html))
        url = _next(html)
    return pages


def test_the_queue_pages_the_oldest_first_neither_losing_nor_repeating(f, client, auth):
    store = f.store(bays=20)
    ids = _pending(f, store, 120)
    auth.login(f.manager(store))
    first = client.get("/admin/queue/").get_data(as_text=True)
    assert _waiting(first) == 120  # the whole queue is counted, a page is shown
    pages = _walk(client, "/admin/queue/")
    assert [len(p) for p in pages] == [50, 50, 20]
    assert [i for p in pages for i in p] == ids


def test_a_cursor_decided_meanwhile_still_marks_the_place(f, client, auth, db):
    store = f.store(bays=20)
    ids = _pending(f, store, 60)
    advisor = f.advisor(store)
    auth.login(advisor)
    html = client.get("/admin/queue/").get_data(as_text=True)
    nxt = _next(html)
    assert nxt.endswith(f"cursor={ids[49]}")
    last = db.session.get(Booking, ids[49])
    booking_svc.accept(advisor, last, bay=None, note="")  # decided on page 1, in place
    db.session.commit()
    assert _shown(client.get(nxt).get_data(as_text=True)) == ids[50:]


@pytest.mark.parametrize(
    "query", ["cursor=abc", "cursor=-1", "cursor=99999999999", "store=abc", "store=999999"]
)
def test_bad_cursors_and_stores_show_the_first_page(f, client, auth, query):
    store = f.store(bays=20)
    ids = _pending(f, store, 55)
    auth.login(f.admin())
    r = client.get(f"/admin/queue/?{query}")
    assert r.status_code == 200 and _shown(r.get_data(as_text=True)) == ids[:50]


def test_another_stores_booking_is_no_cursor(f, client, auth):
    mine, theirs = f.store(bays=20), f.store(bays=20)
    ids = _pending(f, mine, 55)
    foreign = _pending(f, theirs, 1)[0]
    auth.login(f.manager(mine))
    html = client.get(f"/admin/queue/?cursor={foreign}").get_data(as_text=True)
    assert _shown(html) == ids[:50]


def test_admins_filter_the_queue_by_store_and_staff_keep_their_own(f, client, auth):
    a, b = f.store("北区店", bays=20), f.store("南区店", bays=20)
    in_a, in_b = _pending(f, a, 3), _pending(f, b, 2)
    auth.login(f.admin())
    every = client.get("/admin/queue/").get_data(as_text=True)
    assert sorted(_shown(every)) == sorted(in_a + in_b) and _waiting(every) == 5
    assert f'<option value="{a.id}">北区店 (3 waiting)</option>' in every
    assert 'class="queue-store">南区店</span>' in every  # which store each booking is at
    only_b = client.get(f"/admin/queue/?store={b.id}").get_data(as_text=True)
    assert _shown(only_b) == in_b and _waiting(only_b) == 2
    assert f'<option value="{b.id}" selected>' in only_b
    assert f"store={b.id}" in _poller(only_b)
    auth.logout()
    auth.login(f.manager(a))
    own = client.get(f"/admin/queue/?store={b.id}").get_data(as_text=True)
    assert _shown(own) == in_a and _waiting(own) == 3
    assert 'id="queue-store-filter"' not in own and 'class="queue-store"' not in own
    polled = client.get(f"/admin/queue/items?after=0&store={b.id}", headers=HX)
    assert sorted(_shown(polled.get_data(as_text=True))) == sorted(in_a)


def test_new_bookings_arrive_at_the_top_of_any_page_and_none_is_lost(f, client, auth, db):
    store = f.store(bays=20)
    ids = _pending(f, store, 60)
    auth.login(f.manager(store))
    html = client.get("/admin/queue/").get_data(as_text=True)
    poller = _poller(html)
    assert poller.endswith(f"after={ids[-1]}")  # the newest, not the page's last
    assert client.get(poller, headers=HX).get_data(as_text=True).count("queue-item") == 0
    later = _pending(f, store, queue.NEW_SHOWN + 5, start=now())
    r = client.get(poller, headers=HX)
    fresh = r.get_data(as_text=True)
    assert "<html" not in fresh and 'hx-swap-oob="afterbegin:#queue-new"' in fresh
    first_batch = _shown(fresh)
    assert first_batch == later[: queue.NEW_SHOWN][::-1]  # the newest of them on top
    assert _waiting(fresh) == 60 + len(later)
    assert 'badge badge-info queue-fresh">Just arrived<' in fresh
    rest = _shown(client.get(_poller(fresh), headers=HX).get_data(as_text=True))
    assert rest == later[queue.NEW_SHOWN :][::-1]


def test_the_queue_reads_a_bounded_page_whatever_is_waiting(f, client, auth):
    """120 bookings wait: the page shows 50, and neither the number of statements nor the
    size of any of them (the ids of an IN list) grows with the queue."""
    store = f.store(bays=20)
    manager = f.manager(store)
    admin = f.admin()
    _pending(f, store, 10)

    def measure(user, url):
        auth.login(user)
        with Counter() as seen, _params() as sizes:
            r = client.get(url)
        auth.logout()
        assert r.status_code == 200
        return len(seen.statements), max(sizes), len(_shown(r.get_data(as_text=True)))

    urls = ("/admin/queue/", "/admin/queue/items?after=0")
    small = {(u.role, url): measure(u, url) for u in (manager, admin) for url in urls}
    _pending(f, store, 110)
    large = {(u.role, url): measure(u, url) for u in (manager, admin) for url in urls}
    for key, (statements, biggest, shown) in large.items():
        limit = queue.QUEUE_PAGE_SIZE if key[1] == "/admin/queue/" else queue.NEW_SHOWN
        assert shown == limit, key
        assert statements == small[key][0], (key, small[key], large[key])
        assert biggest <= queue.QUEUE_PAGE_SIZE + 10, (key, large[key])


class _params:
    """Record how many bound parameters each statement carries."""

    def __init__(self):
        self.sizes: list[int] = [0]

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.sizes.append(len(parameters or ()))

    def __enter__(self):
        from sqlalchemy import event

        event.listen(db.engine, "before_cursor_execute", self)
        return self.sizes

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(db.engine, "before_cursor_execute", self)


def test_the_queue_walked_forward_then_back_shows_the_same_pages(f, client, auth, monkeypatch):
    monkeypatch.setattr(queue, "QUEUE_PAGE_SIZE", 3)
    store = f.store(bays=20)
    ids = _pending(f, store, 10)  # three to a creation time: ties go by id
    _pending(f, f.store(bays=20), 2)
    auth.login(f.admin())
    url = f"/admin/queue/?store={store.id}"
    pages = walk_both_ways(client, url, _shown, "queue-pager")
    assert pages == [ids[0:3], ids[3:6], ids[6:9], ids[9:]]
