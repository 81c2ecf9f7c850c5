"""The call centre in a real Chromium: an agent takes a call from a new number, enters the lead
from the console, and the showroom advisor it was routed to finds the call on their Today page
on a 360 px phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import ADVISOR, AGENT
from tests.e2e.shots import shoot
from tests.e2e.test_foundation_journeys import login

pytestmark = pytest.mark.e2e
SMALL_PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


def test_an_agent_enters_a_new_callers_lead_and_the_advisor_sees_it_today(open_page, live_server):
    from tests.e2e.live import DESKTOP

    agent = open_page("agent", **DESKTOP)
    login(agent, DEMO_LOGINS[AGENT], DEMO_PASSWORD[AGENT])
    expect(agent).to_have_url(live_server.url + "/admin/today/")
    expect(agent.locator("#overdue-list .m4s-task").first).to_be_visible()  # yesterday's call
    agent.goto("/admin/calls/")
    expect(agent.locator("#queue .m4s-task").first).to_be_visible()

    agent.fill("#phone", "136 6600 1234")  # typed as the caller says it: the form pops at once
    form = agent.locator("#caller-card #lead-form")
    expect(form).to_be_visible()
    expect(form.locator("#phone")).to_have_value("13666001234")
    form.locator("#name").fill("来电新客")
    form.locator("#model_interest").fill("ID.4 CROZZ")
    form.locator("#timeframe").select_option("7d")
    form.locator("button[type=submit]").click()
    expect(agent.locator(".alert-success")).to_be_visible()
    expect(agent.locator("#card-name")).to_contain_text("来电新客")
    expect(agent.locator("#card-name")).to_contain_text("13666001234")
    expect(agent.locator("#card-tasks")).to_contain_text(re.compile("首次联系|First contact"))
    shoot(agent, "agent-console")

    # The lead went to one showroom advisor of the store. While the store is open it is due in
    # its first-contact minutes, on their Today; after hours it is due at the next opening, on
    # their plan for tomorrow (the journey runs at whatever hour it is in Shanghai).
    advisor_logins = [DEMO_LOGINS[ADVISOR][:-1] + str(i) for i in range(1, 5)]
    showing = []
    for i, who in enumerate(advisor_logins):
        page = open_page(f"advisor{i}", **SMALL_PHONE)
        login(page, who, DEMO_PASSWORD[ADVISOR])
        expect(page).to_have_url(live_server.url + "/admin/today/")
        row = page.locator(".m4s-task", has_text="来电新客")
        if not row.count():
            page.goto("/admin/tomorrow/")
            if page.locator("#plan-tasks li", has_text="来电新客").count():
                showing.append(who)  # after hours: due at the next opening
                assert page.evaluate("document.documentElement.scrollWidth") <= 360
            continue
        if row.count():
            showing.append(who)
            expect(row).to_contain_text(re.compile("首次联系|First contact"))
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
            row.locator("button[value=reached]").click()  # one tap: reached
            expect(page.locator(".m4s-task", has_text="来电新客")).to_contain_text(
                re.compile("已接通|Reached")
            )
            page.goto("/admin/calls/?phone=13666001234")  # the console fits a phone too
            expect(page.locator("#card-name")).to_contain_text("来电新客")
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert len(showing) == 1, showing
