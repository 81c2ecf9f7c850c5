"""Channel journeys in a real Chromium: an owner signs in with an SMS code on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.demo import DEMO_LOGINS
from portal.models.accounts import OWNER

pytestmark = pytest.mark.e2e

PHONE_WIDTH = 390


def sent_code(live_server, phone: str) -> str:
    """Read the code the worker would send, from the live server's outbox (it is sealed)."""
    from portal.app import create_app
    from portal.channels.sealed import unseal
    from portal.extensions import db
    from portal.models import OutboxMessage

    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": live_server.env["M4S_SECRET_KEY"],
            "DATABASE_URL": live_server.env["M4S_DATABASE_URL"],
        }
    )
    with app.app_context():
        row = db.session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.channel == "sms", OutboxMessage.recipient == phone)
            .order_by(OutboxMessage.created_at.desc())
            .limit(1)
        )
        values = unseal(row.data)
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    return values["params"]["code"]


def test_owner_signs_in_with_an_sms_code(phone, live_server):
    page = phone
    page.goto("/login")
    page.locator("#sms-login").click()
    expect(page).to_have_url(live_server.url + "/login/sms")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH
    page.fill("#phone", DEMO_LOGINS[OWNER])
    page.locator("#send-code").click()
    expect(page).to_have_url(live_server.url + "/login/sms/code")
    page.fill("#code", "000000" if sent_code(live_server, DEMO_LOGINS[OWNER]) != "000000" else "1")
    page.locator("#verify-code").click()
    expect(page.locator("#code-error")).to_be_visible()
    page.fill("#code", sent_code(live_server, DEMO_LOGINS[OWNER]))
    page.locator("#verify-code").click()
    expect(page).to_have_url(live_server.url + "/")
    page.goto("/account")
    expect(page.locator("#nav-channels")).to_be_visible()
