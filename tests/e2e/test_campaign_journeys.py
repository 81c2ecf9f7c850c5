"""Marketing in a real Chromium: a manager builds a segment with a live count and sends a
campaign; the worker queues it; an owner reads it in the portal on a phone, opens the offer,
asks to be called (the manager's funnel counts the click and the lead), and unsubscribes from
in-app offers with the offer page's one-tap link."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import MANAGER, OWNER
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e

RULE = {"all": [{"field": "consent", "op": "has", "value": "inapp"}]}


def run_campaign_batches(live_server) -> int:
    """Do the worker's campaign job once against the live server's database (quiet hours off:
    they have their own tests; this journey must pass at any hour)."""
    from crm import campaign_sending
    from portal.app import create_app
    from portal.extensions import db

    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": live_server.env["M4S_SECRET_KEY"],
            "DATABASE_URL": live_server.env["M4S_DATABASE_URL"],
            "SMS_QUIET_START": "00:00",
            "SMS_QUIET_END": "00:00",
        }
    )
    with app.app_context():
        done = campaign_sending.queue_due()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    return done


def test_a_manager_sends_a_campaign_and_an_owner_reads_it_in_app(open_page, live_server):
    from tests.e2e.live import DESKTOP, PHONE

    manager = open_page("manager", **DESKTOP)
    login(manager, DEMO_LOGINS[MANAGER], DEMO_PASSWORD[MANAGER])
    manager.goto("/admin/segments/new")
    manager.fill("#segment-name", "E2E 站内信客户")
    manager.fill("#segment-rule", json.dumps(RULE))
    expect(manager.locator("#preview-count")).to_contain_text("符合条件的客户")
    manager.fill("#segment-rule", '{"all": []}')  # a mistake is named as it is typed
    expect(manager.locator("#preview-error")).to_contain_text("非空列表")
    manager.fill("#segment-rule", json.dumps(RULE))
    expect(manager.locator("#preview-members li").first).to_be_visible()
    manager.locator("#segment-save").click()
    expect(manager).to_have_url(re.compile(r"/admin/segments/\d+$"))

    manager.goto("/admin/campaigns/new")
    manager.fill("#c-name", "E2E 冬季保养")
    manager.select_option("#c-segment", label="E2E 站内信客户")
    manager.fill("#c-holdout", "0")
    manager.fill("#inapp-body_zh", "{name}您好，E2E 冬季保养九折。")
    manager.fill("#inapp-body_en", "Hello {name}, E2E winter care 10% off.")
    manager.locator("#campaign-save").click()
    expect(manager).to_have_url(re.compile(r"/admin/campaigns/\d+$"))
    manager.locator("#campaign-send").click()
    expect(manager.locator("#campaign-status")).to_have_text("发送中")
    assert run_campaign_batches(live_server) > 0
    # The progress bar polls by itself and stops once the campaign is done.
    expect(manager.locator("#campaign-status")).to_have_text("已完成")
    expect(manager.locator("#progress-counts")).to_contain_text("已送达")

    owner = open_page("owner", **PHONE)
    login(owner, DEMO_LOGINS[OWNER], DEMO_PASSWORD[OWNER])
    owner.goto("/notifications")
    message = owner.locator(".notifications a", has_text="E2E 冬季保养九折")
    expect(message).to_be_visible()
    assert_fits_phone(owner)
    message.click()
    # The message opens its tracked offer page (the click is counted), which carries the
    # one-tap unsubscribe link for this channel.
    expect(owner).to_have_url(re.compile(r"/c/[^/]+/offer$"))
    assert_fits_phone(owner)
    owner.fill("#offer-call-me textarea", "周六上午方便，谢谢")
    owner.locator("#offer-call-me-send").click()
    expect(owner.locator("#offer-asked")).to_contain_text("顾问")
    expect(owner.locator("#offer-call-me")).to_have_count(0)  # asked once, the form is gone
    # The manager's funnel counts the owner's click and the lead the request made.
    manager.reload()
    expect(manager.locator("#funnel-clicked")).to_have_text("1")
    expect(manager.locator("#funnel-leads")).to_have_text("1")
    owner.get_by_role("link", name="退订此类消息").click()
    expect(owner).to_have_url(re.compile(r"/unsubscribe/"))
    assert_fits_phone(owner)
    owner.locator("#unsubscribe-confirm").click()
    expect(owner.locator("#unsubscribed")).to_contain_text("站内信")
