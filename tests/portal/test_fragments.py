"""Memoised fragments: rendered once per input, never stale, bounded, switchable off."""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import render_template_string
from flask_babel import force_locale

from portal.fragments import FragmentCache, footprint
from portal.services import maintenance as svc
from tests.factories import PASSWORD
from tests.portal.test_maintenance import at, make_plan


def _renderer(log: list[str], html: str):
    def render() -> str:
        log.append(html)
        return html

    return render


def test_a_fragment_is_rendered_once_per_input(app):
    cache, log = FragmentCache(), []
    with app.test_request_context():
        first = cache.get_or_render(("row", 1), _renderer(log, "<li>1</li>"))
        again = cache.get_or_render(("row", 1), _renderer(log, "<li>changed</li>"))
        other = cache.get_or_render(("row", 2), _renderer(log, "<li>2</li>"))
    assert (first, again, other) == ("<li>1</li>", "<li>1</li>", "<li>2</li>")
    assert log == ["<li>1</li>", "<li>2</li>"] and (cache.hits, cache.misses) == (1, 2)


def test_the_cache_keeps_the_most_recently_used_up_to_its_bytes(app, db, make_app):
    html = {key: key * 1000 for key in "abc"}
    probe = FragmentCache()
    with app.test_request_context():
        probe.get_or_render("a", lambda: html["a"])
    cost = probe.bytes  # each entry costs the same: one-letter key, 1,000 characters
    assert cost > 1000 + footprint("a")
    app = make_app(FRAGMENT_CACHE_BYTES=2 * cost)  # room for two entries
    cache, log = FragmentCache(), []
    with app.test_request_context():
        for key in ("a", "b", "a", "c"):  # "b" is the least recently used when "c" arrives
            cache.get_or_render(key, _renderer(log, html[key]))
        assert len(cache) == 2 and cache.bytes == 2 * cost
        cache.get_or_render("a", _renderer(log, html["a"]))
        cache.get_or_render("b", _renderer(log, html["b"]))
    assert [page[0] for page in log] == ["a", "b", "c", "b"]


def test_the_cache_stays_under_its_byte_bound_when_filled_with_large_entries(db, make_app):
    limit = 1_000_000
    app = make_app(FRAGMENT_CACHE_BYTES=limit)
    cache = FragmentCache()
    big = "<p>" + "x" * 50_000 + "</p>"  # about the size of a flash-filled session cookie
    with app.test_request_context():
        for n in range(200):  # 10 MB offered, under big keys too
            key = ("page", "q=" + str(n) * 5_000)
            assert cache.get_or_render(key, lambda n=n: big + str(n)).endswith(str(n))
            assert cache.bytes <= limit
        held = sum(footprint(k) + sys.getsizeof(v) for k, (v, _) in cache._items.items())
        assert held == cache.bytes and 10 < len(cache) < 20
        too_big = cache.get_or_render("huge", lambda: "y" * (2 * limit))
        assert len(too_big) == 2 * limit and "huge" not in cache._items


def test_a_schedule_key_holds_only_what_the_content_reads(f, db, client, auth):
    from portal.views.maintenance import SCHEDULES

    make_plan(db)
    owner = f.owner()
    car = f.vehicle(owner, current_km=10_200)
    db.session.commit()
    auth.login(owner)
    SCHEDULES.clear()
    url = f"/vehicles/{car.id}/maintenance"
    pages = [client.get(f"{url}?n={n}&pad={'z' * 2_000}") for n in range(20)]
    assert all(r.status_code == 200 for r in pages)
    assert len(SCHEDULES) == 1 and (SCHEDULES.hits, SCHEDULES.misses) == (19, 1)


def test_size_zero_renders_every_time(db, make_app):
    app = make_app(FRAGMENT_CACHE_BYTES=0)
    cache, log = FragmentCache(), []
    with app.test_request_context():
        for _ in range(3):
            cache.get_or_render("same", _renderer(log, "x"))
    assert log == ["x", "x", "x"] and len(cache) == 0


def test_the_schedule_page_shows_new_work_at_once(f, db, client, auth):
    make_plan(db)
    owner = f.owner()
    car = f.vehicle(owner, current_km=10_200)
    db.session.commit()
    auth.login(owner)
    client.post("/lang", data={"lang": "zh_CN"})
    url = f"/vehicles/{car.id}/maintenance"
    before = client.get(url).get_data(as_text=True)
    assert "status-due" in before and "status-ok" not in before
    svc.record_done(car, "transmission_oil", 10_200, at(10_200))
    db.session.commit()
    after = client.get(url).get_data(as_text=True)
    assert "status-due" not in after and "status-ok" in after
    assert "20,200 km" in after  # the next due point moved on from the new record
    client.post("/lang", data={"lang": "en"})
    english = client.get(url).get_data(as_text=True)
    assert "Last done" in english and "Last done" not in after


def test_the_schedule_page_follows_the_date(f, db, client, auth, clock):
    make_plan(db, interval_km=None, interval_months=12)  # a yearly item
    owner = f.owner()
    today = clock.now.astimezone(ZoneInfo("Asia/Shanghai")).date()
    # Bought a year ago tomorrow: due soon today, due from tomorrow on.
    car = f.vehicle(owner, purchase_date=today.replace(year=today.year - 1) + timedelta(days=1))
    db.session.commit()
    auth.login(owner)
    url = f"/vehicles/{car.id}/maintenance"
    assert 'class="card item status-due_soon"' in client.get(url).get_data(as_text=True)
    clock.advance(days=1)
    assert 'class="card item status-due"' in client.get(url).get_data(as_text=True)


def test_a_cached_schedule_page_is_still_only_its_owners(f, db, client, auth):
    make_plan(db)
    owner, other = f.owner(), f.owner()
    car = f.vehicle(owner, current_km=10_200)
    db.session.commit()
    url = f"/vehicles/{car.id}/maintenance"
    auth.login(owner)
    assert client.get(url).status_code == 200  # now in the cache
    client.post("/logout")
    auth.login(other)
    r = client.get(url)
    assert r.status_code == 404 and car.plate not in r.get_data(as_text=True)


def _login_with_csrf(app, owner):
    """Log in through the real form with CSRF on; return the client and the login form's
    token (the session before the login's)."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = {"login": owner.phone, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=form).status_code == 303
    return client, token


def _csrf_app_and_a_due_car(f, db, make_app):
    """An app with CSRF on, and an owner whose car has its transmission oil due."""
    app = make_app(WTF_CSRF_ENABLED=True)
    make_plan(db)
    owner = f.owner()
    car = f.vehicle(owner, current_km=10_200)
    db.session.commit()
    return app, owner, car


def test_the_schedule_forms_token_is_outside_the_cached_content(f, db, make_app):
    app, owner, car = _csrf_app_and_a_due_car(f, db, make_app)
    client, _ = _login_with_csrf(app, owner)
    page = client.get(f"/vehicles/{car.id}/maintenance").get_data(as_text=True)
    field = re.search(
        r'<input type="hidden" name="csrf_token" value="([^"]+)" form="([^"]+)">', page
    )
    assert field is not None and f'<form method="post" action="/vehicles/{car.id}' in page
    assert field.group(2) == "schedule-form" and 'id="schedule-form"' in page
    r = client.post(
        f"/vehicles/{car.id}/maintenance/book",
        data={"items": "transmission_oil", "csrf_token": field.group(1)},
    )
    assert r.status_code == 303 and "items=transmission_oil" in r.headers["Location"]


def test_a_schedule_page_carries_each_sessions_own_token_and_messages(f, db, make_app):
    app, owner, car = _csrf_app_and_a_due_car(f, db, make_app)
    url = f"/vehicles/{car.id}/maintenance"

    def tokens(page: str) -> set[str]:
        return set(re.findall(r'name="csrf_token" value="([^"]+)"', page)) | set(
            re.findall(r'"X-CSRFToken": "([^"]+)"', page)
        )

    # Two sessions of one owner: one memoised content, each page with its own token.
    (phone, _), (laptop, _) = _login_with_csrf(app, owner), _login_with_csrf(app, owner)
    first, second = phone.get(url).get_data(as_text=True), laptop.get(url).get_data(as_text=True)
    assert len(tokens(first)) == 1 and len(tokens(second)) == 1
    assert tokens(first) != tokens(second) and "csrf-" not in first + second
    assert first.replace(tokens(first).pop(), "") == second.replace(tokens(second).pop(), "")
    # Each session's token works for its own session only.
    book = f"{url}/book"
    (mine,) = tokens(second)
    r = laptop.post(book, data={"items": "transmission_oil", "csrf_token": mine})
    assert r.status_code == 303
    r = phone.post(book, data={"items": "transmission_oil", "csrf_token": mine})
    assert r.status_code == 400
    # A one-time message is shown once, then the page without it.
    r = laptop.post(book, data={"csrf_token": mine})  # nothing selected
    assert r.status_code == 303 and r.headers["Location"].endswith(url)
    assert "Select the items you want done." in laptop.get(url).get_data(as_text=True)
    assert "Select the items you want done." not in laptop.get(url).get_data(as_text=True)


def test_the_layout_bars_follow_the_section_and_the_language(f, db, client, auth):
    owner = f.owner()
    car = f.vehicle(owner)
    db.session.commit()
    auth.login(owner)
    client.post("/lang", data={"lang": "zh_CN"})

    def current(page: str) -> list[str]:
        return re.findall(r'id="(nav-[a-z]+)"[^>]*aria-current="page"', page)

    cars = client.get(f"/vehicles/{car.id}/maintenance").get_data(as_text=True)
    bookings = client.get("/bookings/").get_data(as_text=True)
    assert current(cars) == ["nav-cars"] and current(bookings) == ["nav-bookings"]
    assert "我的车辆" in bookings and "消息" in bookings
    client.post("/lang", data={"lang": "en"})
    english = client.get("/bookings/").get_data(as_text=True)
    assert "My cars" in english and "Messages" in english and "我的车辆" not in english
    client.post("/logout")
    anonymous = client.get("/login").get_data(as_text=True)
    assert 'id="nav-market"' in anonymous and 'id="nav-sos"' not in anonymous


def test_template_strings_follow_force_locale(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        template = '{{ _("Messages") }}'
        assert render_template_string(template) == "消息"
        with force_locale("en"):
            assert render_template_string(template) == "Messages"
        assert render_template_string(template) == "消息"


def test_the_first_page_after_login_does_not_rewrite_the_cookie(f, make_app):
    owner = f.owner()
    client, _ = _login_with_csrf(make_app(WTF_CSRF_ENABLED=True), owner)
    home = client.get("/")
    assert home.status_code == 200 and "X-CSRFToken" in home.get_data(as_text=True)
    assert "Set-Cookie" not in home.headers  # the login already gave it its CSRF secret


def test_a_sessions_csrf_token_is_checked_against_its_session(f, make_app):
    owner = f.owner()
    client, token = _login_with_csrf(make_app(WTF_CSRF_ENABLED=True), owner)
    page = client.get("/").get_data(as_text=True)
    current = re.search(r'"X-CSRFToken": "([^"]+)"', page)[1]
    assert current != token  # the login started a new session with a new secret
    r = client.post("/vehicles/1/mileage", data={"km": 5}, headers={"X-CSRFToken": current})
    assert r.status_code == 404  # past CSRF: the vehicle does not exist
    r = client.post("/vehicles/1/mileage", data={"km": 5}, headers={"X-CSRFToken": token})
    assert r.status_code == 400  # the token of the session before the login is refused


def test_dates_and_labels_follow_the_language(app):
    from datetime import date

    from portal.i18n import date_medium
    from portal.views.maintenance import due_status_label, severity_label

    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert date_medium(date(2026, 11, 22)) == "2026年11月22日"
        assert (due_status_label("overdue"), severity_label("must")) == ("已超期", "必须更换")
        with force_locale("en"):
            assert date_medium(date(2026, 11, 22)) == "Nov 22, 2026"
            assert (due_status_label("overdue"), severity_label("must")) == (
                "Overdue",
                "Must replace",
            )
        assert date_medium(None) == "" and due_status_label("unknown") == "unknown"
