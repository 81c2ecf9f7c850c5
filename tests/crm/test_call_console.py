"""The call console, the caller-ID webhook, the Today page, approvals and rules pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm import leads as lead_svc
from crm import tasks as task_svc
from crm.models import PHONE, Lead, ScreenPop, Task, TaskRule
from portal.extensions import db

HX = {"HX-Request": "true"}


def _lead(store, phone="13655550001"):
    return lead_svc.capture(
        lead_svc.Inquiry(name="王先生", phone=phone, store=store, source=PHONE, timeframe="7d")
    ).lead


@pytest.fixture
def desk(f):
    store = f.store()
    advisor = f.advisor(store)
    agent = f.agent(store)
    return store, advisor, agent


def test_staff_land_on_today_after_login(client, desk):
    _store, advisor, _agent = desk
    r = client.post(
        "/login", data={"login": advisor.login, "password": "correct horse battery staple"}
    )
    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/today/")


def test_the_agent_sees_console_and_today_but_not_the_stores_pages(auth, client, desk):
    _store, _advisor, agent = desk
    auth.login(agent)
    assert client.get("/admin/calls/").status_code == 200
    assert client.get("/admin/today/").status_code == 200
    assert client.get("/admin/leads/").status_code == 403
    assert client.get("/admin/queue/").status_code == 403


def test_a_known_number_opens_the_card_at_once(auth, client, desk):
    store, advisor, agent = desk
    lead = _lead(store)
    db.session.commit()
    auth.login(agent)
    r = client.get("/admin/calls/card?phone=+86 136-5555-0001", headers=HX)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body
    assert "王先生" in body and 'id="card-tasks"' in body and "lead-form" not in body
    assert lead.model_interest in body
    # The history in words, as on the customer page: never the stored codes.
    assert "Lead received" in body and "Phone call" in body and "· step ·" not in body


def test_an_unknown_number_opens_a_prefilled_lead_form_and_the_lead_goes_to_an_advisor(
    auth, client, desk
):
    _store, advisor, agent = desk
    auth.login(agent)
    body = client.get("/admin/calls/card?phone=13912340000", headers=HX).get_data(as_text=True)
    assert 'id="lead-form"' in body and 'value="13912340000"' in body
    r = client.post(
        "/admin/calls/lead",
        data={"source": "phone", "name": "新客户", "phone": "13912340000", "timeframe": "7d"},
    )
    assert r.status_code == 303
    lead = db.session.scalar(select(Lead))
    assert lead.advisor_id == advisor.id and lead.source == "phone"
    task = db.session.scalar(select(Task).where(Task.lead_id == lead.id))
    assert task.owner_id == advisor.id and task.status == "open"


def test_a_bad_lead_form_is_shown_again_and_writes_nothing(auth, client, desk):
    _store, _advisor, agent = desk
    auth.login(agent)
    r = client.post("/admin/calls/lead", data={"source": "phone", "name": "", "phone": "123"})
    assert r.status_code == 422
    assert db.session.scalar(select(func.count(Lead.id))) == 0


def test_caller_id_webhook_refuses_without_its_token(make_app, f):
    app = make_app(CALLERID_TOKEN="s3cret-token")
    with app.app_context():
        store = f.store()
        agent = f.agent(store)
        client = app.test_client()
        body = {"agent": agent.login, "number": "13655550001"}
        assert client.post("/crm/caller-id", json=body).status_code == 403
        bad = {"X-M4S-Token": "wrong"}
        assert client.post("/crm/caller-id", json=body, headers=bad).status_code == 403
        assert db.session.scalar(select(func.count(ScreenPop.id))) == 0
        ok = {"X-M4S-Token": "s3cret-token"}
        r = client.post("/crm/caller-id", json=body, headers=ok)
        assert r.status_code == 201
        assert client.post("/crm/caller-id", json=[1], headers=ok).status_code == 400
        wrong = {"agent": "13000000000", "number": "13655550001"}
        assert client.post("/crm/caller-id", json=wrong, headers=ok).status_code == 422
        assert db.session.scalar(select(func.count(ScreenPop.id))) == 1


def test_caller_id_webhook_is_off_without_a_configured_token(client):
    assert client.post("/crm/caller-id", json={}).status_code == 404


def test_a_posted_caller_id_pops_on_that_agents_console(auth, client, desk):
    store, _advisor, agent = desk
    _lead(store)
    db.session.commit()
    auth.login(agent)
    assert client.get("/admin/calls/pop?after=0", headers=HX).status_code == 204
    from crm.calls import record_pop

    pop = record_pop(agent.login, "13655550001")
    db.session.commit()
    r = client.get("/admin/calls/pop?after=0", headers=HX)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "王先生" in body
    assert f"after={pop.id}" in body and 'hx-swap-oob="true"' in body
    assert client.get(f"/admin/calls/pop?after={pop.id}", headers=HX).status_code == 204


def test_log_a_call_in_one_tap_from_today_with_htmx(auth, client, desk, clock):
    clock.now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai: open
    store, advisor, _agent = desk
    lead = _lead(store)
    db.session.commit()
    task = lead.tasks[0]
    auth.login(advisor)
    page = client.get("/admin/today/").get_data(as_text=True)
    assert f'id="task-{task.id}"' in page
    r = client.post(
        f"/admin/today/{task.id}/call", data={"outcome": "no_answer", "back": "today"}, headers=HX
    )
    assert r.status_code == 200 and "<html" not in r.get_data(as_text=True)
    db.session.expire_all()
    assert task.status == "open" and task.attempts == 1
    r = client.post(f"/admin/today/{task.id}/call", data={"outcome": "reached"})
    assert r.status_code == 303
    db.session.expire_all()
    assert task.status == "done" and task.outcome == "reached"


def test_call_back_at_a_time_typed_in_the_store_zone(auth, client, desk, clock):
    store, advisor, _agent = desk
    lead = _lead(store)
    db.session.commit()
    task = lead.tasks[0]
    auth.login(advisor)
    local = (clock.now + timedelta(days=1)).astimezone(
        __import__("zoneinfo").ZoneInfo(store.timezone)
    )
    r = client.post(
        f"/admin/today/{task.id}/call",
        data={"outcome": "call_back", "when": local.strftime("%Y-%m-%dT%H:%M")},
    )
    assert r.status_code == 303
    db.session.expire_all()
    nxt = db.session.get(Task, task.next_task_id)
    assert nxt.due_at == (clock.now + timedelta(days=1)).replace(second=0, microsecond=0)
    r = client.post(f"/admin/today/{nxt.id}/call", data={"outcome": "call_back", "when": "x"})
    assert r.status_code == 303
    db.session.expire_all()
    assert nxt.status == "open"  # no time: refused, nothing changed


def test_another_advisor_cannot_log_a_call_on_my_task(auth, client, desk, f):
    store, advisor, _agent = desk
    lead = _lead(store)
    db.session.commit()
    other = f.advisor(store)
    auth.login(other)
    r = client.post(f"/admin/today/{lead.tasks[0].id}/call", data={"outcome": "reached"})
    assert r.status_code == 303
    db.session.expire_all()
    assert lead.tasks[0].status == "open"


def test_another_stores_task_does_not_exist(auth, client, desk, f):
    store, _advisor, _agent = desk
    lead = _lead(store)
    db.session.commit()
    other = f.store()
    auth.login(f.agent(other))
    assert client.post(f"/admin/today/{lead.tasks[0].id}/call", data={}).status_code == 404


def test_manager_approves_a_cancel_request_on_the_approvals_page(auth, client, desk, f):
    store, advisor, _agent = desk
    manager = f.manager(store)
    lead = _lead(store)
    task = lead.tasks[0]
    task_svc.ask(advisor, task, "cancel", "重复线索")
    db.session.commit()
    auth.login(manager)
    page = client.get("/admin/task_approvals/").get_data(as_text=True)
    assert "重复线索" in page
    r = client.post(f"/admin/task_approvals/{task.id}/decide", data={"verdict": "approve"})
    assert r.status_code == 303
    db.session.expire_all()
    assert task.status == "cancelled"
    r = client.post(
        f"/admin/task_approvals/{task.id}/decide", data={"verdict": "refuse"}, follow_redirects=True
    )
    assert "already decided" in r.get_data(as_text=True)


def test_manager_tunes_the_rules(auth, client, desk, f):
    store, _advisor, _agent = desk
    auth.login(f.manager(store))
    data = {"days_follow_up_H": "3", "on_follow_up_H": "1", "days_follow_up_A": "4"}
    data |= {"days_follow_up_B": "7", "days_follow_up_C": "14", "days_post_service": "3"}
    data |= {"days_renewal_policy": "45", "on_renewal_policy": "1", "days_renewal_loan": "30"}
    data |= {"days_maintenance_due": "3", "days_trade_in_warranty": "60"}
    data |= {"days_trade_in_3y": "30", "days_trade_in_5y": "30", "days_trade_in_km": "2"}
    page = client.get("/admin/task_rules/").get_data(as_text=True)
    assert 'name="days_trade_in_km"' in page and 'name="on_renewal_policy"' in page
    assert client.post("/admin/task_rules/", data=data).status_code == 303
    row = db.session.scalar(select(TaskRule).where(TaskRule.rule == "follow_up_H"))
    assert row.days == 3 and row.is_active
    policy = db.session.scalar(select(TaskRule).where(TaskRule.rule == "renewal_policy"))
    assert policy.days == 45 and policy.is_active
    km = db.session.scalar(select(TaskRule).where(TaskRule.rule == "trade_in_km"))
    assert km.days == 2 and km.is_active is False
    assert (
        db.session.scalar(select(TaskRule).where(TaskRule.rule == "follow_up_A")).is_active is False
    )
    bad = dict(data, days_follow_up_H="0")
    assert client.post("/admin/task_rules/", data=bad).status_code == 422
    db.session.expire_all()
    assert db.session.scalar(select(TaskRule).where(TaskRule.rule == "follow_up_H")).days == 3
