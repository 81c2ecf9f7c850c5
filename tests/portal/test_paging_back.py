"""Keyset pages go back as well as forward (issue 21): the page back from a row holds the rows
before it in the list's order, found by the order reversed and turned round, so walking
forward and then back gives the same pages, ties on the sort keys included."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal import paging
from portal.extensions import db
from portal.models import Notification
from portal.paging import Key, keys_page, keyset_page, null_last

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _notes(user, n: int, *, at=T0) -> list[Notification]:
    """Add n notifications of the user: three to a creation time, every other one read, the
    read ones two to a reading time (ties on every key)."""
    rows = [
        Notification(
            user_id=user.id,
            text=f"n{i}",
            link="",
            created_at=at - timedelta(minutes=i // 3),
            read_at=None if i % 2 else at + timedelta(minutes=i // 4),
        )
        for i in range(n)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


# The read first, the latest read first; the unread last; then the oldest made first; then
# the highest id first.
KEYS = [
    null_last(Notification.read_at),
    Key(Notification.read_at, desc=True),
    Key(Notification.created_at),
]


def _order(rows: list[Notification]) -> list[int]:
    def key(r):
        read = -r.read_at.timestamp() if r.read_at else 0
        return (r.read_at is None, read, r.created_at, -r.id)

    return [r.id for r in sorted(rows, key=key)]


def _mine(user):
    return select(Notification).where(Notification.user_id == user.id)


def _page(user, size, *, before=None, back=None):
    return keys_page(_mine(user), KEYS, Notification.id, before, size=size, id_desc=True, back=back)


def _ids(page) -> list[int]:
    return [n.id for n in page.items]


@pytest.mark.parametrize("n, size", [(11, 3), (12, 3), (4, 4), (5, 1), (2, 5)])
def test_forward_then_back_gives_the_same_pages(f, n, size):
    owner = f.owner(f.store())
    order = _order(_notes(owner, n))
    _notes(f.owner(f.store()), 3)  # someone else's: never on the pages
    forward = [_page(owner, size)]
    while forward[-1].next_before is not None:
        forward.append(_page(owner, size, before=forward[-1].next_before))
    assert [i for p in forward for i in _ids(p)] == order
    assert forward[0].back is None and all(p.back == _ids(p)[0] for p in forward[1:])
    back = [forward[-1]]
    while back[-1].back is not None:
        back.append(_page(owner, size, back=back[-1].back))
    back.reverse()
    assert [_ids(p) for p in back] == [_ids(p) for p in forward]
    # Each page reached back starts where the one reached forward does, and links on the same.
    assert [(p.before, p.back) for p in back] == [(p.before, p.back) for p in forward]
    assert [p.next_before for p in back[:-1]] == [p.next_before for p in forward[:-1]]
    assert not any(p.stale for p in back + forward)


def test_rows_added_at_the_top_meanwhile_fill_the_first_page(f):
    owner = f.owner(f.store())
    rows = _notes(owner, 9)
    for r in rows:
        r.read_at = None
    db.session.commit()
    order = _order(rows)  # all unread: the oldest made first
    third = _page(owner, 3, before=_page(owner, 3, before=order[2]).next_before)
    assert _ids(third) == order[6:]
    newer = _notes(owner, 2, at=T0 - timedelta(days=1))  # made earlier: at the top
    for r in newer:
        r.read_at = None
    db.session.commit()
    second = _page(owner, 3, back=third.back)
    assert _ids(second) == order[3:6] and second.before == order[2]
    first = _page(owner, 3, back=second.back)
    assert _ids(first) == order[:3] and first.back == order[0]  # the new rows are before it
    top = _page(owner, 3, back=first.back)  # two rows before it: the first page, filled
    assert _ids(top) == _order(rows + newer)[:3] and top.before is None and top.back is None
    assert top.next_before == _ids(top)[-1] and not top.stale


def test_a_back_cursor_outside_the_list_is_stale_and_shows_the_first_page(f):
    owner, other = f.owner(f.store()), f.owner(f.store())
    order = _order(_notes(owner, 5))
    theirs = _notes(other, 1)[0].id
    for cursor in (theirs, 99_999_999):
        page = _page(owner, 2, back=cursor)
        assert _ids(page) == order[:2] and page.stale and page.before is None
    assert not _page(owner, 2, back=order[1]).stale  # one row before it: the first page


@pytest.mark.parametrize("oldest_first", [False, True])
def test_keyset_page_reads_its_back_cursor_from_the_request(app, f, oldest_first):
    owner = f.owner(f.store())
    rows = _notes(owner, 8)
    order = [r.id for r in sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)]
    order = order[::-1] if oldest_first else order

    def page(query: str):
        with app.test_request_context(f"/?{query}"):
            return keyset_page(
                _mine(owner),
                Notification.created_at,
                Notification.id,
                size=3,
                oldest_first=oldest_first,
                param="cursor",
            )

    pages = [page("")]
    while pages[-1].next_before:
        pages.append(page(f"cursor={pages[-1].next_before}"))
    assert [[n.id for n in p.items] for p in pages] == [order[:3], order[3:6], order[6:]]
    assert [n.id for n in page(f"back={pages[2].back}").items] == order[3:6]
    assert [n.id for n in page(f"back={pages[1].back}").items] == order[:3]
    by_id = [r.id for r in sorted(rows, key=lambda r: r.id, reverse=not oldest_first)]
    with app.test_request_context(f"/?back={by_id[5]}"):
        found = keyset_page(
            _mine(owner), Notification.id, Notification.id, size=2, oldest_first=oldest_first
        )
    assert [n.id for n in found.items] == by_id[3:5] and found.before == by_id[2]


def _older(html: str, which: str) -> str | None:
    m = re.search(rf'id="pager-{which}" href="([^"]+)"', html)
    return m.group(1).replace("&amp;", "&") if m else None


def test_an_owners_notifications_page_back_by_newer_links(monkeypatch, f, client, auth):
    monkeypatch.setattr(paging, "PAGE_SIZE", 3)
    owner = f.owner(f.store())
    _notes(owner, 7)
    auth.login(owner)
    forward, url = [], "/notifications/"
    while url:
        html = client.get(url).get_data(as_text=True)
        forward.append(re.findall(r"<p>(n\d+)</p>", html))
        url = _older(html, "older")
    assert 'id="pager-newer"' in html and forward[-1] == ["n0"]
    back = [forward[-1]]
    while url := _older(html, "newer"):
        html = client.get(url).get_data(as_text=True)
        back.append(re.findall(r"<p>(n\d+)</p>", html))
    assert back[::-1] == forward and 'id="pager-newest"' not in html
