"""Walk a keyset-paged list both ways through its pager's links (templates/admin/usedcars/
_pager.html): forward by "next" to the last page, then back by "previous" to the first."""

from __future__ import annotations

import re
from collections.abc import Callable


def link(html: str, pager: str, which: str) -> str | None:
    """Return the href of the pager's link (first, prev or next), or None when not shown."""
    found = re.search(rf'id="{pager}-{which}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _get(client, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, url
    return r.get_data(as_text=True)


def walk_both_ways(client, url: str, shown: Callable[[str], list], pager: str) -> list[list]:
    """Follow the next links from url to the last page, then the previous links back to the
    first; check that each page reached back is the page reached forward (its rows, its next
    link, whether it links to the first page), that no cursor is called stale on the way, and
    that the first page has no previous link. Return the pages' rows, first to last."""
    forward = [_get(client, url)]
    while (url := link(forward[-1], pager, "next")) is not None:
        forward.append(_get(client, url))
        assert len(forward) < 100
    assert link(forward[0], pager, "prev") is None and link(forward[0], pager, "first") is None
    assert len(forward) == 1 or link(forward[-1], pager, "prev") is not None
    back = [forward[-1]]
    while (url := link(back[-1], pager, "prev")) is not None:
        assert "back=" in url
        back.append(_get(client, url))
        assert len(back) <= len(forward)
    back.reverse()
    assert len(back) == len(forward)
    for there, again in zip(forward, back, strict=True):
        assert shown(again) == shown(there)
        assert link(again, pager, "next") == link(there, pager, "next")
        assert (link(again, pager, "first") is None) == (link(there, pager, "first") is None)
        assert "bad-cursor" not in again
    return [shown(html) for html in forward]
