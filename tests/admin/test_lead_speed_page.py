"""Speed to lead through the client: those who see every store see one store at a time."""

from __future__ import annotations

from datetime import timedelta

from crm import leads as svc
from portal.extensions import db
from tests.crm.test_leads import inquiry

URL = "/admin/lead_speed/"


def _answered(store, phone: str, minutes: int):
    lead = svc.capture(inquiry(store, phone=phone)).lead
    db.session.commit()
    lead.first_contact_at = lead.created_at + timedelta(minutes=minutes)
    db.session.commit()
    return lead


def test_the_group_admin_picks_one_store_against_its_own_target(f, client, auth):
    home, away = f.store("A"), f.store("B")
    mine, theirs = f.advisor(home), f.advisor(away)
    mine.name, theirs.name = "甲店顾问", "乙店顾问"
    away.first_contact_minutes = 30
    db.session.commit()
    _answered(home, "13600000001", 20)
    _answered(away, "13600000002", 20)
    first = min((home, away), key=lambda s: (s.name, s.id))
    auth.login(f.admin())
    body = client.get(URL).get_data(as_text=True)
    assert f'<option value="{first.id}" selected>' in body and '<option value="">' not in body
    assert ("甲店顾问" in body) == (first is home) and ("乙店顾问" in body) == (first is away)
    chosen = client.get(URL + f"?store={away.id}").get_data(as_text=True)
    assert "乙店顾问" in chosen and "甲店顾问" not in chosen
    assert "30" in chosen  # the chosen store's target: 20 minutes is on time there
    row = chosen[chosen.index("乙店顾问") :].split("</tr>")[0]
    assert row.rstrip().endswith("<td>1</td>")
    for odd in ("999999", "abc", "-1"):
        page = client.get(URL + f"?store={odd}")
        assert page.status_code == 200
        assert f'<option value="{first.id}" selected>' in page.get_data(as_text=True)


def test_a_manager_sees_their_own_store_whatever_they_ask(f, client, auth):
    home, away = f.store("A"), f.store("B")
    f.advisor(home).name, f.advisor(away).name = "甲店顾问", "乙店顾问"
    db.session.commit()
    _answered(home, "13600000001", 3)
    _answered(away, "13600000002", 3)
    auth.login(f.manager(home))
    body = client.get(URL + f"?store={away.id}").get_data(as_text=True)
    assert "甲店顾问" in body and "乙店顾问" not in body and 'name="store"' not in body
