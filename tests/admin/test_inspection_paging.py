"""The inspections list at group scale: the cars in the workshop a page at a time by a stable
keyset, the count from SQL, a store picker for admins, and a bounded number of statements."""

from __future__ import annotations

import re

import pytest

from admin import inspections as view
from portal.extensions import db
from portal.models import Booking
from portal.models.bookings import CHECKED_IN, COMPLETED, IN_PROGRESS, READY
from portal.services import inspections as svc
from tests.admin.test_page_statements import Counter
from tests.factories import slot
from tests.pager_walk import walk_both_ways
from tests.portal.test_inspections import make_template

IN_WORKSHOP = (CHECKED_IN, IN_PROGRESS, READY)


def _in_workshop(f, store, n: int, *, templates: bool = True) -> list[int]:
    """Add n cars in the store's workshop (two slots share a start time: ties go by id), with
    a checklist; return their ids in page order."""
    if templates:
        make_template(db, store)
    owner = f.owner(store)
    rows = []
    for i in range(n):
        car = f.vehicle(owner)
        rows.append(
            Booking(
                owner_id=owner.id,
                vehicle_id=car.id,
                store_id=store.id,
                slot_start=slot(store, 1 + i // 16, 9 + (i // 2) % 8),
                service_types=["maintenance"],
                status=IN_WORKSHOP[i % 3],
            )
        )
    db.session.add_all(rows)
    db.session.commit()
    return [b.id for b in sorted(rows, key=lambda b: (b.slot_start, b.id))]


def _shown(html: str) -> list[int]:
    found = re.findall(r'class="card mb-2 dvi-booking" id="dvi-booking-(\d+)"', html)
    return [int(i) for i in found]


def _next(html: str) -> str | None:
    m = re.search(r'id="dvi-pager-next" href="([^"]+)"', html)
    return m.group(1).replace("&amp;", "&") if m else None


def _count(html: str) -> int:
    return int(re.search(r'id="dvi-count">[^<]*?(\d+)', html).group(1))


def _walk(client, url: str) -> list[list[int]]:
    pages = []
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(_shown(html))
        url = _next(html)
    return pages


def test_the_list_pages_the_earliest_slot_first_neither_losing_nor_repeating(f, client, auth):
    store = f.store(bays=20)
    ids = _in_workshop(f, store, 120)
    auth.login(f.advisor(store))
    first = client.get("/admin/inspections/").get_data(as_text=True)
    assert _count(first) == 120  # every car is counted, a page is shown
    assert "Start inspection" in first
    pages = _walk(client, "/admin/inspections/")
    assert [len(p) for p in pages] == [50, 50, 20]
    assert [i for p in pages for i in p] == ids


def test_a_car_that_left_the_workshop_still_marks_the_place(f, client, auth):
    store = f.store(bays=20)
    ids = _in_workshop(f, store, 60)
    auth.login(f.manager(store))
    nxt = _next(client.get("/admin/inspections/").get_data(as_text=True))
    assert nxt.endswith(f"cursor={ids[49]}")
    db.session.get(Booking, ids[49]).status = COMPLETED  # collected meanwhile
    db.session.commit()
    assert _shown(client.get(nxt).get_data(as_text=True)) == ids[50:]


@pytest.mark.parametrize(
    "query", ["cursor=abc", "cursor=-1", "cursor=99999999999", "store=abc", "store=999999"]
)
def test_bad_cursors_and_stores_show_the_first_page(f, client, auth, query):
    store = f.store(bays=20)
    ids = _in_workshop(f, store, 55)
    auth.login(f.admin())
    r = client.get(f"/admin/inspections/?{query}")
    assert r.status_code == 200 and _shown(r.get_data(as_text=True)) == ids[:50]


def test_another_stores_car_is_no_cursor(f, client, auth):
    mine, theirs = f.store(bays=20), f.store(bays=20)
    ids = _in_workshop(f, mine, 55)
    foreign = _in_workshop(f, theirs, 1)[0]
    auth.login(f.manager(mine))
    html = client.get(f"/admin/inspections/?cursor={foreign}").get_data(as_text=True)
    assert _shown(html) == ids[:50]


def test_admins_pick_a_store_and_staff_keep_their_own(f, client, auth):
    a, b = f.store("北区店", bays=20), f.store("南区店", bays=20)
    in_a, in_b = _in_workshop(f, a, 3), _in_workshop(f, b, 2, templates=False)
    auth.login(f.admin())
    every = client.get("/admin/inspections/").get_data(as_text=True)
    assert sorted(_shown(every)) == sorted(in_a + in_b) and _count(every) == 5
    assert f'<option value="{a.id}">北区店 (3 in the workshop)</option>' in every
    assert 'class="small text-muted dvi-store">南区店</span>' in every
    only_b = client.get(f"/admin/inspections/?store={b.id}").get_data(as_text=True)
    assert _shown(only_b) == in_b and _count(only_b) == 2
    assert f'<option value="{b.id}" selected>' in only_b
    assert "This store has no inspection template yet." in only_b
    auth.logout()
    auth.login(f.manager(a))
    own = client.get(f"/admin/inspections/?store={b.id}").get_data(as_text=True)
    assert _shown(own) == in_a and _count(own) == 3
    assert 'id="dvi-store-filter"' not in own and "dvi-store" not in own.split("dvi-count")[1]


def test_the_store_picker_speaks_chinese(f, client, auth):
    store = f.store("北区店", bays=20)
    _in_workshop(f, store, 2)
    auth.login(f.admin())
    html = client.get("/admin/inspections/", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True
    )
    assert "北区店（在厂 2 辆）" in html and "全部门店" in html


def test_the_list_reads_a_bounded_page_whatever_is_in_the_workshop(f, client, auth):
    """120 cars across 3 stores: the page shows 50, and the number of statements is the same
    as with 10 (one query per store's checklists, or per car, would grow)."""
    stores = [f.store(bays=20) for _ in range(3)]
    advisor = f.advisor(stores[0])
    admin = f.admin()
    first = _in_workshop(f, stores[0], 10)
    template = svc.store_templates(stores[0].id)[0].id
    for booking_id in first[:2]:  # started inspections are loaded with the page too
        svc.start(advisor, db.session.get(Booking, booking_id), template)
    db.session.commit()

    def measure(user, url):
        auth.login(user)
        with Counter() as seen:
            r = client.get(url)
        auth.logout()
        assert r.status_code == 200
        return len(seen.statements), len(_shown(r.get_data(as_text=True)))

    urls = ("/admin/inspections/", f"/admin/inspections/?store={stores[0].id}")
    users = (advisor, admin)
    small = {(u.role, url): measure(u, url) for u in users for url in urls}
    for k, store in enumerate(stores):
        _in_workshop(f, store, 36 if k == 0 else 37, templates=k != 0)
    large = {(u.role, url): measure(u, url) for u in users for url in urls}
    assert large[("admin", "/admin/inspections/")][1] == view.PAGE_SIZE
    for key, (statements, shown) in large.items():
        assert shown == min(view.PAGE_SIZE, 46 if key != ("admin", urls[0]) else 120), key
        assert statements == small[key][0], (key, small[key], large[key])


def test_the_workshop_walked_forward_then_back_shows_the_same_pages(f, client, auth, monkeypatch):
    monkeypatch.setattr(view, "PAGE_SIZE", 3)
    store = f.store(bays=20)
    ids = _in_workshop(f, store, 10)  # two cars to a slot time: ties go by id
    auth.login(f.advisor(store))
    pages = walk_both_ways(client, "/admin/inspections/", _shown, "dvi-pager")
    assert pages == [ids[0:3], ids[3:6], ids[6:9], ids[9:]]
