"""Tomorrow's plan: the person reorders it, the order is kept, and the next Today follows it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from crm import activity
from crm import tasks as svc
from crm.models import FOLLOW_UP, Task
from portal.errors import NotFound, ValidationError
from portal.extensions import db
from portal.timeutil import now

# Thursday 3 December 2026, 17:00 in Shanghai: tomorrow is Friday the 4th.
EVENING = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def plan(f, clock):
    """An advisor with three calls due tomorrow at 09:00, 10:00 and 11:00 local time."""
    clock.now = EVENING
    store = f.store()
    advisor = f.advisor(store)
    tasks = []
    for hour in (1, 2, 3):  # UTC: 09:00, 10:00, 11:00 in Shanghai on the 4th
        customer = f.owner(store)
        due = datetime(2026, 12, 4, hour, 0, tzinfo=UTC)
        tasks.append(
            svc.add_task(advisor, customer, FOLLOW_UP, due, store_id=store.id, owner_id=advisor.id)
        )
    db.session.commit()
    return store, advisor, [t.id for t in tasks]


def _order(store, advisor) -> list[int]:
    db.session.expire_all()
    return [t.id for t in activity.tomorrow_plan(advisor, store, now()).tasks]


def test_moving_a_task_up_and_down_keeps_the_whole_order(plan):
    store, advisor, (first, second, third) = plan
    assert _order(store, advisor) == [first, second, third]
    activity.move_in_plan(advisor, store, third, "up", now())
    db.session.commit()
    assert _order(store, advisor) == [first, third, second]
    activity.move_in_plan(advisor, store, first, "down", now())
    db.session.commit()
    assert _order(store, advisor) == [third, first, second]
    activity.move_in_plan(advisor, store, third, "up", now())  # already first: stays
    db.session.commit()
    assert _order(store, advisor) == [third, first, second]
    day = activity.tomorrow_plan(advisor, store, now()).day
    assert {t.plan_day for t in db.session.query(Task)} == {day}


def test_a_bad_move_says_so_and_changes_nothing(f, plan):
    store, advisor, (first, second, third) = plan
    with pytest.raises(ValidationError):
        activity.move_in_plan(advisor, store, second, "sideways", now())
    colleague = f.advisor(store)
    with pytest.raises(NotFound):
        activity.move_in_plan(colleague, store, second, "up", now())
    db.session.rollback()
    assert _order(store, advisor) == [first, second, third]
    assert db.session.query(Task).filter(Task.plan_position.is_not(None)).count() == 0


def _ids(html: str, list_id: str) -> list[int]:
    section = html.split(f'id="{list_id}"', 1)[1].split("</ul>", 1)[0]
    return [int(n) for n in re.findall(r'id="task-(\d+)"', section)]


def test_the_page_reorders_with_and_without_htmx_and_the_next_today_starts_in_that_order(
    auth, client, clock, plan
):
    store, advisor, (first, second, third) = plan
    auth.login(advisor)
    page = client.get("/admin/tomorrow/").get_data(as_text=True)
    assert f"/admin/tomorrow/{third}/move" in page and 'name="direction" value="up"' in page

    r = client.post(f"/admin/tomorrow/{third}/move", data={"direction": "up"})
    assert r.status_code == 303
    r = client.post(
        f"/admin/tomorrow/{third}/move", data={"direction": "up"}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 200
    fragment = r.get_data(as_text=True)
    assert "<html" not in fragment and 'id="plan-tasks"' in fragment
    shown = [int(n) for n in re.findall(r'id="plan-task-(\d+)"', fragment)]
    assert shown == [third, first, second]
    bad = client.post(
        f"/admin/tomorrow/{first}/move", data={"direction": "x"}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 422 and "m4s-plan-error" in bad.get_data(as_text=True)

    clock.now = EVENING + timedelta(hours=15, minutes=30)  # Friday 08:30 in Shanghai
    auth.logout()  # a staff session does not last the night
    auth.login(advisor)
    today = client.get("/admin/today/").get_data(as_text=True)
    assert _ids(today, "today-list") == [third, first, second]
