"""Staff see store time and words: every back-office page, walked with the demo data loaded."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from admin import PAGES
from portal.extensions import db
from portal.models import Booking, Store, User, finance, rescue, usedcars
from portal.models import bookings as booking_codes
from portal.models.accounts import ADMIN, ADVISOR, MANAGER, OWNER
from shop.models import ORDER_STATUSES
from workshop_video import models as video

# A raw ISO time: seconds (and maybe microseconds), or a UTC offset.
RAW_UTC = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?|\+00:00")
# Every stored code a staff member could meet, taken from the models (not from the labels).
CODES = {
    *booking_codes.STATUSES,
    *booking_codes.REJECT_REASONS,
    *ORDER_STATUSES,
    *rescue.STATUSES,
    *usedcars.STATUSES,
    *finance.LOAN_STATUSES,
    *video.STATUSES,
    *video.END_REASONS,
    *video.CAMERA_STATUSES,
    OWNER,
    ADVISOR,
    MANAGER,
    ADMIN,
    *("new", "contacted", "closed"),  # buyer leads
    *("open", "applied", "broken_glass"),  # unlock requests
    *("percent", "fixed", "hot", "recommended"),  # discounts and placements
}
# 2026-11-30 23:45:30.123456 UTC is 1 December 08:45 in Tokyo and 07:45 in Shanghai.
KNOWN_UTC = datetime(2026, 11, 30, 23, 45, 30, 123456, tzinfo=UTC)
SHOWN = {
    ("zh_CN", "Asia/Tokyo"): "2026年12月1日 08:45",
    ("en", "Asia/Tokyo"): "Dec 1, 2026, 8:45 AM",
    ("zh_CN", "Asia/Shanghai"): "2026年12月1日 07:45",
    ("en", "Asia/Shanghai"): "Dec 1, 2026, 7:45 AM",
}
ROLES = {page.endpoint: page.roles for page in PAGES}


class _Text(HTMLParser):
    """Collect what a reader sees: text nodes outside scripts and styles, and filter data."""

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self.filters: list = []
        self._skip = 0
        self._in_filters = False

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")
        self._in_filters = ("id", "filter-groups-data") in attrs

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")
        self._in_filters = False

    def handle_data(self, data):
        if self._in_filters:
            self.filters.append(json.loads(data))
        elif not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))


def _read(body: str) -> _Text:
    parser = _Text()
    parser.feed(body.replace("\u202f", " ").replace("\xa0", " "))
    return parser


def _check(url: str, body: str, locale: str) -> None:
    page = _read(body)
    raw = [t for t in page.texts if RAW_UTC.search(t)]
    assert not raw, f"{url} ({locale}) shows raw UTC times: {raw[:3]}"
    options = [
        (value, label)
        for groups in page.filters
        for group in groups.values()
        for flt in group
        for value, label in flt["options"] or ()
    ]
    if locale == "zh_CN":
        codes = sorted({t for t in page.texts if t in CODES})
        assert not codes, f"{url} shows untranslated codes: {codes}"
        untranslated = sorted({v for v, label in options if v in CODES and label == v})
        assert not untranslated, f"{url} filters offer untranslated codes: {untranslated}"


def _admin_pages(app) -> list[tuple[str, str]]:
    """Every back-office page without URL arguments, from the app's URL map."""
    found = {
        (rule.endpoint, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin")
        and not rule.arguments
        and "GET" in rule.methods
        and rule.endpoint.rsplit(".", 1)[-1] in ("index", "index_view")
    }
    return sorted(found)


@pytest.fixture
def demo(app):
    """The full demo (portal, shop, video), its first store in Tokyo time, one known row."""
    from portal.cli import DEMO_EXTENSIONS
    from portal.demo import DEMO_LOGINS, load_demo

    load_demo(owners=6)
    for path in DEMO_EXTENSIONS:
        module, _, attr = path.partition(":")
        getattr(__import__(module, fromlist=[attr]), attr)()
    manager = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[MANAGER]))
    store = db.session.get(Store, manager.store_id)
    store.timezone = "Asia/Tokyo"  # not the default: the manager must see the store's zone
    known = db.session.scalar(
        select(Booking)
        .where(Booking.store_id == store.id, Booking.decided_at.isnot(None))
        .order_by(Booking.id.desc())
        .limit(1)
    )
    known.decided_at = KNOWN_UTC
    db.session.commit()
    return known


def _login(client, role: str) -> None:
    from portal.demo import DEMO_LOGINS, DEMO_PASSWORD

    response = client.post(
        "/login", data={"login": DEMO_LOGINS[role], "password": DEMO_PASSWORD[role]}
    )
    assert response.status_code == 303


@pytest.mark.parametrize("role", [MANAGER, ADMIN])
def test_every_admin_page_shows_store_time_and_words(app, client, demo, role):
    _login(client, role)
    zone = "Asia/Tokyo" if role == MANAGER else app.config["DEFAULT_TIMEZONE"]
    pages = _admin_pages(app)
    assert len(pages) >= 30  # the walk found the back office
    for locale in ("zh_CN", "en"):
        assert client.post("/lang", data={"lang": locale}).status_code == 303
        shown = 0
        for endpoint, url in pages:
            response = client.get(url)
            view = endpoint.rsplit(".", 1)[0]
            allowed = role in ROLES.get(view, (role,))  # a page outside the table: open to all
            expected = 200 if allowed or view == "admin" else 403
            assert response.status_code == expected, f"{url} as {role}"
            if expected != 200:
                continue
            body = response.get_data(as_text=True)
            _check(url, body, locale)
            shown += 1
            details = re.search(r'href="([^"]*/details/\?id=[^"]*)"', body)
            if details:
                url = details.group(1).replace("&amp;", "&")
                detail = client.get(url)
                assert detail.status_code == 200, url
                _check(url, detail.get_data(as_text=True), locale)
        assert shown >= 25
        detail = client.get(f"/admin/reviewed/details/?id={demo.id}").get_data(as_text=True)
        assert SHOWN[locale, zone] in " ".join(_read(detail).texts)


def test_known_row_in_the_list_and_its_filter_read_store_time(app, client, demo):
    _login(client, MANAGER)
    client.post("/lang", data={"lang": "en"})
    listing = client.get("/admin/reviewed/").get_data(as_text=True)
    cells = _read(listing).texts
    assert SHOWN["en", "Asia/Tokyo"] in cells
    after = _filter_arg(listing, "Decided at", "greater than")

    def decided_after(local: str) -> bool:
        page = client.get("/admin/reviewed/", query_string={after: local})
        assert page.status_code == 200
        return f"/details/?id={demo.id}&" in page.get_data(as_text=True)

    # The typed time is Tokyo time: 08:40 is before the decision, 08:50 after it.
    assert decided_after("2026-12-01 08:40:00")
    assert not decided_after("2026-12-01 08:50:00")


def test_a_bad_filter_time_is_refused_not_a_500(client, demo):
    _login(client, MANAGER)
    client.post("/lang", data={"lang": "en"})
    after = _filter_arg(client.get("/admin/reviewed/").get_data(as_text=True), "Decided at",
                        "greater than")  # fmt: skip
    page = client.get("/admin/reviewed/", query_string={after: "2026-12-01 25:99:00"})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Invalid Filter Value" in body and f"/details/?id={demo.id}&" in body


def _filter_arg(listing: str, name: str, operation: str) -> str:
    """Return the URL parameter of one list filter, read from the page's own filter data."""
    (groups,) = _read(listing).filters
    flt = next(f for f in groups[name] if f["operation"] == operation)
    return f"flt0_{flt['arg']}"
