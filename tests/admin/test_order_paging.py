"""The back-office shop orders a page at a time: every order reachable by a stable keyset (no
silent cap at 200), the count from SQL, the store scope, the filter kept across pages, and a
clear word for a bad cursor."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from admin import shop as shop_views
from portal.extensions import db
from shop.models import PENDING, Order
from tests.pager_walk import walk_both_ways

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
_serial = iter(range(1, 10**6))


def _orders(f, store, n: int, status: str = "paid", pickup: bool = False) -> list[str]:
    """Add n orders of the store (pairs share a time, or a pickup day: ties go by id); return
    their numbers in page order (newest first; awaiting pickup: earliest day first)."""
    owner = f.owner(store)
    rows = [
        Order(
            number=f"T{next(_serial):09d}",
            user_id=owner.id,
            store_id=store.id,
            status=status,
            delivery="pickup",
            payment="store",
            total_fen=1000,
            hold_expires_at=T0 + timedelta(days=30),
            created_at=T0 + timedelta(minutes=i // 2),
            pickup_on=date(2026, 3, 2) + timedelta(days=i // 2) if pickup else None,
        )
        for i in range(n)
    ]
    db.session.add_all(rows)
    db.session.commit()
    if pickup:
        rows.sort(key=lambda o: (o.pickup_on, o.id))
    else:
        rows.sort(key=lambda o: (o.created_at, o.id), reverse=True)
    return [o.number for o in rows]


def _shown(html: str) -> list[str]:
    return re.findall(r'id="order-(T\d+)"', html)


def _next(html: str) -> str | None:
    found = re.search(r'id="orders-pager-next" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _walk(client, url: str) -> list[str]:
    """Follow the next links from the first page to the last; return every order shown."""
    seen: list[str] = []
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += _shown(html)
        url = _next(html)
    return seen


def _count(html: str) -> int:
    return int(re.search(r'id="orders-count">[^<]*?(\d+)\s*<', html).group(1))


def test_the_201st_order_is_reached_page_by_page_once_each(f, client, auth):
    store = f.store()
    numbers = _orders(f, store, 201)
    auth.login(f.manager(store))
    first = client.get("/admin/shop_orders/").get_data(as_text=True)
    assert _shown(first) == numbers[:50] and _count(first) == 201
    assert "orders-pager-first" not in first
    second = client.get(_next(first)).get_data(as_text=True)
    assert _shown(second) == numbers[50:100] and 'id="orders-pager-first"' in second
    assert _walk(client, "/admin/shop_orders/") == numbers


def test_awaiting_pickup_pages_by_day_and_keeps_its_filter(f, client, auth):
    store = f.store()
    _orders(f, store, 4)  # paid: not awaiting pickup
    waiting = _orders(f, store, 203, status=PENDING, pickup=True)
    auth.login(f.manager(store))
    url = "/admin/shop_orders/?status=pickup"
    html = client.get(url).get_data(as_text=True)
    assert _count(html) == 203 and _shown(html) == waiting[:50]
    assert "status=pickup" in _next(html)
    assert _walk(client, url) == waiting


def test_store_staff_see_only_their_store_and_admins_pick_one(f, client, auth):
    mine, theirs = f.store("北区店"), f.store("南区店")
    own, other = _orders(f, mine, 3), _orders(f, theirs, 2)
    auth.login(f.manager(mine))
    html = client.get(f"/admin/shop_orders/?store={theirs.id}").get_data(as_text=True)
    assert _shown(html) == own and _count(html) == 3
    other_id = db.session.scalar(db.select(Order.id).where(Order.number == other[0]))
    html = client.get(f"/admin/shop_orders/?cursor={other_id}").get_data(as_text=True)
    assert _shown(html) == own and "orders-bad-cursor" in html  # not mine: no cursor
    auth.logout()
    auth.login(f.admin())
    html = client.get("/admin/shop_orders/").get_data(as_text=True)
    assert sorted(_shown(html)) == sorted(own + other) and _count(html) == 5
    only = client.get(f"/admin/shop_orders/?store={theirs.id}").get_data(as_text=True)
    assert _shown(only) == other and _count(only) == 2


@pytest.mark.parametrize(
    "query",
    ["cursor=abc", "cursor=-1", "cursor=99999999999", "cursor=0", "store=abc", "status=nope"],
)
def test_a_bad_cursor_store_or_status_shows_the_first_page(f, client, auth, query):
    store = f.store()
    numbers = _orders(f, store, 55)
    auth.login(f.admin())
    r = client.get(f"/admin/shop_orders/?{query}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and _shown(html) == numbers[:50] and _count(html) == 55
    assert ("orders-bad-cursor" in html) == query.startswith("cursor=")


@pytest.mark.parametrize("status", ["paid", "pickup"])
def test_orders_walked_forward_then_back_show_the_same_pages(f, client, auth, monkeypatch, status):
    monkeypatch.setattr(shop_views, "ORDERS_PAGE", 3)
    store = f.store()
    paid = _orders(f, store, 10)  # two to a time: ties go by id
    waiting = _orders(f, store, 10, status=PENDING, pickup=True)  # two to a pickup day
    numbers = waiting if status == "pickup" else paid  # the filter holds on the way back
    auth.login(f.manager(store))
    url = f"/admin/shop_orders/?status={status}"
    pages = walk_both_ways(client, url, _shown, "orders-pager")
    assert [n for page in pages for n in page] == numbers and {len(p) for p in pages[:-1]} == {3}
