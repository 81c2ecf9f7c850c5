"""The staff lists advisors open all day a page at a time (issue 21): the leads lists, Today's
tasks, the call queue and the task approvals. Every row is reachable through the next links
(no silent cap at 200), in the list's order with ties broken by id; another store's rows never
appear, and its ids are no cursor; a bad cursor shows the first page with a warning."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from crm import activity, invitations, timeline
from crm import tasks as task_svc
from crm.models import (
    FIRST_CONTACT,
    FOLLOW_UP,
    OPEN,
    PHONE,
    TASK_AWAITING,
    TASK_DONE,
    TASK_OPEN,
    WON,
    Lead,
    Task,
)
from crm.showroom_models import Invitation
from portal.extensions import db
from portal.models import User
from tests.pager_walk import walk_both_ways

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
SIZE = 3  # rows a page in these tests
HX = {"HX-Request": "true"}
_serial = iter(range(1, 10**6))


@pytest.fixture(autouse=True)
def small_pages(monkeypatch, clock):
    clock.now = NOW
    monkeypatch.setattr(timeline, "PAGE_SIZE", SIZE)
    monkeypatch.setattr(task_svc, "PAGE_SIZE", SIZE)


def _customers(store, n: int) -> list[User]:
    """Add n customers of the store (no password to hash: they never sign in here)."""
    rows = []
    for _ in range(n):
        k = next(_serial)
        rows.append(
            User(
                role="owner",
                name=f"客户{k}",
                phone=f"139{k:08d}",
                password_hash="-",
                store_id=store.id,
            )  # fmt: skip
        )
    db.session.add_all(rows)
    db.session.commit()
    return rows


def _leads(store, n: int, advisor=None, state: str = OPEN) -> list[int]:
    """Add n leads of the store: two of every three with an open first-contact task (some
    overdue, pairs due at the same time), the rest without; pairs share a creation time. Return
    their ids in the list's order: the earliest due first, then the rest newest first."""
    rows = []
    for i, customer in enumerate(_customers(store, n)):
        lead = Lead(
            customer_id=customer.id,
            store_id=store.id,
            advisor_id=advisor.id if advisor else None,
            source=PHONE,
            state=state,
            created_at=NOW - timedelta(hours=10) + timedelta(minutes=i // 2),
        )
        db.session.add(lead)
        db.session.flush()
        due = None
        if i % 3 != 2:
            due = NOW + timedelta(hours=(i // 2) % 4 - 2)  # before and after now
            db.session.add(
                Task(
                    lead_id=lead.id,
                    customer_id=customer.id,
                    store_id=store.id,
                    owner_id=lead.advisor_id,
                    kind=FIRST_CONTACT,
                    due_at=due,
                    created_at=NOW,
                )
            )
        rows.append((lead, due))
    db.session.commit()
    with_due = sorted((r for r in rows if r[1] is not None), key=lambda r: r[0].id, reverse=True)
    with_due.sort(key=lambda r: r[0].created_at, reverse=True)
    with_due.sort(key=lambda r: r[1])
    without = sorted((r for r in rows if r[1] is None), key=lambda r: (r[0].created_at, r[0].id))
    return [r[0].id for r in with_due] + [r[0].id for r in reversed(without)]


def _tasks(store, owner, n: int, status: str = TASK_OPEN) -> list[Task]:
    """Add n live tasks of the owner: some flagged overdue, due times and priorities that tie."""
    customers = _customers(store, 2)
    rows = [
        Task(
            customer_id=customers[i % 2].id,
            store_id=store.id,
            owner_id=owner.id if owner else None,
            kind=FOLLOW_UP,
            status=status,
            priority=1 + i % 2,
            due_at=NOW + timedelta(hours=(i // 3) % 5 - 1),
            overdue_at=NOW - timedelta(hours=8) if i % 4 == 0 else None,
            ask="cancel" if status == TASK_AWAITING else None,
            created_at=NOW,
        )
        for i in range(n)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def _task_order(rows: list[Task]) -> list[int]:
    return [
        t.id for t in sorted(rows, key=lambda t: (t.overdue_at is None, t.due_at, t.priority, t.id))
    ]


def _shown(html: str, prefix: str) -> list[int]:
    return [int(i) for i in re.findall(rf'id="{prefix}-(\d+)"', html)]


def _next(html: str, pager: str) -> str | None:
    found = re.search(rf'id="{pager}-next" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _walk(client, url: str, prefix: str, pager: str) -> list[list[int]]:
    """Follow the next links from the first page to the last; return each page's rows."""
    pages = []
    while url:
        r = client.get(url)
        assert r.status_code == 200
        html = r.get_data(as_text=True)
        pages.append(_shown(html, prefix))
        url = _next(html, pager)
        assert len(pages) < 100
    return pages


def _flat(pages: list[list[int]]) -> list[int]:
    return [i for page in pages for i in page]


# -- the leads lists -------------------------------------------------------------------------


def test_every_lead_of_the_store_is_reached_in_order_once_each(f, client, auth):
    store = f.store()
    manager = f.manager(store)
    order = _leads(store, 3 * SIZE + 1)
    _leads(store, 2, state=WON)  # not active: not on the list
    auth.login(manager)
    first = client.get("/admin/leads/?scope=store").get_data(as_text=True)
    assert _shown(first, "lead") == order[:SIZE] and "leads-pager-first" not in first
    assert re.search(r'id="leads-count">[^<]*\b10\b', first)
    pages = _walk(client, "/admin/leads/?scope=store", "lead", "leads-pager")
    assert all(len(p) == SIZE for p in pages[:-1]) and _flat(pages) == order
    second = client.get(_next(first, "leads-pager")).get_data(as_text=True)
    assert 'id="leads-pager-first"' in second and "scope=store" in _next(second, "leads-pager")


def test_my_leads_and_a_state_keep_their_filter_across_pages(f, client, auth):
    store = f.store()
    advisor, other = f.advisor(store), f.advisor(store)
    mine = _leads(store, SIZE + 1, advisor=advisor)
    _leads(store, 2, advisor=other)
    won = _leads(store, SIZE + 2, advisor=advisor, state=WON)
    auth.login(advisor)
    assert _flat(_walk(client, "/admin/leads/", "lead", "leads-pager")) == mine
    pages = _walk(client, "/admin/leads/?scope=mine&state=won", "lead", "leads-pager")
    assert len(pages) == 2 and _flat(pages) == won


def test_another_stores_leads_never_show_and_their_ids_are_no_cursor(f, client, auth):
    mine, theirs = f.store("北区店"), f.store("南区店")
    own, other = _leads(mine, SIZE + 1), _leads(theirs, SIZE + 2)
    auth.login(f.manager(mine))
    url = f"/admin/leads/?scope=store&store={theirs.id}"  # store staff cannot choose one
    assert _flat(_walk(client, url, "lead", "leads-pager")) == own
    for forged in other:
        html = client.get(f"/admin/leads/?scope=store&cursor={forged}").get_data(as_text=True)
        assert _shown(html, "lead") == own[:SIZE] and "leads-bad-cursor" in html
    auth.logout()
    auth.login(f.admin())
    pages = _walk(client, f"/admin/leads/?scope=store&store={theirs.id}", "lead", "leads-pager")
    assert _flat(pages) == other
    # One store at a time (the first by name by default): never every store's leads at once.
    first = client.get("/admin/leads/?scope=store").get_data(as_text=True)
    assert "All stores" not in first and f'<option value="{mine.id}" selected>' in first
    assert _flat(_walk(client, "/admin/leads/?scope=store", "lead", "leads-pager")) == own


def test_a_lead_that_changed_meanwhile_still_marks_the_place(f, client, auth):
    store = f.store()
    order = _leads(store, 2 * SIZE)
    auth.login(f.manager(store))
    first = client.get("/admin/leads/?scope=store").get_data(as_text=True)
    db.session.get(Lead, order[SIZE - 1]).state = WON  # the cursor row leaves the list
    db.session.commit()
    second = client.get(_next(first, "leads-pager")).get_data(as_text=True)
    assert _shown(second, "lead") == order[SIZE:] and "leads-bad-cursor" not in second


@pytest.mark.parametrize(
    "query", ["cursor=abc", "cursor=-1", "cursor=0", "cursor=99999999999", "store=abc", "state=x"]
)
def test_a_bad_cursor_or_filter_shows_the_first_leads_page(f, client, auth, query):
    store = f.store()
    order = _leads(store, SIZE + 1)
    auth.login(f.admin())
    r = client.get(f"/admin/leads/?scope=store&{query}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and _shown(html, "lead") == order[:SIZE]
    assert ("leads-bad-cursor" in html) == query.startswith("cursor=")


def test_the_leads_page_service_pages_outside_a_request(f, db):
    store = f.store()
    manager = f.manager(store)
    order = _leads(store, 5)
    first = timeline.leads_page(manager, mine=False, size=2)
    assert [lead.id for lead, _due in first.items] == order[:2] and first.before is None
    rest = timeline.leads_page(manager, mine=False, before=first.next_before, size=10)
    assert [lead.id for lead, _due in rest.items] == order[2:] and rest.next_before is None


# -- Today, the call queue, the approvals ----------------------------------------------------


def test_every_live_task_of_today_is_reached_page_by_page(f, client, auth):
    store = f.store()
    advisor = f.advisor(store)
    live = _tasks(store, advisor, 3 * SIZE + 1)
    done = _tasks(store, advisor, 2)
    for t in done:
        t.status, t.done_at = TASK_DONE, NOW
    _tasks(store, f.advisor(store), 2)  # a colleague's
    db.session.commit()
    order = _task_order(live)
    auth.login(advisor)
    pages = _walk(client, "/admin/today/", "(?:task|later)", "tasks-pager")
    # Each page splits its tasks into the day's sections: the pages hold the list in order.
    chunks = [order[i : i + SIZE] for i in range(0, len(order), SIZE)]
    assert [sorted(p) for p in pages] == [sorted(c) for c in chunks]
    first = client.get("/admin/today/").get_data(as_text=True)
    assert 'id="tasks-page-note"' in first and "tasks-pager-first" not in first


def test_todays_plan_order_comes_first_on_the_pages(f, client, auth):
    store = f.store()
    advisor = f.advisor(store)
    live = _tasks(store, advisor, 2 * SIZE + 1)
    planned = [live[-1], live[3]]
    for position, t in enumerate(planned):
        t.plan_day, t.plan_position = NOW.date(), position  # 10:00 in Shanghai: the same day
    db.session.commit()
    rest = _task_order([t for t in live if t not in planned])
    auth.login(advisor)
    pages = _walk(client, "/admin/today/", "(?:task|later)", "tasks-pager")
    expected = [t.id for t in planned] + rest
    chunks = [expected[i : i + SIZE] for i in range(0, len(expected), SIZE)]
    assert [sorted(p) for p in pages] == [sorted(c) for c in chunks]


def test_the_call_queue_pages_and_a_colleagues_task_is_no_cursor(f, client, auth):
    store, other_store = f.store(), f.store()
    agent = f.agent(store)
    order = _task_order(_tasks(store, agent, 2 * SIZE + 1))
    colleague = _tasks(store, f.agent(store), 2)
    elsewhere = _tasks(other_store, f.agent(other_store), 2)
    auth.login(agent)
    first = client.get("/admin/calls/").get_data(as_text=True)
    assert "more than 3" in first and "queue-pager-first" not in first
    assert _flat(_walk(client, "/admin/calls/", "task", "queue-pager")) == order
    for forged in colleague + elsewhere:
        html = client.get(f"/admin/calls/?cursor={forged.id}").get_data(as_text=True)
        assert _shown(html, "task") == order[:SIZE] and "queue-bad-cursor" in html


def test_the_approvals_page_and_stay_in_the_store(f, client, auth):
    mine, theirs = f.store(), f.store()
    manager = f.manager(mine)
    waiting = _tasks(mine, f.advisor(mine), 2 * SIZE + 1, status=TASK_AWAITING)
    _tasks(mine, f.advisor(mine), 2)  # open: nothing to decide
    other = _tasks(theirs, f.advisor(theirs), 2, status=TASK_AWAITING)
    order = [t.id for t in sorted(waiting, key=lambda t: (t.due_at, t.id))]
    auth.login(manager)
    url = f"/admin/task_approvals/?store={theirs.id}"
    first = client.get(url).get_data(as_text=True)
    assert re.search(r'id="approvals-count">[^<]*\b7\b', first)
    assert _flat(_walk(client, url, "approval", "approvals-pager")) == order
    html = client.get(f"/admin/task_approvals/?cursor={other[0].id}").get_data(as_text=True)
    assert _shown(html, "approval") == order[:SIZE] and "approvals-bad-cursor" in html
    today = client.get("/admin/today/").get_data(as_text=True)
    assert re.search(r'id="awaiting-link"[^>]*>[^<]*\b7\b', today)
    auth.logout()
    auth.login(f.admin())
    only = _flat(_walk(client, url, "approval", "approvals-pager"))
    assert only == [t.id for t in sorted(other, key=lambda t: (t.due_at, t.id))]


@pytest.mark.parametrize("path", ["/admin/today/", "/admin/calls/", "/admin/task_approvals/"])
@pytest.mark.parametrize("cursor", ["abc", "-1", "0", "99999999999"])
def test_a_bad_cursor_shows_the_first_page_of_a_task_list(f, client, auth, path, cursor):
    store = f.store()
    manager = f.manager(store)
    status = TASK_AWAITING if "approvals" in path else TASK_OPEN
    _tasks(store, manager, SIZE + 1, status=status)
    auth.login(manager)
    r = client.get(f"{path}?cursor={cursor}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "bad-cursor" in html
    prefix = {"/admin/today/": "(?:task|later)", "/admin/calls/": "task"}.get(path, "approval")
    assert len(_shown(html, prefix)) == SIZE


# -- reception and Today's visits ------------------------------------------------------------


def _visits(store, n: int, agent, advisor=None) -> list[int]:
    """Add n invitations of the store for today (pairs share a time); return their ids by time."""
    leads = [db.session.get(Lead, i) for i in _leads(store, n)]
    rows = [
        Invitation(
            lead_id=lead.id,
            customer_id=lead.customer_id,
            store_id=store.id,
            agent_id=agent.id,
            advisor_id=advisor.id if advisor else None,
            starts_at=NOW + timedelta(minutes=30 * (i // 2) + 5),
        )
        for i, lead in enumerate(leads)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in sorted(rows, key=lambda r: (r.starts_at, r.id))]


def test_reception_pages_the_days_visitors_of_its_store(f, client, auth, monkeypatch):
    monkeypatch.setattr(invitations, "PAGE_SIZE", SIZE)
    mine, theirs = f.store(), f.store()
    order = _visits(mine, 2 * SIZE + 1, f.agent(mine))
    other = _visits(theirs, 2, f.agent(theirs))
    auth.login(f.advisor(mine))
    first = client.get("/admin/invitations/").get_data(as_text=True)
    assert re.search(r'id="expected-count">[^<]*\(7\)', first)
    assert _flat(_walk(client, "/admin/invitations/", "invitation", "expected-pager")) == order
    html = client.get(f"/admin/invitations/?cursor={other[0]}").get_data(as_text=True)
    assert _shown(html, "invitation") == order[:SIZE] and "expected-bad-cursor" in html
    html = client.get(f"/admin/invitations/?store={theirs.id}").get_data(as_text=True)
    assert _shown(html, "invitation") == order[:SIZE]  # store staff: their own store
    auth.logout()
    auth.login(f.admin())
    url = f"/admin/invitations/?store={theirs.id}"
    assert _flat(_walk(client, url, "invitation", "expected-pager")) == other
    html = client.get(f"/admin/invitations/?store={theirs.id}&cursor={order[0]}").get_data(
        as_text=True
    )
    assert _shown(html, "invitation") == other  # a cursor of another store: the first page


def test_todays_visits_panel_says_how_many_more(f, client, auth, monkeypatch):
    monkeypatch.setattr(invitations, "PANEL", 2)
    store = f.store()
    advisor = f.advisor(store)
    order = _visits(store, 5, f.agent(store), advisor)
    auth.login(advisor)
    html = client.get("/admin/today/").get_data(as_text=True)
    assert _shown(html, "invitation") == order[:2]
    assert re.search(r'id="visits-more" href="/admin/invitations/">\s*3\b', html)
    monkeypatch.setattr(invitations, "PANEL", 5)
    html = client.get("/admin/today/").get_data(as_text=True)
    assert _shown(html, "invitation") == order and "visits-more" not in html


# -- tomorrow's plan -------------------------------------------------------------------------


def test_tomorrows_plan_pages_and_a_move_across_pages_shows_the_tasks_new_page(
    f, client, auth, monkeypatch
):
    monkeypatch.setattr(activity, "PAGE_SIZE", SIZE)
    store = f.store()
    advisor = f.advisor(store)
    order = _task_order(_tasks(store, advisor, 2 * SIZE + 1))
    colleague = _tasks(store, f.advisor(store), 1)
    auth.login(advisor)
    assert _flat(_walk(client, "/admin/tomorrow/", "plan-task", "plan-pager")) == order
    last = order[SIZE - 1]  # the last of the first page goes down: the first of the second
    r = client.post(f"/admin/tomorrow/{last}/move", data={"direction": "down"}, headers=HX)
    order[SIZE - 1], order[SIZE] = order[SIZE], order[SIZE - 1]
    assert (
        r.status_code == 200
        and _shown(r.get_data(as_text=True), "plan-task") == order[SIZE : 2 * SIZE]
    )
    assert _flat(_walk(client, "/admin/tomorrow/", "plan-task", "plan-pager")) == order
    r = client.post(f"/admin/tomorrow/{last}/move", data={"direction": "up"})  # without htmx
    order[SIZE - 1], order[SIZE] = order[SIZE], order[SIZE - 1]
    assert r.status_code == 303 and "cursor" not in r.headers["Location"]  # back on page one
    assert _flat(_walk(client, "/admin/tomorrow/", "plan-task", "plan-pager")) == order
    moved = order[-1]
    r = client.post(f"/admin/tomorrow/{moved}/move", data={"direction": "up"}, headers=HX)
    order[-2], order[-1] = order[-1], order[-2]
    assert _shown(r.get_data(as_text=True), "plan-task") == order[2 * SIZE - 3 : 2 * SIZE]
    assert _flat(_walk(client, "/admin/tomorrow/", "plan-task", "plan-pager")) == order
    html = client.get(f"/admin/tomorrow/?cursor={colleague[0].id}").get_data(as_text=True)
    assert _shown(html, "plan-task") == order[:SIZE] and "plan-bad-cursor" in html
    html = client.get("/admin/tomorrow/?cursor=abc").get_data(as_text=True)
    assert _shown(html, "plan-task") == order[:SIZE] and "plan-bad-cursor" in html


# -- back as well as forward -----------------------------------------------------------------


def _approvals(f, store):
    waiting = _tasks(store, f.advisor(store), 3 * SIZE + 1, status=TASK_AWAITING)
    return f.manager(store), [t.id for t in sorted(waiting, key=lambda t: (t.due_at, t.id))]


def _own_tasks(make_user):
    def make(f, store):
        user = make_user(f, store)
        return user, _task_order(_tasks(store, user, 3 * SIZE + 1))

    return make


BOTH_WAYS = {
    # name: (make the user and the list's rows, url, row id prefix, pager id)
    "leads": (
        lambda f, store: (f.manager(store), _leads(store, 3 * SIZE + 1)),
        "/admin/leads/?scope=store",
        "lead",
        "leads-pager",
    ),
    "today": (
        _own_tasks(lambda f, store: f.advisor(store)),
        "/admin/today/",
        "(?:task|later)",
        "tasks-pager",
    ),
    "calls": (_own_tasks(lambda f, store: f.agent(store)), "/admin/calls/", "task", "queue-pager"),
    "approvals": (_approvals, "/admin/task_approvals/", "approval", "approvals-pager"),
    "reception": (
        lambda f, store: (f.advisor(store), _visits(store, 3 * SIZE + 1, f.agent(store))),
        "/admin/invitations/",
        "invitation",
        "expected-pager",
    ),
    "tomorrow": (
        _own_tasks(lambda f, store: f.advisor(store)),
        "/admin/tomorrow/",
        "plan-task",
        "plan-pager",
    ),
}


@pytest.mark.parametrize("name", BOTH_WAYS)
def test_a_list_walked_forward_then_back_shows_the_same_pages(f, client, auth, monkeypatch, name):
    monkeypatch.setattr(invitations, "PAGE_SIZE", SIZE)
    monkeypatch.setattr(activity, "PAGE_SIZE", SIZE)
    make, url, prefix, pager = BOTH_WAYS[name]
    store = f.store()
    user, order = make(f, store)
    make(f, f.store())  # another store's: never on the pages
    auth.login(user)
    pages = walk_both_ways(client, url, lambda html: _shown(html, prefix), pager)
    # Ties on the sort keys (pairs due or made at one time) go by id both ways; Today splits a
    # page into the day's sections, so a page is compared as a set there.
    chunks = [order[i : i + SIZE] for i in range(0, len(order), SIZE)]
    assert [sorted(p) for p in pages] == [sorted(c) for c in chunks]
    if name != "today":
        assert pages == chunks


@pytest.mark.parametrize("back", ["abc", "-1", "0", "99999999999", "theirs"])
def test_a_bad_back_cursor_shows_the_first_leads_page_with_a_warning(f, client, auth, back):
    store, other = f.store(), f.store()
    order = _leads(store, 2 * SIZE)
    theirs = _leads(other, 1)[0]
    auth.login(f.manager(store))
    back = str(theirs) if back == "theirs" else back
    r = client.get(f"/admin/leads/?scope=store&back={back}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and _shown(html, "lead") == order[:SIZE]
    assert "leads-bad-cursor" in html and "leads-pager-prev" not in html
    html = client.get(f"/admin/leads/?scope=store&back={order[SIZE]}").get_data(as_text=True)
    assert _shown(html, "lead") == order[:SIZE] and "leads-bad-cursor" not in html
