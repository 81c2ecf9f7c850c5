"""The showroom handoff's pages: invite from the console, reception check-in, Today, tomorrow's
plan and the daily activity report with its charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm import invitations
from crm import leads as lead_svc
from crm import tasks as task_svc
from crm.models import PHONE, REACHED
from crm.showroom_models import Invitation
from portal.extensions import db

MORNING = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
AFTERNOON = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


@pytest.fixture
def desk(f, clock):
    clock.now = MORNING
    store = f.store()
    routed = f.advisor(store, name="刘顾问")
    named = f.advisor(store, name="陈顾问")
    agent = f.agent(store, name="邀约专员")
    reception = f.advisor(store, name="前台")
    lead = lead_svc.capture(
        lead_svc.Inquiry(name="王先生", phone="13655550001", store=store, source=PHONE)
    ).lead
    db.session.commit()
    return store, routed, named, agent, reception, lead


def _count() -> int:
    return db.session.scalar(select(func.count(Invitation.id)))


def test_the_agent_invites_from_the_callers_card(auth, client, desk):
    _store, _routed, named, agent, _reception, lead = desk
    auth.login(agent)
    card = client.get("/admin/calls/?phone=13655550001").get_data(as_text=True)
    assert f"/admin/invitations/lead/{lead.id}" in card
    page = client.get(f"/admin/invitations/lead/{lead.id}")
    assert page.status_code == 200 and 'id="invite-form"' in page.get_data(as_text=True)
    r = client.post(
        f"/admin/invitations/lead/{lead.id}",
        data={"kind": "visit", "starts_at": "2026-12-03T14:00", "advisor": str(named.id)},
    )
    assert r.status_code == 303
    inv = db.session.scalar(select(Invitation))
    assert inv.starts_at == AFTERNOON and inv.advisor_id == named.id and inv.agent_id == agent.id


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "visit", "starts_at": "tomorrow", "advisor": ""},
        {"kind": "visit", "starts_at": "2026-12-03T09:00", "advisor": ""},  # already past
        {"kind": "party", "starts_at": "2026-12-03T14:00", "advisor": ""},
        {"kind": "visit", "starts_at": "2026-12-03T14:00", "advisor": "999999"},
        {"kind": "visit", "starts_at": "", "advisor": ""},
    ],
)
def test_a_bad_invitation_form_is_shown_again_and_writes_nothing(auth, client, desk, data):
    _store, _routed, _named, agent, _reception, lead = desk
    auth.login(agent)
    r = client.post(f"/admin/invitations/lead/{lead.id}", data=data)
    assert r.status_code == 422 and "invalid-feedback" in r.get_data(as_text=True)
    assert _count() == 0


def test_reception_checks_in_and_the_salesperson_sees_the_visit_on_today(auth, client, desk):
    _store, _routed, named, agent, reception, lead = desk
    inv = invitations.invite(agent, lead, AFTERNOON, kind="visit", advisor=named)
    db.session.commit()
    auth.login(reception)
    page = client.get("/admin/invitations/?q=136 5555 0001").get_data(as_text=True)
    assert 'id="found-list"' in page and "王先生" in page and "m4s-check-in" in page
    r = client.post(f"/admin/invitations/{inv.id}/check-in")
    assert r.status_code == 303
    again = client.post(f"/admin/invitations/{inv.id}/check-in", follow_redirects=True)
    assert "already checked in" in again.get_data(as_text=True)
    db.session.refresh(inv)
    assert inv.status == "arrived" and inv.checked_in_by_id == reception.id
    auth.logout()
    auth.login(named)
    today = client.get("/admin/today/").get_data(as_text=True)
    visits = today.split('id="visit-list"')[1].split("</ul>")[0]
    assert "王先生" in visits and "Arrived" in visits


def test_another_stores_invitation_is_not_found(auth, client, f, desk):
    _store, _routed, named, agent, _reception, lead = desk
    inv = invitations.invite(agent, lead, AFTERNOON, kind="visit", advisor=named)
    db.session.commit()
    auth.login(f.advisor(f.store()))
    assert client.post(f"/admin/invitations/{inv.id}/check-in").status_code == 404
    assert client.get(f"/admin/invitations/lead/{lead.id}").status_code == 404
    assert db.session.get(Invitation, inv.id).status == "invited"


def test_tomorrows_plan_page_lists_the_work_ahead(auth, client, f, desk):
    store, routed, _named, _agent, _reception, _lead = desk
    task_svc.add_task(
        routed,
        f.owner(store, name="李女士"),
        "renewal",
        MORNING + timedelta(days=1),
        store_id=store.id,
        owner_id=routed.id,
    )
    db.session.commit()
    auth.login(routed)
    body = client.get("/admin/tomorrow/").get_data(as_text=True)
    tasks = body.split('id="plan-tasks"')[1].split("</ol>")[0]
    assert "Fri 4 Dec" in body and "李女士" in tasks and "王先生" in tasks  # the leftover too


def test_the_activity_report_page_shows_counts_and_completion_charts(auth, client, f, desk, clock):
    store, routed, _named, agent, _reception, lead = desk
    manager = f.manager(store)
    task = lead.tasks[0]
    task_svc.log_call(routed, task, REACHED)
    db.session.commit()
    auth.login(manager)
    r = client.get("/admin/activity_report/?day=2026-12-03")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    row = body.split(f'id="activity-{routed.id}"')[1].split("</tr>")[0]
    assert '<td class="text-right" data-figure="calls">1</td>' in row
    assert '<td class="text-right" data-figure="on_time">1</td>' in row
    assert 'id="completion-store"' in body and "12-03: 100 %" in body
    assert 'id="source-table"' in body
    # Any day string that is not a date shows today; a salesperson sees only their own line.
    assert client.get("/admin/activity_report/?day=2026-13-99").status_code == 200
    auth.logout()
    auth.login(agent)
    own = client.get("/admin/activity_report/?day=2026-12-03").get_data(as_text=True)
    assert f'id="activity-{agent.id}"' in own and f'id="activity-{routed.id}"' not in own
    assert 'id="source-table"' not in own


def test_store_choice_on_the_report_holds_for_admins_only(auth, client, f, desk):
    """?store= picks a store for an admin; a manager asking for another store gets their own."""
    store, routed, *_rest = desk
    other = f.store()
    stranger = f.advisor(other, name="外店顾问")
    db.session.commit()
    auth.login(f.manager(store))
    mine = client.get(f"/admin/activity_report/?store={other.id}").get_data(as_text=True)
    assert f'id="activity-{routed.id}"' in mine and f'id="activity-{stranger.id}"' not in mine
    auth.logout()
    auth.login(f.admin())
    theirs = client.get(f"/admin/activity_report/?store={other.id}").get_data(as_text=True)
    assert f'id="activity-{stranger.id}"' in theirs and f'id="activity-{routed.id}"' not in theirs
