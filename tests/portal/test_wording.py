"""Native wording: dates as "12月3日 周四" in the store's zone, used-car prices in 万元."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask_babel import force_locale

from portal.models.usedcars import LISTED
from portal.wording import day_label, wan_yuan
from tests.portal.test_usedcars import bring_to

# 2026-12-03 17:30 UTC is already Friday 4 December in Shanghai.
LATE_THURSDAY_UTC = datetime(2026, 12, 3, 17, 30, tzinfo=UTC)


@pytest.fixture
def in_2026(clock):
    clock.now = datetime(2026, 6, 1, tzinfo=UTC)
    return clock


def test_chinese_day_label_is_month_day_and_weekday_in_the_store_zone(app, in_2026):
    with force_locale("zh_CN"):
        assert day_label(datetime(2026, 12, 3, 2, 0, tzinfo=UTC), "Asia/Shanghai") == "12月3日 周四"
        assert day_label(LATE_THURSDAY_UTC, "Asia/Shanghai") == "12月4日 周五"
        assert day_label(datetime(2025, 1, 5, 2, 0, tzinfo=UTC), "Asia/Shanghai") == (
            "2025年1月5日 周日"
        )
    with force_locale("en"):
        assert day_label(datetime(2026, 12, 3, 2, 0, tzinfo=UTC), "Asia/Shanghai") == "Thu 3 Dec"
    assert day_label(None) == ""


@pytest.mark.parametrize(
    "fen, zh",
    [
        (12_580_000, "12.58万元"),  # ¥125,800
        (12_585_000, "12.59万元"),  # rounded half up to the hundred yuan
        (30_000_000, "30万元"),
        (8_000_000, "8万元"),
        (500_000, "0.5万元"),
    ],
)
def test_car_prices_in_wan_yuan(app, fen, zh):
    with force_locale("zh_CN"):
        assert wan_yuan(fen) == zh
    with force_locale("en"):
        assert wan_yuan(fen).startswith("¥") and "万" not in wan_yuan(fen)
    assert wan_yuan(None) == ""


def test_owner_bookings_show_the_chinese_day(f, client, auth, in_2026):
    store = f.store()
    owner = f.owner(store)
    f.vehicle(owner)
    f.booking(owner, store, days=1, hour=10)
    auth.login(owner)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    html = client.get("/bookings/").get_data(as_text=True)
    assert re.search(r"<strong>\d{1,2}月\d{1,2}日 周[一二三四五六日] 10:30</strong>", html), html


def test_market_list_prices_in_wan_yuan_in_chinese(f, client):
    store = f.store()
    people = {"store": store, "owner": f.owner(store), "advisor": f.advisor(store)}
    people.update(advisor2=f.advisor(store), manager=f.manager(store))
    listed = bring_to(LISTED, people)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    body = client.get("/market/").get_data(as_text=True)
    card = body[body.index(f'id="car-{listed.id}"') :]
    assert re.search(r'<p class="price">\d+(\.\d{1,2})?万元</p>', card[:2000])
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert "万元" not in client.get("/market/").get_data(as_text=True)


def test_labels_take_a_full_width_colon_in_chinese(f, client, auth):
    owner = f.owner(f.store())
    f.vehicle(owner)
    auth.login(owner)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    zh = client.get("/").get_data(as_text=True)
    assert '里程：<span class="km">' in zh and "里程:" not in zh
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    en = client.get("/").get_data(as_text=True)
    assert 'Mileage: <span class="km">' in en
