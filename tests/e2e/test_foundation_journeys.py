"""The foundation's journeys in a real Chromium: register, cars and mileage, staff onboarding.

Elements are found by the ids the templates give them (field ids are the form field names),
so the journeys keep working when the interface text is translated.
"""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, make_vin
from portal.models.accounts import MANAGER, OWNER

pytestmark = pytest.mark.e2e

PHONE_WIDTH = 390
STORE = "M4S 深圳南山店"
OWNER_PASSWORD = "lychee-tram-harbour-42"
ADVISOR_PASSWORD = "kapok-ferry-dimsum-17"


def submit(page) -> None:
    """Press the submit button of the page's main form (not the header or footer forms)."""
    page.locator("#main form button[type=submit]").click()


def login(page, who: str, password: str) -> None:
    """Log in through the login page."""
    page.goto("/login")
    page.fill("#login", who)
    page.fill("#password", password)
    # Wait for the next page to load, scripts included: a tap made before htmx has started
    # would post the whole form instead of swapping the row in place.
    with page.expect_navigation():
        submit(page)


def assert_fits_phone(page) -> None:
    """Fail when the page scrolls sideways on a 390 px phone."""
    page.wait_for_load_state()  # a click may have started a navigation: measure the new page
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} is {width} px wide on a {PHONE_WIDTH} px phone"


def fill_vehicle(scope, *, vin: str, plate: str, km: int) -> None:
    """Fill the add-a-car form (the htmx fragment and the plain page share its fields)."""
    scope.locator("#vin").fill(vin)
    scope.locator("#plate").fill(plate)
    scope.locator("#brand").fill("丰田")
    scope.locator("#series").fill("凯美瑞")
    scope.locator("#model_year").fill("2022")
    scope.locator("#purchase_date").fill("2022-05-20")
    scope.locator("#km").fill(str(km))


def test_new_owner_registers_adds_a_car_inline_and_records_mileage(phone, live_server):
    page = phone
    page.goto("/register")
    assert_fits_phone(page)
    page.fill("#name", "林晓东")
    page.fill("#phone", "13712345678")
    page.select_option("#store", label=STORE)
    page.fill("#password", OWNER_PASSWORD)
    page.fill("#confirm", OWNER_PASSWORD)
    page.check("#accept_policy")
    submit(page)

    expect(page).to_have_url(live_server.url + "/login")
    expect(page.locator(".flash-success")).to_be_visible()
    assert_fits_phone(page)
    login(page, "13712345678", OWNER_PASSWORD)
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator("#no-vehicles")).to_be_visible()
    assert_fits_phone(page)

    # A marker on window survives htmx swaps and dies with any page load.
    page.evaluate("window.m4sSamePage = true")
    home = page.url
    page.locator("#vehicle-new-slot a.button").click()
    form = page.locator("#vehicle-new-slot #vehicle-new-form")
    expect(form).to_be_visible()
    vin = make_vin(random.Random(2024), "LVG", 2022)
    fill_vehicle(form, vin=vin, plate="粤B1K2Z4", km=12000)
    form.locator("button[type=submit]").click()

    row = page.locator("#vehicle-list > li.vehicle", has_text=vin)
    expect(row).to_be_visible()
    expect(row).to_have_id(re.compile(r"^vehicle-\d+$"))
    row_id = row.get_attribute("id")
    n = row_id.removeprefix("vehicle-")
    expect(page.locator(f"#{row_id} .plate")).to_have_text("粤B1K2Z4")
    expect(page.locator(f"#{row_id} .km")).to_have_text("12,000")
    expect(page.locator("#no-vehicles")).to_have_count(0)
    expect(page.locator("#vehicle-new-slot .flash-success")).to_be_visible()
    assert page.url == home
    assert page.evaluate("window.m4sSamePage === true"), "adding the car reloaded the page"
    assert_fits_phone(page)

    # The mileage form is folded away under the card (the home is a dashboard); one tap opens it.
    expect(page.locator(f"#km-{n}")).to_be_hidden()
    page.locator(f"#mileage-{n} summary").click()
    page.locator(f"#km-{n}").fill("15000")
    page.locator(f"#{row_id} form.mileage button[type=submit]").click()
    expect(page.locator(f"#{row_id} .km")).to_have_text("15,000")
    expect(page.locator(f"#km-{n}-error")).to_have_count(0)

    page.locator(f"#mileage-{n} summary").click()  # the saved card comes back folded
    page.locator(f"#km-{n}").fill("9000")
    page.locator(f"#{row_id} form.mileage button[type=submit]").click()
    error = page.locator(f"#{row_id} form.mileage #km-{n}-error")
    expect(error).to_be_visible()
    field = page.locator(f"#km-{n}")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", f"km-{n}-error")
    field_box, error_box = field.bounding_box(), error.bounding_box()
    assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 40, "error not by field"
    expect(page.locator(f"#{row_id} .km")).to_have_text("15,000")
    assert page.url == home
    assert page.evaluate("window.m4sSamePage === true"), "saving the mileage reloaded the page"
    assert_fits_phone(page)

    page.reload()
    expect(page.locator(f"#{row_id} .km")).to_have_text("15,000")


def test_owner_without_javascript_adds_a_car_through_the_plain_form(phone_nojs, live_server):
    page = phone_nojs
    login(page, DEMO_LOGINS[OWNER][:-1] + "3", DEMO_PASSWORD[OWNER])
    expect(page).to_have_url(live_server.url + "/")

    page.locator("#vehicle-new-slot a.button").click()
    expect(page).to_have_url(live_server.url + "/vehicles/new")
    assert_fits_phone(page)
    vin = make_vin(random.Random(2025), "LHG", 2022)
    fill_vehicle(page.locator("#vehicle-new-form"), vin=vin, plate="粤B7M8N9", km=3000)
    submit(page)

    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator(".flash-success")).to_contain_text("粤B7M8N9")
    row = page.locator("#vehicle-list > li.vehicle", has_text=vin)
    expect(row).to_be_visible()
    expect(row.locator(".km")).to_have_text("3,000")
    assert_fits_phone(page)

    row.locator("details.mileage-update summary").click()  # folds open without JavaScript too
    row.locator("input[name=km]").fill("4500")
    row.locator("form.mileage button[type=submit]").click()
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator("#vehicle-list > li.vehicle", has_text=vin).locator(".km")).to_have_text(
        "4,500"
    )


def test_manager_creates_an_advisor_who_must_change_the_initial_password(desktop, live_server):
    page = desktop
    login(page, DEMO_LOGINS[MANAGER], DEMO_PASSWORD[MANAGER])
    expect(page).to_have_url(live_server.url + "/admin/today/")  # staff start from their day
    page.goto("/admin/")
    expect(page.locator("#stat-owners")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("#stat-unlocks")).to_have_text(re.compile(r"^\d+$"))

    page.wait_for_load_state()  # the menu is a Bootstrap dropdown: its script comes last
    staff_item = page.locator('a.dropdown-item[href="/admin/staff/"]')
    # Open the dropdown that holds the staff accounts link, whatever the menu language.
    page.locator(".navbar li.dropdown", has=staff_item).locator("a.dropdown-toggle").click()
    page.locator('.navbar a.dropdown-item[href="/admin/staff/"]').click()
    expect(page).to_have_url(live_server.url + "/admin/staff/")
    page.locator('a[href^="/admin/staff/new/"]').first.click()
    page.fill("#name", "方志强")
    page.select_option("#role", "advisor")
    page.select_option("#store", label=STORE)
    page.fill("#phone", "13712340001")
    page.fill("#department", "机电组")
    page.locator("form.admin-form input[type=submit].btn-primary").click()

    notice = page.locator(".alert-success", has_text="方志强")
    expect(notice).to_be_visible()
    # token_urlsafe(12): 16 characters of [A-Za-z0-9_-], found whatever the language.
    found = re.findall(r"(?<![\w-])[\w-]{16}(?![\w-])", notice.inner_text(), re.ASCII)
    assert len(found) == 1, f"no single initial password in {notice.inner_text()!r}"
    initial = found[0]
    expect(page.locator("table", has_text="13712340001")).to_be_visible()

    page.locator('.navbar form[action="/logout"] button').click()
    expect(page).to_have_url(live_server.url + "/login")
    login(page, "13712340001", initial)
    expect(page).to_have_url(live_server.url + "/password/change")
    expect(page.locator("#main .flash-warning")).to_be_visible()
    for elsewhere in ("/admin/", "/admin/staff/", "/"):
        page.goto(elsewhere)
        expect(page).to_have_url(live_server.url + "/password/change")

    page.fill("#current_password", initial)
    page.fill("#new_password", ADVISOR_PASSWORD)
    page.fill("#confirm", ADVISOR_PASSWORD)
    submit(page)
    expect(page).to_have_url(live_server.url + "/admin/")
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator("#stat-owners")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator(".navbar")).to_contain_text("方志强")


def test_owner_cannot_open_the_back_office(phone, live_server):
    page = phone
    login(page, DEMO_LOGINS[OWNER][:-1] + "4", DEMO_PASSWORD[OWNER])
    expect(page).to_have_url(live_server.url + "/")
    for path in ("/admin/", "/admin/staff/"):
        response = page.goto(path)
        assert response.status == 403, f"{path} answered {response.status} to an owner"
        expect(page.locator("#error h1")).to_contain_text("403")
        assert_fits_phone(page)
