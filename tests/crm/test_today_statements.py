"""Today and the screen pop send a fixed, small number of SQL statements, however many tasks,
leads, bookings, cars and done calls the person or the caller has (no per-row query), and
each task row keeps its one-tap form with the page's one CSRF token."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm import leads as lead_svc
from crm import tasks as task_svc
from crm.models import PHONE, TASK_DONE, Task
from portal.extensions import db
from tests.admin.test_page_statements import Counter

HX = {"HX-Request": "true"}
TODAY_LIMIT = 5  # the signed-in user, the store, tasks, bookings, visits
CARD_LIMIT = 12  # user, caller, last call, leads, steps, cars, tasks, records, card, store,
# and the campaign messages sent and their answers


@pytest.fixture
def desk(f, clock):
    clock.now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
    store = f.store()
    return store, f.advisor(store), f.agent(store)


def _customer(f, store, advisor, agent, n: int, phone: str):
    """A customer with n of everything the card shows: tasks, done calls, cars, bookings."""
    lead = lead_svc.capture(
        lead_svc.Inquiry(name="王先生", phone=phone, store=store, source=PHONE, timeframe="7d")
    ).lead
    customer = lead.customer
    for k in range(n):
        car = f.vehicle(customer, store_id=store.id)
        f.booking(customer, store, days=2 + k, hour=9 + k % 8, vehicle=car)
        when = task_svc.now() + timedelta(hours=k)
        task_svc.add_task(
            advisor, customer, "follow_up", when, store_id=store.id, owner_id=agent.id
        )
        done = task_svc.add_task(
            advisor, customer, "follow_up", when, store_id=store.id, owner_id=agent.id
        )
        done.status, done.done_at, done.outcome = TASK_DONE, task_svc.now(), "reached"
    db.session.commit()
    return customer


def _count(client, path: str, headers=None) -> tuple[int, str]:
    client.get(path, headers=headers)  # warm: the fragment cache, the session's first reads
    with Counter() as counter:
        r = client.get(path, headers=headers)
    assert r.status_code == 200
    return len(counter.statements), r.get_data(as_text=True)


def test_today_statements_do_not_grow_with_the_tasks(auth, client, desk, f):
    store, advisor, agent = desk
    _customer(f, store, advisor, agent, 1, "13655550001")
    auth.login(agent)
    few, page = _count(client, "/admin/today/")
    rows = len(re.findall(r'class="[^"]*m4s-task', page))
    _customer(f, store, advisor, agent, 6, "13655550002")
    many, page = _count(client, "/admin/today/")
    assert len(re.findall(r'class="[^"]*m4s-task', page)) == rows + 6
    assert many == few <= TODAY_LIMIT
    # One CSRF token for the page, in every row's form (the forms work without JavaScript).
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', page))
    assert len(tokens) == 1
    forms = page.count('class="mt-2 m4s-call-form"')
    assert (
        len(re.findall(r'm4s-call-form">\s*<input type="hidden" name="csrf_token"', page)) == forms
    )
    assert forms > 6
    assert page.count('name="outcome" value="reached"') == page.count("m4s-call-form")


def test_the_card_statements_do_not_grow_with_the_callers_history(auth, client, desk, f):
    store, advisor, agent = desk
    _customer(f, store, advisor, agent, 1, "13655550001")
    _customer(f, store, advisor, agent, 8, "13655550002")
    auth.login(agent)
    few, _body = _count(client, "/admin/calls/card?phone=13655550001", HX)
    many, body = _count(client, "/admin/calls/card?phone=13655550002", HX)
    assert many == few <= CARD_LIMIT
    # The card is whole: the open tasks (the agent's 8 with their forms, the advisor's first
    # contact without), the history bounded to 10 entries.
    assert len(re.findall(r'class="[^"]*m4s-task', body)) == 9 and "<html" not in body
    assert body.count("m4s-call-form") == 8
    history = body.split('<h3 class="h6">')[1]
    assert history.count("<li>") == 10


def test_an_unknown_number_costs_one_lookup(auth, client, desk):
    _store, _advisor, agent = desk
    auth.login(agent)
    n, body = _count(client, "/admin/calls/card?phone=13655559999", HX)
    assert 'id="lead-form"' in body and "13655559999" in body
    assert n <= 2  # the signed-in user and the number's lookup


def test_a_live_task_never_carries_a_done_time(desk, f):
    """The database refuses an open task with done_at: the live lists rely on it."""
    store, advisor, agent = desk
    customer = _customer(f, store, advisor, agent, 1, "13655550001")
    task = db.session.scalar(
        select(Task).where(Task.customer_id == customer.id, Task.status == "open").limit(1)
    )
    task.done_at = task_svc.now()
    with pytest.raises(Exception, match="(?i)check|constraint"):
        db.session.flush()
    db.session.rollback()


def test_the_cached_menu_follows_the_role_and_the_page(auth, client, desk, f):
    store, advisor, agent = desk
    manager = f.manager(store)
    rules_link = 'href="/admin/task_rules/"'

    def active(body: str) -> list[str]:
        return re.findall(r'<li class="active">\s*<a class="nav-link[^"]*" href="([^"]+)"', body)

    auth.login(manager)
    first = client.get("/admin/today/").get_data(as_text=True)
    assert rules_link in first  # a manager's menu lists the task rules
    auth.logout()
    auth.login(agent)
    today = client.get("/admin/today/").get_data(as_text=True)
    assert rules_link not in today  # the agent's menu is not the manager's, cached or not
    console = client.get("/admin/calls/").get_data(as_text=True)
    assert 'href="/admin/calls/"' in console
    assert re.search(r'dropdown-item active[^"]*"\s*href="/admin/calls/"', console)
    assert not re.search(r'dropdown-item active[^"]*"\s*href="/admin/calls/"', today)
    assert active(today) == ["/admin/today/"] and active(console) == []
