"""Help for owners and the staff manual: every topic in both languages, each role's first."""

from __future__ import annotations

import pytest

from portal import help as content
from portal.models.accounts import STAFF_ROLES


def test_the_owner_help_lists_every_journey_in_chinese_and_english(client, db):
    en = client.get("/help").get_data(as_text=True)
    for topic in content.OWNER_TOPICS:
        assert f'id="{topic.slug}"' in en and str(topic.title) in en
    assert 'id="nav-help"' in en  # linked from the header
    client.post("/lang", data={"lang": "zh_CN"})
    zh = client.get("/help").get_data(as_text=True)
    assert "预约维修保养" in zh and "道路救援" in zh and "122或120" in zh


@pytest.mark.parametrize("role", ["advisor", "manager", "agent"])
def test_staff_see_their_own_roles_manual_first(role, f, auth, client, db):
    store = f.store()
    person = {"advisor": f.advisor, "manager": f.manager, "agent": f.agent}[role](store)
    auth.login(person)
    page = client.get("/admin/manual/").get_data(as_text=True)
    first = page.index('class="mb-4 m4s-help-role"')
    assert page.index(f'id="role-{role}"') == page.index('id="role-', first)
    for topic in content.STAFF_MANUAL[role]:
        assert f'id="{role}-{topic.slug}"' in page


def test_every_staff_role_has_a_manual_and_every_named_screenshot_exists():
    assert set(content.STAFF_MANUAL) == set(STAFF_ROLES)
    topics = [*content.OWNER_TOPICS, *(t for ts in content.STAFF_MANUAL.values() for t in ts)]
    named = {t.shot for t in topics if t.shot}
    assert named and all(content.has_shot(name) for name in named), named
