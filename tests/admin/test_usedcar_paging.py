"""The used-car vetting list and the buyers' leads a page at a time: a stable keyset (no row
is capped away), the count from SQL, the store scope, and a clear word for a bad cursor."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from admin import usedcars as usedcar_views
from crm.models import USED_CAR, WON, Lead
from portal.extensions import db
from portal.models import UsedCarRequest
from portal.models.usedcars import SUBMITTED, UNDER_REVIEW
from tests.pager_walk import walk_both_ways

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def _requests(f, store, n: int, status: str = SUBMITTED) -> list[int]:
    """Add n used-car requests of the store (pairs share a change time: ties go by id);
    return their ids in page order (the latest changed first)."""
    owner = f.owner(store)
    rows = [
        UsedCarRequest(
            owner_id=owner.id,
            store_id=store.id,
            vin=f"LSVAU2180N{i:07d}",
            brand="大众",
            series="朗逸",
            model_year=2019,
            mileage_km=40000,
            first_registered_on=date(2019, 5, 1),
            asking_price_fen=8_000_000,
            status=status,
            updated_at=T0 + timedelta(minutes=i // 2),
        )
        for i in range(n)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in sorted(rows, key=lambda r: (r.updated_at, r.id), reverse=True)]


def _leads(f, store, n: int) -> list[int]:
    """Add n buyers' leads about one listed car of the store; return their ids newest first."""
    car = _requests(f, store, 1)[0]
    buyer = f.owner(store)
    rows = [
        Lead(
            customer_id=buyer.id,
            store_id=store.id,
            source=USED_CAR,
            used_car_id=car,
            state=WON,  # not open: one buyer may hold many
            created_at=T0 + timedelta(minutes=i // 2),
        )
        for i in range(n)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)]


def _shown(html: str, prefix: str) -> list[int]:
    return [int(i) for i in re.findall(rf'id="{prefix}-(\d+)"', html)]


def _next(html: str, pager: str) -> str | None:
    found = re.search(rf'id="{pager}-next" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _walk(client, url: str, prefix: str, pager: str) -> list[int]:
    """Follow the next links from the first page to the last; return every row shown."""
    seen: list[int] = []
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += _shown(html, prefix)
        url = _next(html, pager)
    return seen


LISTS = {
    "requests": ("/admin/usedcar_review/", "queue", "usedcar-pager", "usedcar-count", _requests),
    "buyers": ("/admin/usedcar_buyers/", "buyer-lead", "buyers-pager", "buyers-count", _leads),
}


@pytest.mark.parametrize("which", LISTS)
def test_the_201st_row_is_reached_page_by_page_once_each(f, client, auth, which):
    url, prefix, pager, count_id, make = LISTS[which]
    store = f.store()
    ids = make(f, store, 201)
    auth.login(f.manager(store))
    first = client.get(url).get_data(as_text=True)
    assert _shown(first, prefix) == ids[:50]
    assert re.search(rf'id="{count_id}">[^<]*\b201\b', first)
    assert _walk(client, url, prefix, pager) == ids


@pytest.mark.parametrize("which", LISTS)
def test_store_staff_see_only_their_store_and_admins_pick_one(f, client, auth, which):
    url, prefix, pager, count_id, make = LISTS[which]
    mine, theirs = f.store("北区店"), f.store("南区店")
    own, other = make(f, mine, 3), make(f, theirs, 2)
    auth.login(f.manager(mine))
    html = client.get(f"{url}?store={theirs.id}").get_data(as_text=True)  # ignored for staff
    assert _shown(html, prefix) == own and re.search(rf'id="{count_id}">[^<]*\b3\b', html)
    # Another store's row is no cursor: the first page of my own list, with a word why.
    html = client.get(f"{url}?cursor={other[0]}").get_data(as_text=True)
    assert _shown(html, prefix) == own and "bad-cursor" in html
    auth.logout()
    auth.login(f.admin())
    assert sorted(_shown(client.get(url).get_data(as_text=True), prefix)) == sorted(own + other)
    only = client.get(f"{url}?store={theirs.id}").get_data(as_text=True)
    assert _shown(only, prefix) == other and re.search(rf'id="{count_id}">[^<]*\b2\b', only)


@pytest.mark.parametrize("which", LISTS)
@pytest.mark.parametrize(
    "query", ["cursor=abc", "cursor=-1", "cursor=99999999999", "cursor=0", "store=abc"]
)
def test_a_bad_cursor_or_store_shows_the_first_page(f, client, auth, which, query):
    url, prefix, pager, count_id, make = LISTS[which]
    store = f.store()
    ids = make(f, store, 55)
    auth.login(f.admin())
    r = client.get(f"{url}?{query}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and _shown(html, prefix) == ids[:50]
    assert ("bad-cursor" in html) == query.startswith("cursor=")


def test_the_status_filter_pages_and_counts_its_own_rows(f, client, auth):
    store = f.store()
    _requests(f, store, 3)
    waiting = _requests(f, store, 52, status=UNDER_REVIEW)
    auth.login(f.manager(store))
    url = f"/admin/usedcar_review/?status={UNDER_REVIEW}"
    html = client.get(url).get_data(as_text=True)
    assert re.search(r'id="usedcar-count">[^<]*\b52\b', html)
    assert f"status={UNDER_REVIEW}" in _next(html, "usedcar-pager")
    assert _walk(client, url, "queue", "usedcar-pager") == waiting


@pytest.mark.parametrize("which", LISTS)
def test_a_list_walked_forward_then_back_shows_the_same_pages(f, client, auth, monkeypatch, which):
    monkeypatch.setattr(usedcar_views, "PAGE_SIZE", 3)
    url, prefix, pager, _count_id, make = LISTS[which]
    store = f.store()
    ids = make(f, store, 10)  # two to a time: ties go by id
    auth.login(f.manager(store))
    pages = walk_both_ways(client, url, lambda html: _shown(html, prefix), pager)
    assert pages == [ids[0:3], ids[3:6], ids[6:9], ids[9:]]
