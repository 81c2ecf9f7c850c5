"""Help for owners and the staff manual: every topic in both languages, each role's first."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from PIL import Image

from portal import help as content
from portal.models.accounts import STAFF_ROLES
from tests.e2e.shots import check_width

E2E = Path(__file__).resolve().parents[1] / "e2e"


def test_the_owner_help_lists_every_journey_in_chinese_and_english(client, db):
    en = client.get("/help").get_data(as_text=True)
    for topic in content.OWNER_TOPICS:
        assert f'id="{topic.slug}"' in en and str(topic.title) in en
    assert 'id="nav-help"' in en  # linked from the header
    client.post("/lang", data={"lang": "zh_CN"})
    zh = client.get("/help").get_data(as_text=True)
    assert "预约维修保养" in zh and "道路救援" in zh and "122 或 120" in zh


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


def _topics() -> list[content.Topic]:
    return [*content.OWNER_TOPICS, *(t for ts in content.STAFF_MANUAL.values() for t in ts)]


def _shots_the_journeys_take() -> set[str]:
    """Read the browser journeys for shoot(page, "name") calls, without running them."""
    taken = set()
    for path in E2E.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "shoot"
                and len(node.args) == 2
                and isinstance(node.args[1], ast.Constant)
            ):
                taken.add(node.args[1].value)
    return taken


def test_every_staff_role_has_a_manual_and_every_topic_a_screenshot():
    assert set(content.STAFF_MANUAL) == set(STAFF_ROLES)
    assert [t.slug for t in _topics() if not t.shot] == []


def test_every_topic_screenshot_is_taken_by_a_journey_at_its_audiences_width():
    named = {t.shot for t in _topics()}
    # A picture nobody retakes would show an old screen one day: each comes from a journey.
    assert named - _shots_the_journeys_take() == set()
    for name in named:
        assert content.has_shot(name), f"static/help/{name}.png: run the browser lane"
        with Image.open(content.SHOTS / f"{name}.png") as image:
            check_width(name, image.width)  # owners' on a phone, staff on a desktop
    # And no picture stays behind when its topic goes.
    assert {p.stem for p in content.SHOTS.glob("*.png")} - named == set()
