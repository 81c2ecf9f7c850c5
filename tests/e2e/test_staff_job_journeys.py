"""Jobs entered by staff in a real Chromium at phone size: an advisor takes a phone booking
for a caller who is not yet a customer, and the job is on the workshop board."""

from __future__ import annotations

import random

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD
from portal.demo.people import make_plate, make_vin
from portal.models.accounts import ADVISOR
from tests.e2e.test_booking_journeys import ADVISOR_LOGIN
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e


def test_an_advisor_takes_a_phone_booking_for_a_new_customer(phone):
    rng = random.Random()
    plate, vin = make_plate(rng, "湘", "A"), make_vin(rng, "LFV", 2022)
    number = f"1362020{rng.randrange(10_000):04d}"
    login(phone, ADVISOR_LOGIN, DEMO_PASSWORD[ADVISOR])
    phone.goto("/admin/staff_jobs/")
    assert_fits_phone(phone)
    phone.fill("#job-q", f"+86 {number[:3]} {number[3:7]} {number[7:]}")
    phone.locator("#job-customer-search button").click()
    expect(phone.locator("#no-customer")).to_be_visible()
    phone.locator("#new-customer").click()
    assert_fits_phone(phone)
    for width in (360, 430):  # the small and the large phone too
        phone.set_viewport_size({"width": width, "height": 844})
        assert phone.evaluate("document.documentElement.scrollWidth") <= width
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.fill("#name", "电话客户")
    phone.fill("#phone", number)
    phone.fill("#plate", plate)
    phone.fill("#vin", vin)
    phone.fill("#brand", "大众")
    phone.fill("#series", "帕萨特")
    phone.fill("#model_year", "2022")
    phone.locator("#job-work input[value=maintenance]").check()
    phone.fill("#description", "客户来电：5000公里保养")
    first_slot = phone.locator("#job-slot input[type=radio]").first
    first_slot.check()
    chosen = first_slot.get_attribute("value")
    phone.select_option("#consent_method", "phone_recording")
    phone.locator("#marketing_sms").check()
    phone.locator("#job-save").click()
    card = phone.locator(".card", has_text=plate)
    expect(card).to_be_visible()
    expect(card.locator(".source-phone")).to_be_visible()
    expect(card.locator(".status-accepted")).to_be_visible()
    expect(card).to_contain_text("电话客户")
    assert_fits_phone(phone)
    assert chosen
    # The caller is now found by number, as the advisor's own customer (whole number shown).
    phone.goto(f"/admin/staff_jobs/?q={number}")
    expect(phone.locator(".job-customer")).to_contain_text(number)
    expect(phone.locator(".job-customer")).to_contain_text(plate)
