"""The help page's and the staff manual's screenshots, taken on the screens each topic
describes: the demo owner's on a 390 px phone, each staff role's on a desktop screen, in
Chinese. Each stop checks that the screen shows what the topic says before it is shot."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import ADMIN, ADVISOR, HQ, MANAGER, OWNER, TECHNICIAN
from tests.e2e.live import DESKTOP, PHONE
from tests.e2e.shots import shoot
from tests.e2e.test_foundation_journeys import login

pytestmark = pytest.mark.e2e


def _first_href(page, selector: str) -> str:
    href = page.locator(selector).first.get_attribute("href")
    assert href, f"no {selector} on {page.url}"
    return href


def test_owner_help_shots_on_a_phone(open_page, live_server):
    page = open_page("owner", **PHONE)
    login(page, DEMO_LOGINS[OWNER], DEMO_PASSWORD[OWNER])
    expect(page.locator("html")).to_have_attribute("lang", re.compile("^zh"))

    # Watch your car: the job in progress on the home page, with its Watch my car button.
    watch = page.locator("a[id^=watch-]").first
    expect(watch).to_be_visible()
    watch.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, 200)")  # the job's card above the button, in view
    shoot(page, "owner-watch")

    # Maintenance schedule: items due, one ticked, the book-these button above the tab bar.
    page.goto(_first_href(page, "a[href*='/maintenance']"))
    page.locator(".item-head input[type=checkbox]").first.check()
    expect(page.locator("#book-items")).to_be_visible()
    shoot(page, "owner-schedule")

    # Booking: the form with the car, store and slot to choose.
    page.goto("/bookings/new")
    expect(page.locator("#main form")).to_be_visible()
    shoot(page, "owner-booking")

    # Roadside rescue: location or address and the problem, the emergency numbers at hand.
    page.goto("/rescue/new")
    expect(page.locator("body")).to_contain_text("122")
    shoot(page, "owner-rescue")

    # Sell your car: the request form.
    page.goto("/used-cars/new")
    expect(page.locator("#main form")).to_be_visible()
    shoot(page, "owner-sell")

    # Shop: the checkout, where the owner picks online payment or the pickup day.
    page.goto("/shop/")
    page.locator("#hot button[id^=add-]").first.click()
    page.goto("/shop/cart")
    page.locator("#checkout").click()
    expect(page.locator("#place-order")).to_be_visible()
    shoot(page, "owner-shop")

    # Your personal information: download, choices and deletion under Me.
    page.goto("/account/privacy/")
    expect(page.locator("#main")).to_contain_text("7")
    shoot(page, "owner-privacy")


def _staff(open_page, role: str):
    page = open_page(role, **DESKTOP)
    login(page, DEMO_LOGINS[role], DEMO_PASSWORD[role])
    expect(page).to_have_url(re.compile(r"/admin/"))
    return page


def _visit(page, url: str, must: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, page.url)
    expect(page.locator(must).first).to_be_visible()


def test_advisor_help_shots_on_a_desktop(open_page, live_server):
    page = _staff(open_page, ADVISOR)
    _visit(page, "/admin/today/", "#overdue-list, #today-list")
    shoot(page, "advisor-today")
    _visit(page, "/admin/workshop/", "main, .container, body")
    shoot(page, "advisor-workshop")


def test_manager_and_admin_help_shots_on_a_desktop(open_page, live_server):
    page = _staff(open_page, MANAGER)
    _visit(page, "/admin/task_approvals/", "h1, h2")
    shoot(page, "manager-approvals")
    _visit(page, "/admin/routing_rules/", "h1, h2")
    shoot(page, "manager-settings")
    _visit(page, "/admin/sales_funnel/", "h1, h2")
    shoot(page, "manager-reports")

    page = _staff(open_page, ADMIN)
    _visit(page, "/admin/staff/", "table.model-list")
    shoot(page, "admin-accounts")


def test_group_and_technician_help_shots_on_a_desktop(open_page, live_server):
    page = _staff(open_page, HQ)
    _visit(page, "/admin/group_dashboard/", "table")
    shoot(page, "hq-compare")

    page = _staff(open_page, TECHNICIAN)
    _visit(page, "/admin/my_jobs/", "h1, h2")
    shoot(page, "technician-jobs")
