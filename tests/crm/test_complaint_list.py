"""The back office's complaint list at group scale: a page at a time by a keyset cursor (those
being handled the latest due first, closed ones newest first), each tab counted in SQL, and the
statements of a page flat however many complaints the store has."""

from __future__ import annotations

import re
from datetime import timedelta

from admin import quality
from crm.quality_models import Complaint
from portal.extensions import db
from portal.models import User
from portal.timeutil import now
from tests.admin.test_page_statements import Counter
from tests.pager_walk import walk_both_ways

_phones = iter(range(10**7))


def _complaints(f, store, n: int, *, status: str = "open") -> list[int]:
    """Add n complaints of n customers, due a day apart two at a time (ties by id); return
    their ids by due time."""
    first = f.owner(store)
    customers = [
        User(
            role="owner",
            name=f"客户{store.id}-{i}",
            phone=f"136{next(_phones):08d}",
            password_hash=first.password_hash,
            store_id=store.id,
        )
        for i in range(n)
    ]
    db.session.add_all(customers)
    db.session.flush()
    base = now() - timedelta(days=n)
    rows = [
        Complaint(
            customer_id=c.id,
            store_id=store.id,
            source="phone",
            category="price",
            severity="low",
            status=status,
            ack_due_at=base,
            resolve_due_at=base + timedelta(days=i // 2),
            created_at=base + timedelta(days=i // 2),
        )
        for i, c in enumerate(customers)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def _shown(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="complaint-(\d+)"', html)]


def _walk(client, url: str) -> list[list[int]]:
    pages = []
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(_shown(html))
        m = re.search(r'id="complaints-pager-next" href="([^"]+)"', html)
        url = m.group(1).replace("&amp;", "&") if m else None
    return pages


def test_complaints_being_handled_page_by_due_time_none_lost_none_repeated(f, client, auth):
    store, other = f.store(), f.store()
    ids = _complaints(f, store, 120)
    _complaints(f, other, 3)  # another store's never show
    closed = _complaints(f, store, 4, status="closed")
    auth.login(f.manager(store))
    html = client.get("/admin/complaints/").get_data(as_text=True)
    assert "(120)" in re.search(r'id="complaints-tab-open"[^>]*>([^<]*)<', html).group(1)
    assert "(4)" in re.search(r'id="complaints-tab-closed"[^>]*>([^<]*)<', html).group(1)
    pages = _walk(client, "/admin/complaints/")
    assert [len(p) for p in pages] == [50, 50, 20]
    assert [i for p in pages for i in p] == ids
    newest_first = _walk(client, "/admin/complaints/?status=closed")
    assert newest_first == [closed[::-1]]  # ties: the newest id first


def test_another_stores_complaint_is_no_cursor_and_bad_input_shows_the_first_page(f, client, auth):
    store, other = f.store(), f.store()
    ids = _complaints(f, store, 55)
    foreign = _complaints(f, other, 1)[0]
    auth.login(f.manager(store))
    for query in (f"cursor={foreign}", "cursor=abc", "cursor=-3", "status=bogus&cursor=x"):
        r = client.get(f"/admin/complaints/?{query}")
        assert r.status_code == 200 and _shown(r.get_data(as_text=True)) == ids[:50], query


def test_a_complaint_page_runs_the_same_statements_with_10_or_120(f, client, auth):
    store = f.store()
    manager, admin = f.manager(store), f.admin()
    _complaints(f, store, 10)

    def measure(user):
        auth.login(user)
        with Counter() as seen:
            html = client.get("/admin/complaints/").get_data(as_text=True)
        auth.logout()
        return len(seen.statements), len(_shown(html))

    small = {u.role: measure(u) for u in (manager, admin)}
    _complaints(f, store, 110)
    large = {u.role: measure(u) for u in (manager, admin)}
    for role in small:
        assert small[role][1] == 10 and large[role][1] == quality.PAGE_SIZE
        assert large[role][0] == small[role][0], (role, small, large)


def test_complaints_walked_forward_then_back_show_the_same_pages(f, client, auth, monkeypatch):
    monkeypatch.setattr(quality, "PAGE_SIZE", 3)
    store = f.store()
    handled = _complaints(f, store, 10)  # two to a due time: ties go by id
    closed = _complaints(f, store, 7, status="closed")
    newest_first = [
        c.id
        for c in sorted(
            (db.session.get(Complaint, i) for i in closed),
            key=lambda c: (c.created_at, c.id),
            reverse=True,
        )
    ]
    auth.login(f.manager(store))
    pages = walk_both_ways(client, "/admin/complaints/", _shown, "complaints-pager")
    assert pages == [handled[0:3], handled[3:6], handled[6:9], handled[9:]]
    pages = walk_both_ways(client, "/admin/complaints/?status=closed", _shown, "complaints-pager")
    assert pages == [newest_first[0:3], newest_first[3:6], newest_first[6:]]
