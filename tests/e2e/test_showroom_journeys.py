"""The handoff to the showroom in a real Chromium: an agent invites a new caller from the
console, reception finds them by phone number on a 360 px phone and checks them in, and the
showroom advisor the lead went to sees the visit on their Today page."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import ADVISOR, AGENT, MANAGER
from portal.models.base import utcnow
from tests.e2e.test_call_centre_journeys import SMALL_PHONE
from tests.e2e.test_foundation_journeys import login

pytestmark = pytest.mark.e2e


def test_an_invited_caller_is_checked_in_and_shows_on_the_advisors_today(open_page, live_server):
    from tests.e2e.live import DESKTOP

    agent = open_page("agent", **DESKTOP)
    login(agent, DEMO_LOGINS[AGENT], DEMO_PASSWORD[AGENT])
    agent.goto("/admin/calls/")
    agent.fill("#phone", "136 6611 2233")
    form = agent.locator("#caller-card #lead-form")
    expect(form).to_be_visible()
    form.locator("#name").fill("邀约新客")
    form.locator("button[type=submit]").click()
    expect(agent.locator("#card-name")).to_contain_text("邀约新客")
    agent.locator("#caller-card .m4s-invite").first.click()
    expect(agent.locator("#invite-form")).to_be_visible()
    soon = (utcnow() + timedelta(minutes=5)).astimezone(ZoneInfo("Asia/Shanghai"))
    agent.fill("#starts_at", soon.strftime("%Y-%m-%dT%H:%M"))
    agent.locator("#invite-form button[type=submit]").click()
    expect(agent.locator(".alert-success")).to_be_visible()

    desk = open_page("reception", **SMALL_PHONE)
    login(desk, DEMO_LOGINS[MANAGER], DEMO_PASSWORD[MANAGER])
    desk.goto("/admin/invitations/")
    desk.fill("#q", "13666112233")
    desk.locator("#arrival-search button[type=submit]").click()
    row = desk.locator("#found-list li", has_text="邀约新客")
    expect(row).to_be_visible()
    assert desk.evaluate("document.documentElement.scrollWidth") <= 360
    row.locator(".m4s-check-in").click()
    expect(desk.locator(".alert-success")).to_be_visible()
    expect(desk.locator("#expected-list li", has_text="邀约新客")).to_contain_text(
        re.compile("已到店|Arrived at the showroom")
    )

    showing = []
    for i in range(1, 5):
        who = DEMO_LOGINS[ADVISOR][:-1] + str(i)
        page = open_page(f"advisor{i}", **SMALL_PHONE)
        login(page, who, DEMO_PASSWORD[ADVISOR])
        visit = page.locator("#visit-list li", has_text="邀约新客")
        if visit.count():
            showing.append(who)
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert len(showing) == 1, showing
