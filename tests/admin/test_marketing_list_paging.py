"""The back office's lists of a store's records a page at a time (issue 21): segments,
campaigns, recalls, car orders and quotes. Every row is reachable through the next links (no
silent cap at 100 or 200), the newest first; another store's rows never appear and its ids are
no cursor; a bad cursor shows the first page with a warning; a new campaign's segment select
says when it offers only the first ones and finds the others by name."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from admin import campaigns as campaign_views
from admin import quotes, recalls, sales_orders
from crm.campaign_models import Campaign, RecallList, Segment
from crm.models import Lead
from crm.pipeline_models import AWAITING, DRAFT, Quote, SalesOrder
from portal.extensions import db
from tests import factories
from tests.crm.test_list_paging import _flat, _leads, _next, _shown, _walk
from tests.pager_walk import link, walk_both_ways

SIZE = 3
T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
_serial = iter(range(1, 10**6))


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(campaign_views, "PAGE_SIZE", SIZE)
    monkeypatch.setattr(recalls, "PAGE_SIZE", SIZE)
    monkeypatch.setattr(sales_orders, "PAGE_SIZE", SIZE)
    monkeypatch.setattr(quotes, "QUOTES_PAGE", SIZE)


def _segments(store, n: int) -> list[Segment]:
    rows = [Segment(store_id=store.id, name=f"分群{next(_serial):05d}", rule={}) for _ in range(n)]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def _campaigns(store, n: int) -> list[Campaign]:
    segment = _segments(store, 1)[0]
    rows = [Campaign(store_id=store.id, segment_id=segment.id, name=f"活动{i}") for i in range(n)]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def _recalls(store, n: int) -> list[RecallList]:
    segment = _segments(store, 1)[0]
    rows = [
        RecallList(store_id=store.id, name=f"S-{next(_serial)}", vins=1, segment_id=segment.id)
        for _ in range(n)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def _quotes(store, n: int, status: str = DRAFT) -> list[Quote]:
    author = factories.advisor(store)
    leads = [db.session.get(Lead, i) for i in _leads(store, n)]
    rows = [
        Quote(
            lead_id=lead.id,
            store_id=store.id,
            version=1,
            author_id=author.id,
            brand="大众",
            series="朗逸",
            status=status,
            valid_until=date(2026, 12, 31),
        )
        for lead in leads
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def _orders(store, n: int) -> list[SalesOrder]:
    rows = [
        SalesOrder(
            number=f"SO{next(_serial):08d}",
            lead_id=q.lead_id,
            quote_id=q.id,
            store_id=store.id,
            customer_id=q.lead.customer_id,
            total_fen=10_000_000,
            deposit_fen=500_000,
            created_at=_made(i),
        )
        for i, q in enumerate(_quotes(store, n))
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


LISTS = {
    # name: (path, make, row id prefix, pager id, count id)
    "segments": ("/admin/segments/", _segments, "segment", "segments-pager", "segments-count"),
    "campaigns": (
        "/admin/campaigns/",
        _campaigns,
        "campaign",
        "campaigns-pager",
        "campaigns-count",
    ),
    "recalls": ("/admin/recalls/", _recalls, "recall", "recalls-pager", "recalls-count"),
    "orders": ("/admin/sales_orders/", _orders, "sales-order", "orders-pager", "orders-count"),
    "quotes": ("/admin/quotes/", _quotes, "quote", "quotes-pager", "quotes-count"),
}


def _made(i: int) -> datetime:
    """The creation time of the i-th row made: older as the ids grow, pairs at the same time
    (a list by creation time is then not a list by id, and ties go by id)."""
    return T0 - timedelta(minutes=i // 2)


def _newest(rows) -> list[int]:
    """Return the ids in a list's order: campaigns and car orders by creation time (their
    (store_id, created_at) index), then id; the others by id; the newest first."""
    if isinstance(rows[0], (Campaign, SalesOrder)):
        return [r.id for r in sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)]
    return sorted((r.id for r in rows), reverse=True)


@pytest.mark.parametrize("name", LISTS)
def test_every_row_is_reached_newest_first_and_other_stores_stay_out(f, client, auth, name):
    path, make, prefix, pager, count = LISTS[name]
    mine, theirs = f.store(), f.store()
    own, other = _newest(make(mine, 2 * SIZE + 1)), _newest(make(theirs, 2))
    auth.login(f.manager(mine))
    first = client.get(path).get_data(as_text=True)
    assert re.search(rf'id="{count}">[^<]*\b7\b', first)
    assert f"{pager}-first" not in first
    pages = _walk(client, path, prefix, pager)
    assert len(pages) == 3 and _flat(pages) == own
    second = client.get(_next(first, pager)).get_data(as_text=True)
    assert f'id="{pager}-first"' in second
    html = client.get(f"{path}?store={theirs.id}").get_data(as_text=True)
    assert _shown(html, prefix) == own[:SIZE]  # store staff cannot pick another store
    for forged in other:
        html = client.get(f"{path}?cursor={forged}").get_data(as_text=True)
        assert _shown(html, prefix) == own[:SIZE] and "bad-cursor" in html
    auth.logout()
    auth.login(f.admin())
    assert _flat(_walk(client, f"{path}?store={theirs.id}", prefix, pager)) == other
    assert sorted(_flat(_walk(client, path, prefix, pager))) == sorted(own + other)


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("cursor", ["abc", "-1", "0", "99999999999"])
def test_a_bad_cursor_shows_the_first_page_with_a_warning(f, client, auth, name, cursor):
    path, make, prefix, _pager, _count = LISTS[name]
    store = f.store()
    own = _newest(make(store, SIZE + 1))
    auth.login(f.manager(store))
    r = client.get(f"{path}?cursor={cursor}")
    html = r.get_data(as_text=True)
    assert (
        r.status_code == 200
        and "bad-cursor" in html
        and _shown(html, prefix)[:SIZE] == (own[:SIZE])
    )


def test_quotes_awaiting_a_decision_page_oldest_first_on_their_own_cursor(f, client, auth):
    store = f.store()
    waiting = sorted(q.id for q in _quotes(store, 2 * SIZE + 1, status=AWAITING))
    _quotes(store, 2)  # drafts: not waiting
    auth.login(f.manager(store))

    def section(html: str) -> list[int]:
        part = html.split('id="quotes-waiting"', 1)[1].split("</table>", 1)[0]
        return _shown(part, "quote")

    url, seen = "/admin/quotes/", []
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += section(html)
        url = _next(html, "waiting-pager")
    assert seen == waiting
    assert re.search(r'id="quotes-waiting-count">[^<]*\(7\)', html)
    html = client.get("/admin/quotes/?waiting=abc").get_data(as_text=True)
    assert section(html) == waiting[:SIZE] and "quotes-bad-cursor" in html


def test_a_new_campaigns_segment_select_says_when_it_is_capped_and_finds_by_name(
    f, client, auth, monkeypatch
):
    monkeypatch.setattr(campaign_views, "SEGMENT_CHOICES", 2)
    store, other = f.store(), f.store()
    names = [s.name for s in _segments(store, 3)]
    _segments(other, 1)
    auth.login(f.manager(store))
    html = client.get("/admin/campaigns/new").get_data(as_text=True)
    offered = re.findall(r'<option value="\d+" >([^<]+)</option>', html)
    assert offered == names[:2] and 'id="segments-capped"' in html
    html = client.get(f"/admin/campaigns/new?q={names[2][-3:]}").get_data(as_text=True)
    offered = re.findall(r'<option value="\d+" >([^<]+)</option>', html)
    assert offered == [names[2]] and "segments-capped" not in html
    html = client.get("/admin/campaigns/new?q=nothing-like-it").get_data(as_text=True)
    assert 'id="segments-none"' in html


@pytest.mark.parametrize("name", LISTS)
def test_a_list_walked_forward_then_back_shows_the_same_pages(f, client, auth, name):
    path, make, prefix, pager, _count = LISTS[name]
    store = f.store()
    own = _newest(make(store, 3 * SIZE + 1))  # car orders and campaigns: pairs made at once
    make(f.store(), 2)
    auth.login(f.admin())
    url = f"{path}?store={store.id}"
    pages = walk_both_ways(client, url, lambda html: _shown(html, prefix), pager)
    assert pages == [own[i : i + SIZE] for i in range(0, len(own), SIZE)]
    last = client.get(f"{url}&cursor={own[-2]}").get_data(as_text=True)
    assert f"store={store.id}" in link(last, pager, "prev")  # the filter goes back too


def test_quotes_waiting_page_back_on_their_own_cursor_and_keep_the_other_lists_place(
    f, client, auth
):
    store = f.store()
    waiting = sorted(q.id for q in _quotes(store, 3 * SIZE + 1, status=AWAITING))
    auth.login(f.manager(store))

    def section(html: str) -> list[int]:
        part = html.split('id="quotes-waiting"', 1)[1].split("</table>", 1)[0]
        return _shown(part, "quote")

    pages = walk_both_ways(client, "/admin/quotes/", section, "waiting-pager")
    assert pages == [waiting[i : i + SIZE] for i in range(0, len(waiting), SIZE)]
    latest = sorted(waiting, reverse=True)
    url = f"/admin/quotes/?cursor={latest[SIZE - 1]}&waiting={waiting[2 * SIZE - 1]}"
    html = client.get(url).get_data(as_text=True)
    prev = link(html, "waiting-pager", "prev")
    assert f"waiting_back={waiting[2 * SIZE]}" in prev and f"cursor={latest[SIZE - 1]}" in prev
    html = client.get(prev).get_data(as_text=True)
    assert section(html) == waiting[SIZE : 2 * SIZE]
    part = html.split('id="quotes-latest"', 1)[1]
    assert _shown(part, "quote") == latest[SIZE : 2 * SIZE]  # the other list stays in place
    html = client.get("/admin/quotes/?waiting_back=abc").get_data(as_text=True)
    assert section(html) == waiting[:SIZE] and "quotes-bad-cursor" in html
