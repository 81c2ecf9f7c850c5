"""Native wording on the staff side: days as "12月4日 周五 10:30", no raw codes or English
column names on the main back-office pages in Chinese."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale

from admin import PAGES
from crm import tasks as task_svc
from portal.extensions import db
from portal.services import bookings as booking_svc
from portal.services import outbox
from portal.wording import day_label, day_time_label
from shop import stock
from shop.models import Category, Product

# Friday 4 December 2026, 10:00 in Shanghai.
FRIDAY_MORNING = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)

# Stored codes staff must never read in a Chinese page: booking, rescue, outbox, job and
# stock-ledger states, channels, roles and sources.
RAW_CODES = (
    "submitted", "accepted", "rejected", "proposed", "checked_in", "in_progress", "no_show",
    "completed", "cancelled", "received", "dispatched", "queued", "running", "pending", "dead",
    "sms", "wechat", "inapp", "walk_in", "adjust", "workshop", "advisor", "manager", "admin",
    "owner", "technician", "flat_tyre", "ok", "error",
)  # fmt: skip
# Letters a Chinese dealership's staff do read as they are.
ACRONYMS = {"VIN", "IP", "SKU", "CSI", "NPS", "SMS", "API", "CSV", "Excel", "km", "ID", "ETA"}


@pytest.fixture
def friday(clock):
    clock.now = FRIDAY_MORNING
    return clock


def visible_text(html: str) -> str:
    """Return what a reader sees: no scripts, hidden data blocks, tags or attributes."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<div[^>]*class="d-none"[^>]*>.*?</div>', " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_day_and_time_read_natively_in_both_languages(app, friday):
    slot = datetime(2026, 12, 4, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai
    with force_locale("zh_CN"):
        assert day_time_label(slot, "Asia/Shanghai") == "12月4日 周五 14:30"
        assert day_time_label(slot, "Asia/Urumqi") == "12月4日 周五 12:30"
        assert day_label(date(2027, 1, 2)) == "2027年1月2日 周六"
    with force_locale("en"):
        assert day_time_label(slot, "Asia/Shanghai") == "Fri 4 Dec 14:30"
        assert day_label(date(2026, 12, 5)) == "Sat 5 Dec"
    assert day_time_label(None) == ""


def test_the_booking_queue_card_shows_the_day_natively(f, client, auth, friday):
    store = f.store("福田店")
    owner = f.owner(store, name="李先生")
    f.booking(owner, store, days=1, hour=10)
    auth.login(f.advisor(store, name="张顾问"))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    html = client.get("/admin/queue/").get_data(as_text=True)
    assert "<strong>12月5日 周六 10:30</strong>" in html
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = client.get("/admin/queue/").get_data(as_text=True)
    assert "<strong>Sat 5 Dec 10:30</strong>" in html


def test_the_today_page_names_the_day_and_the_tasks_days(f, client, auth, friday):
    store = f.store("福田店")
    advisor = f.advisor(store, name="张顾问")
    customer = f.owner(store, name="李先生")
    task_svc.add_task(
        advisor,
        customer,
        "renewal",
        FRIDAY_MORNING - timedelta(days=2),
        store_id=store.id,
        owner_id=advisor.id,
    )
    db.session.commit()
    auth.login(advisor)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    html = client.get("/admin/today/").get_data(as_text=True)
    assert re.search(r'<small class="text-muted">12月4日 周五</small>', html), html
    overdue = html[html.index('id="overdue-list"') :]
    assert "12月2日 周三 10:00" in overdue[: overdue.index("</ul>")]
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = client.get("/admin/today/").get_data(as_text=True)
    assert "Fri 4 Dec" in html and "Wed 2 Dec 10:00" in html


@pytest.fixture
def busy_store(f, db, friday):
    """A store with a booking in each early state, a rescue, a stock count and a dead letter."""
    store = f.store("福田店")
    owner = f.owner(store, name="李先生")
    manager = f.manager(store, name="王经理")
    advisor = f.advisor(store, name="张顾问")
    f.booking(owner, store, days=1, hour=10)
    accepted = f.booking(owner, store, days=2, hour=11)
    booking_svc.accept(advisor, accepted)
    f.rescue(owner)
    category = Category(name="保养用品", name_en="Care")
    db.session.add(category)
    db.session.flush()
    product = Product(
        sku="OIL-1", name="机油", name_en="Engine oil", category_id=category.id, price_fen=9900
    )
    db.session.add(product)
    db.session.flush()
    stock.adjust(manager, store.id, product, 2, "盘点")
    dead = outbox.enqueue("sms", "13800000000", kind="account", subject="验证码")
    dead.status = "dead"
    db.session.commit()
    return store, manager, product


def _pages_of(role: str, *extra: str) -> list[str]:
    return [f"/admin/{p.endpoint}/" for p in PAGES if role in p.roles] + list(extra)


def test_main_back_office_pages_show_no_raw_codes_in_chinese(f, client, auth, busy_store):
    store, manager, product = busy_store
    admin = f.admin(name="赵管理员")
    for who, extra in (
        (manager, [f"/admin/shop_stock/{product.id}"]),
        (admin, []),
    ):
        auth.login(who)
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
        for url in _pages_of(who.role, *extra):
            r = client.get(url)
            if r.status_code != 200:
                continue  # a page that needs a parameter; its parts are checked elsewhere
            text = visible_text(r.get_data(as_text=True))
            for code in RAW_CODES:
                assert not re.search(rf"(?<![\w@.-]){code}(?![\w@.-])", text), (url, code)
            headers = re.findall(r'title="按 ([^"]*) 进行排序"', r.get_data(as_text=True))
            for header in headers:
                english = set(re.findall(r"[A-Za-z]+", header)) - ACRONYMS
                assert not english, (url, header)
        auth.logout()
