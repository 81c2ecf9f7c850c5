"""Long owner lists come a page at a time: keyset cursors, bounded, scoped to the owner."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from portal import paging
from portal.extensions import db as _db
from portal.models import Notification
from shop.models import Order


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(paging, "PAGE_SIZE", 3)


def _ids(html: str, prefix: str) -> list[int]:
    return [int(i) for i in re.findall(rf'id="{prefix}-(\d+)"', html)]


def _older(html: str) -> str | None:
    m = re.search(r'id="pager-older" href="([^"]+)"', html)
    return m.group(1).replace("&amp;", "&") if m else None


def _walk(client, url: str, prefix: str) -> list[list[int]]:
    pages = []
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(_ids(html, prefix))
        url = _older(html)
    return pages


def _notes(user, n: int) -> list[int]:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [Notification(user_id=user.id, text=f"n{i}", link="", created_at=at) for i in range(n)]
    _db.session.add_all(rows)
    _db.session.commit()
    return [r.id for r in rows]


_order_seq = iter(range(1, 10**6))


def _orders(owner, store, n: int, at: datetime) -> list[int]:
    rows = [
        Order(
            number=f"T{next(_order_seq)}",
            user_id=owner.id,
            store_id=store.id,
            delivery="pickup",
            payment="store",
            total_fen=100,
            created_at=at,
            hold_expires_at=at + timedelta(hours=1),
        )
        for _i in range(n)
    ]
    _db.session.add_all(rows)
    _db.session.commit()
    return [r.id for r in rows]


def test_notifications_page_newest_first_to_the_end(small_pages, f, client, auth, db):
    owner = f.owner(f.store())
    ids = _notes(owner, 7)
    _notes(f.owner(f.store()), 2)  # someone else's never show
    auth.login(owner)
    html = client.get("/notifications/").get_data(as_text=True)
    assert 'id="pager-newest"' not in html
    pages = []
    url = "/notifications/"
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(re.findall(r"<p>(n\d+)</p>", html))
        url = _older(html)
    assert pages == [["n6", "n5", "n4"], ["n3", "n2", "n1"], ["n0"]]
    assert 'id="pager-newest"' in html  # the last page links back to the newest
    assert len(ids) == 7 and [p for p in pages if not p] == []


def test_orders_with_the_same_time_are_neither_lost_nor_repeated(small_pages, f, client, auth):
    store = f.store()
    owner = f.owner(store)
    same = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    ids = _orders(owner, store, 4, same) + _orders(owner, store, 3, same - timedelta(days=1))
    auth.login(owner)
    pages = []
    url = "/shop/orders"
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append([int(i) for i in re.findall(r"/shop/orders/(\d+)\"", html)])
        url = _older(html)
    flat = [i for p in pages for i in p]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sorted(flat) == sorted(ids) and len(set(flat)) == len(flat)
    assert flat[:4] == sorted(ids[:4], reverse=True)  # ties: newest id first


@pytest.mark.parametrize("before", ["abc", "-1", "0", "99999999999", "1.5", ""])
def test_bad_cursors_show_the_first_page(small_pages, f, client, auth, before):
    owner = f.owner(f.store())
    _notes(owner, 4)
    auth.login(owner)
    first = client.get("/notifications/").get_data(as_text=True)
    r = client.get("/notifications/", query_string={"before": before})
    assert r.status_code == 200
    assert re.findall(r"<p>(n\d+)</p>", r.get_data(as_text=True)) == re.findall(
        r"<p>(n\d+)</p>", first
    )


def test_another_owners_row_is_no_cursor(small_pages, f, client, auth):
    owner, other = f.owner(f.store()), f.owner(f.store())
    _notes(owner, 4)
    theirs = _notes(other, 1)[0]
    auth.login(owner)
    html = client.get(f"/notifications/?before={theirs}").get_data(as_text=True)
    assert re.findall(r"<p>(n\d+)</p>", html) == ["n3", "n2", "n1"]


def test_bookings_page_by_slot_time(small_pages, f, client, auth):
    store = f.store()
    owner = f.owner(store)
    f.vehicle(owner)
    booked = [f.booking(owner, store, days=d, hour=10) for d in (1, 2, 3, 4)]
    auth.login(owner)
    pages = _walk(client, "/bookings/", "booking")
    assert pages == [[b.id for b in booked[::-1][:3]], [booked[0].id]]
