"""The duty roster and routing rules page: managers add and remove; bad input changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.staffing_models import DutyShift, RoutingRule
from portal.models import AuditEvent

URL = "/admin/routing_rules"


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_manager_builds_the_roster_and_rules_and_removes_them(client, auth, f, db):
    store = f.store()
    adv = f.advisor(store, name="张顾问")
    boss = f.manager(store)
    adv_id = adv.id
    auth.login(boss)
    got = client.post(
        f"{URL}/shifts", data={"advisor": adv_id, "weekday": "5", "start": "09:30", "end": "24:00"}
    )
    assert got.status_code == 303
    shift = db.session.scalar(select(DutyShift))
    assert (shift.weekday, shift.start_minute, shift.end_minute) == (5, 570, 1440)
    got = client.post(f"{URL}/rules", data={"advisor": adv_id, "source": "phone", "model": "途观"})
    assert got.status_code == 303
    rule = db.session.scalar(select(RoutingRule))
    assert (rule.position, rule.source, rule.model_contains) == (1, "phone", "途观")
    got = client.post(f"{URL}/rules", data={"advisor": adv_id, "language": "en"})
    english = db.session.scalars(select(RoutingRule).order_by(RoutingRule.id)).all()[-1]
    assert got.status_code == 303 and (english.position, english.language) == (2, "en")
    page = client.get(f"{URL}/").get_data(as_text=True)
    assert f'id="shift-{shift.id}"' in page and "09:30–24:00" in page and "张顾问" in page
    assert f'id="rule-{rule.id}"' in page and "English-speaking" in page
    assert client.post(f"{URL}/rules/{english.id}/delete").status_code == 303
    assert client.post(f"{URL}/shifts/{shift.id}/delete").status_code == 303
    assert client.post(f"{URL}/rules/{rule.id}/delete").status_code == 303
    assert _count(db, DutyShift) == 0 and _count(db, RoutingRule) == 0
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"duty_shift_added", "routing_rule_added", "duty_shift_removed"} <= actions


def test_bad_roster_and_rule_input_is_refused_and_changes_nothing(client, auth, f, db):
    store, elsewhere = f.store(), f.store()
    adv = f.advisor(store)
    stranger = f.advisor(elsewhere)
    boss, their_boss = f.manager(store), f.manager(elsewhere)
    ids = {"adv": adv.id, "stranger": stranger.id}
    auth.login(boss)
    bad_shifts = [
        {"advisor": ids["adv"], "weekday": "7", "start": "09:00", "end": "18:00"},
        {"advisor": ids["adv"], "weekday": "1", "start": "25:00", "end": "26:00"},
        {"advisor": ids["adv"], "weekday": "1", "start": "18:00", "end": "09:00"},
        {"advisor": ids["adv"], "weekday": "x", "start": "9", "end": ""},
        {"advisor": ids["stranger"], "weekday": "1", "start": "09:00", "end": "18:00"},
        {"advisor": "99999999999999", "weekday": "1", "start": "09:00", "end": "18:00"},
        {},
    ]
    for data in bad_shifts:
        assert client.post(f"{URL}/shifts", data=data).status_code == 303, data
    ok = {"advisor": ids["adv"], "weekday": "1", "start": "09:00", "end": "18:00"}
    assert client.post(f"{URL}/shifts", data=ok).status_code == 303
    overlap = {**ok, "start": "17:00", "end": "20:00"}
    assert client.post(f"{URL}/shifts", data=overlap).status_code == 303
    assert _count(db, DutyShift) == 1
    for data in (
        {"advisor": ids["adv"]},  # neither source nor model
        {"advisor": ids["adv"], "source": "fax"},
        {"advisor": ids["adv"], "language": "fr"},
        {"advisor": ids["stranger"], "source": "phone"},
    ):
        assert client.post(f"{URL}/rules", data=data).status_code == 303, data
    assert _count(db, RoutingRule) == 0
    shift_id = db.session.scalar(select(DutyShift.id))
    auth.logout()
    auth.login(their_boss)  # another store's manager: the shift does not exist for them
    assert client.post(f"{URL}/shifts/{shift_id}/delete").status_code == 404
    assert _count(db, DutyShift) == 1
    auth.logout()
    auth.login(adv)
    assert client.get(f"{URL}/").status_code == 403
    assert client.post(f"{URL}/shifts", data=ok).status_code == 403
