"""The group's comparison holds back a figure of fewer than GROUP_MIN_CELL people or records,
so that a regional manager cannot read one person's data off a small store's figure."""

from __future__ import annotations

import re

from admin.group import too_few
from portal.extensions import db
from portal.timeutil import now
from shop.models import Order

URL = "/admin/group_dashboard/"


def _orders(owner, store, totals: list[int]) -> None:
    for i, total in enumerate(totals):
        db.session.add(
            Order(
                number=f"M{store.id}-{i}",
                user_id=owner.id,
                store_id=store.id,
                status="paid",
                stock_state="sold",
                delivery="pickup",
                payment="store",
                total_fen=total,
                hold_expires_at=now(),
                paid_at=now(),
            )  # fmt: skip
        )
    db.session.commit()


def _row(html: str, store: str) -> str:
    return re.search(rf"<th scope=\"row\">{store}</th>(.*?)</tr>", html, re.S).group(1)


def test_the_rule():
    assert app_default() == 5
    assert [too_few(n, 5) for n in (0, 1, 4, 5, 6)] == [False, True, True, False, False]


def app_default() -> int:
    from portal.config import DEFAULTS

    return DEFAULTS["GROUP_MIN_CELL"]


def test_a_small_stores_figures_are_held_back_everywhere_on_the_page(f, client, auth):
    big, small, _empty = f.store("Big"), f.store("Small"), f.store("Empty")
    buyer_big, buyer_small = f.owner(big), f.owner(small)
    for day in range(1, 6):  # five bookings: shown
        f.booking(buyer_big, big, days=day)
    for day in range(1, 3):  # two: held back
        f.booking(buyer_small, small, days=day)
    _orders(buyer_big, big, [10_000] * 5)  # ¥500.00 from five orders
    _orders(buyer_small, small, [12_345])  # one person's ¥123.45
    auth.login(f.hq())
    html = client.get(URL).get_data(as_text=True)
    big_row, small_row, empty_row = _row(html, "Big"), _row(html, "Small"), _row(html, "Empty")
    assert "¥500.00" in big_row and ">5<" in big_row
    assert "123.45" not in html  # not in the table, the charts or the median
    assert small_row.count('title="Too few to show"') == 2  # bookings and shop sales
    assert 'title="Too few to show"' not in big_row + empty_row
    assert ">0<" in empty_row  # nobody at all: a zero tells nothing of anyone
    assert 'id="group-too-few"' in html and "fewer than 5 people or records" in html
    median = re.search(r'<tr id="group-median">(.*?)</tr>', html, re.S).group(1)
    # The median of the shown figures only: Big's ¥500.00 and Empty's nothing (with Small's
    # one order counted it would be that order's ¥123.45, checked absent above).
    assert "¥250.00" in median and ">2.5<" in median


def test_the_threshold_is_configured_and_said_in_chinese(f, client, auth, app, monkeypatch):
    store = f.store("Solo")
    buyer = f.owner(store)
    for day in range(1, 4):
        f.booking(buyer, store, days=day)
    auth.login(f.hq())
    monkeypatch.setitem(app.config, "GROUP_MIN_CELL", 3)
    assert 'title="Too few to show"' not in _row(client.get(URL).get_data(as_text=True), "Solo")
    monkeypatch.setitem(app.config, "GROUP_MIN_CELL", 4)
    zh = client.get(URL, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'title="人数太少，不予显示"' in _row(zh, "Solo")
