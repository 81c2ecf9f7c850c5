"""Registration with consent in a real Chromium on a small phone: the policy is agreed to with a
box nobody ticked in advance, marketing is chosen per channel, and the policy reads well."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.live import PHONE
from tests.e2e.test_foundation_journeys import STORE, login, submit

pytestmark = pytest.mark.e2e

PASSWORD = "osmanthus-ferry-lamp-63"


def fits(page, width: int) -> None:
    page.wait_for_load_state()
    used = page.evaluate("document.documentElement.scrollWidth")
    assert used <= width, f"{page.url} is {used} px wide on a {width} px phone"


@pytest.mark.parametrize("width", [360, 430])
def test_a_new_owner_agrees_to_the_policy_and_picks_marketing_channels(
    open_page, live_server, width
):
    page = open_page(f"consent{width}", **{**PHONE, "viewport": {"width": width, "height": 800}})
    phone = f"137666{width:03d}01"
    page.goto("/register")
    fits(page, width)
    for box in ("#accept_policy", "#marketing_sms", "#marketing_wechat", "#marketing_email"):
        expect(page.locator(box)).not_to_be_checked()
    page.fill("#name", "郑雨桐")
    page.fill("#phone", phone)
    page.select_option("#store", label=STORE)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    submit(page)  # the policy box left empty: refused, nothing created
    expect(page.locator("#accept_policy-error")).to_be_visible()
    fits(page, width)

    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.check("#accept_policy")
    page.check("#marketing_wechat")
    submit(page)
    expect(page).to_have_url(live_server.url + "/login")
    login(page, phone, PASSWORD)  # the version in force was agreed to: no prompt
    expect(page).to_have_url(live_server.url + "/")

    page.goto("/privacy-policy")
    expect(page.locator("#policy-meta")).to_contain_text("第 2 版")
    expect(page.locator("#policy-text h2").first).to_be_visible()
    fits(page, width)
    page.locator("#policy-versions a").last.click()
    expect(page.locator("#policy-superseded")).to_be_visible()
    fits(page, width)
