"""The back office's rescue queue: claim in place, steps, escalation highlight, reassign, charts."""

from __future__ import annotations

import pytest

from portal.models import Rescue
from portal.services import rescue as svc

HX = {"HX-Request": "true"}


@pytest.fixture
def scene(f):
    store = f.store()
    advisor = f.advisor(store)
    manager = f.manager(store)
    owner = f.owner(store)
    vehicle = f.vehicle(owner)
    return store, advisor, manager, owner, vehicle


def test_queue_lists_open_rescues_of_the_store_only(scene, client, auth, f):
    _s, advisor, _m, owner, _v = scene
    mine = f.rescue(owner, latitude=22.5, longitude=113.9, address="")
    elsewhere_owner = f.owner(f.store())
    theirs = f.rescue(elsewhere_owner)
    auth.login(advisor)
    html = client.get("/admin/rescue_queue/").get_data(as_text=True)
    assert f'id="rescue-{mine.id}"' in html and f'id="rescue-{theirs.id}"' not in html
    assert "uri.amap.com/marker?position=113.900000,22.500000" in html
    assert f"tel:{mine.callback_phone}" in html
    frag = client.get("/admin/rescue_queue/items", headers=HX).get_data(as_text=True)
    assert "<html" not in frag and 'id="rescue-list"' in frag and "every 5s" in frag


def test_claim_dispatch_resolve_in_place(scene, client, auth, db, f):
    _s, advisor, _m, owner, _v = scene
    r = f.rescue(owner)
    auth.login(advisor)
    url = f"/admin/rescue_queue/{r.id}/act"
    claimed = client.post(url, data={"action": "claim"}, headers=HX)
    html = claimed.get_data(as_text=True)
    assert claimed.status_code == 200 and "<html" not in html and "status-claimed" in html
    bad = client.post(url, data={"action": "dispatch", "eta": "0"}, headers=HX)
    assert bad.status_code == 422 and "rescue-error" in bad.get_data(as_text=True)
    assert client.post(url, data={"action": "dispatch", "eta": "15"}).status_code == 303
    assert client.post(url, data={"action": "resolve", "note": "拖车回店"}).status_code == 303
    db.session.commit()
    r = db.session.get(Rescue, r.id)
    assert r.status == "resolved" and r.resolution_note == "拖车回店"


def test_a_late_claim_answers_409_with_the_winner(scene, client, auth, db, f):
    store, advisor, _m, owner, _v = scene
    r = f.rescue(owner)
    svc.claim(f.advisor(store), r)
    db.session.commit()
    auth.login(advisor)
    late = client.post(f"/admin/rescue_queue/{r.id}/act", data={"action": "claim"}, headers=HX)
    assert late.status_code == 409 and "rescue-error" in late.get_data(as_text=True)


def test_overdue_rescue_is_highlighted_and_the_manager_reassigns(scene, client, auth, db, f, clock):
    store, advisor, manager, owner, _v = scene
    r = f.rescue(owner)
    clock.advance(minutes=6)
    auth.login(manager)
    html = client.get("/admin/rescue_queue/").get_data(as_text=True)
    assert "rescue-late" in html and "reassign-form" in html
    done = client.post(
        f"/admin/rescue_queue/{r.id}/act", data={"action": "reassign", "advisor": advisor.id}
    )
    assert done.status_code == 303
    db.session.commit()
    assert db.session.get(Rescue, r.id).advisor_id == advisor.id
    auth.logout()
    auth.login(advisor)
    assert "reassign-form" not in client.get("/admin/rescue_queue/").get_data(as_text=True)


def test_timings_chart_per_advisor(scene, client, auth, db, f, clock):
    _s, advisor, manager, owner, vehicle = scene
    r = f.rescue(owner, vehicle)
    clock.advance(minutes=4)
    svc.claim(advisor, r)
    clock.advance(minutes=30)
    svc.resolve(advisor, r, "ok")
    db.session.commit()
    auth.login(manager)
    html = client.get("/admin/rescue_stats/").get_data(as_text=True)
    assert html.count('class="m4s-chart"') == 2
    assert "4.0 min" in html and "34.0 min" in html and advisor.name in html


def test_unclaimed_rescues_come_first_and_the_eta_is_labelled(scene, client, auth, db, f):
    _s, advisor, _m, owner, _v = scene
    older = f.rescue(owner, address="老的")
    svc.claim(advisor, older)
    newer = f.rescue(owner, address="新的")
    db.session.commit()
    assert [r.id for r in svc.open_rescues(owner.store_id)] == [newer.id, older.id]
    auth.login(advisor)
    html = client.get("/admin/rescue_queue/").get_data(as_text=True)
    assert html.index(f'id="rescue-{newer.id}"') < html.index(f'id="rescue-{older.id}"')
    label = f'<label class="mr-1 eta-label" for="eta-{older.id}">Minutes until help arrives</label>'
    assert label in html and f'id="eta-{older.id}"' in html
    assert "uri.amap.com/search?keyword=" in html  # typed addresses get a map link too


def _open_rescues(f, store, n: int) -> list[Rescue]:
    """Open n rescues of n owners of the store, a claim by a colleague on every other one."""
    advisor = f.advisor(store)
    rescues = [f.rescue(f.owner(store)) for _ in range(n)]
    for r in rescues[::2]:
        svc.claim(advisor, r)
    from portal.extensions import db

    db.session.commit()
    return rescues


def test_the_rescue_queue_runs_the_same_statements_with_2_or_8_open(scene, client, auth, f):
    """Each row's car, owner, advisor and store, and the advisors to reassign to, are read
    with the list: no statement per rescue (the queue is polled every 5 s)."""
    from tests.admin.test_page_statements import Counter

    store, advisor, manager, _o, _v = scene
    admin = f.admin()
    _open_rescues(f, store, 2)
    _open_rescues(f, f.store(), 1)

    def measure():
        counts = {}
        for user in (advisor, manager, admin):
            auth.login(user)
            for url in ("/admin/rescue_queue/", "/admin/rescue_queue/items"):
                with Counter() as seen:
                    html = client.get(url, headers=HX if "items" in url else {})
                counts[(user.role, url)] = (len(seen.statements), html.get_data(as_text=True))
            auth.logout()
        return counts

    small = measure()
    _open_rescues(f, store, 6)
    _open_rescues(f, f.store(), 3)
    large = measure()
    assert {k: v[0] for k, v in large.items()} == {k: v[0] for k, v in small.items()}
    assert "reassign-form" in large[("manager", "/admin/rescue_queue/")][1]
    assert (
        large[("admin", "/admin/rescue_queue/items")][1].count('class="card mb-3 rescue-item') == 12
    )


def test_the_rescue_queue_shows_the_most_urgent_and_counts_them_all(
    scene, client, auth, f, monkeypatch
):
    from admin import rescue as views

    monkeypatch.setattr(views, "RESCUES_SHOWN", 3)
    store, _a, manager, _o, _v = scene
    rescues = _open_rescues(f, store, 5)
    auth.login(manager)
    html = client.get("/admin/rescue_queue/items", headers=HX).get_data(as_text=True)
    shown = [int(i) for i in __import__("re").findall(r'id="rescue-(\d+)" data-status', html)]
    unclaimed = [r.id for r in rescues[1::2]]
    assert shown == [*unclaimed, rescues[0].id]  # unclaimed first, then the oldest claimed
    assert "Open rescues: 5" in html and "the 3 most urgent are shown" in html


def _handled_rescues(f, store, clock, n: int) -> None:
    """Have n new advisors of the store each claim and resolve one rescue."""
    from portal.extensions import db

    for _ in range(n):
        advisor = f.advisor(store)
        r = f.rescue(f.owner(store))
        clock.advance(minutes=2)
        svc.claim(advisor, r)
        svc.resolve(advisor, r, "ok")
    db.session.commit()


def test_the_timings_run_the_same_statements_with_2_or_6_advisors(scene, client, auth, f, clock):
    """Each advisor's name comes with the rescues' timings: no statement per advisor."""
    from tests.admin.test_page_statements import Counter

    store, _a, manager, _o, _v = scene
    admin = f.admin()
    other = f.store()
    _handled_rescues(f, store, clock, 2)
    _handled_rescues(f, other, clock, 1)

    def measure():
        counts = {}
        for user in (manager, admin):
            auth.login(user)
            with Counter() as seen:
                html = client.get("/admin/rescue_stats/").get_data(as_text=True)
            counts[user.role] = (len(seen.statements), html.count("2.0 min"))
            auth.logout()
        return counts

    small = measure()
    _handled_rescues(f, store, clock, 4)
    _handled_rescues(f, other, clock, 2)
    large = measure()
    assert {k: v[0] for k, v in large.items()} == {k: v[0] for k, v in small.items()}
    assert large["manager"][1] > small["manager"][1] > 0


def test_those_who_see_every_store_see_one_stores_timings(scene, client, auth, f, clock):
    store, _a, _m, _o, _v = scene
    north, south = f.store("北区店"), f.store("南区店")
    _handled_rescues(f, north, clock, 1)
    _handled_rescues(f, south, clock, 2)
    auth.login(f.admin())
    first = client.get("/admin/rescue_stats/").get_data(as_text=True)
    shown = min((store, north, south), key=lambda s: (s.name, s.id))
    assert f'<option value="{shown.id}" selected>' in first and "All stores" not in first
    page = client.get(f"/admin/rescue_stats/?store={south.id}").get_data(as_text=True)
    assert page.count("<tr><td>") == 2  # the south store's two advisors, no one else's
