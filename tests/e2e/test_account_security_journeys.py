"""Account security journeys in a real Chromium: a staff member turns on two-step sign-in, and an
owner ends a login on another device from "my devices".

Each journey uses its own demo account, so turning on a second factor or ending a session does
not disturb the other journeys sharing the live server.
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD
from portal.models.accounts import ADVISOR, OWNER
from portal.services.totp import RECOVERY_CODES
from tests.e2e.live import DESKTOP, PHONE
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e

TOTP_ADVISOR = "13900001102"  # the second advisor of the second store: no other journey's
DEVICES_OWNER = "13800000017"  # a demo owner no other journey signs in as


def test_staff_turns_on_two_step_sign_in_and_the_next_sign_in_asks_for_a_code(
    open_page, live_server
):
    page = open_page("staff-phone", **PHONE)
    login(page, TOTP_ADVISOR, DEMO_PASSWORD[ADVISOR])
    expect(page).not_to_have_url(re.compile(r"/login"))

    page.goto("/account/second-factor")
    assert_fits_phone(page)
    page.locator("button[name=action][value=start]").click()
    expect(page.locator("#totp-qr")).to_be_visible()
    assert_fits_phone(page)
    page.locator("#main details summary").click()  # "cannot scan? enter this key instead"
    secret = page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    authenticator = pyotp.TOTP(secret)  # what the phone app does with the scanned secret

    page.fill("#code", "000000" if authenticator.now() != "000000" else "111111")
    page.locator("#main form button[type=submit]").click()
    expect(page.locator(".flash-danger")).to_be_visible()  # a wrong code turns nothing on
    expect(page.locator("#totp-qr")).to_be_visible()

    enrol_code = authenticator.now()
    page.fill("#code", enrol_code)
    page.locator("#main form button[type=submit]").click()
    expect(page.locator("#totp-on")).to_be_visible()
    codes = page.locator("#recovery-codes li code")
    expect(codes).to_have_count(RECOVERY_CODES)
    assert all(re.fullmatch(r"[0-9a-f]{6}-[0-9a-f]{6}", c) for c in codes.all_inner_texts())
    assert_fits_phone(page)

    # The next sign-in, from a fresh browser, asks for the code after the password.
    again = open_page("staff-desktop", **DESKTOP)
    login(again, TOTP_ADVISOR, DEMO_PASSWORD[ADVISOR])
    expect(again).to_have_url(re.compile(r"/login/code$"))
    again.goto("/account/second-factor")
    expect(again).to_have_url(re.compile(r"/login"))  # not signed in yet
    login(again, TOTP_ADVISOR, DEMO_PASSWORD[ADVISOR])
    expect(again).to_have_url(re.compile(r"/login/code$"))

    again.fill("#code", enrol_code)  # a code works once: replaying the enrolment code fails
    again.locator("#main form button[type=submit]").click()
    expect(again.locator("#main .error")).to_be_visible()
    expect(again).to_have_url(re.compile(r"/login/code$"))

    # The next time step's code: accepted now (one step of drift) or once the clock gets there.
    again.fill("#code", authenticator.at(time.time() + authenticator.interval))
    again.locator("#main form button[type=submit]").click()
    expect(again).not_to_have_url(re.compile(r"/login"))
    again.goto("/account/second-factor")
    expect(again.locator("#totp-on")).to_be_visible()
    expect(again.locator("#recovery-codes")).to_have_count(0)  # shown only once


def test_owner_sees_another_device_in_my_devices_and_logs_it_out(open_page, live_server):
    phone = open_page("owner-phone", **PHONE)
    laptop = open_page("owner-laptop", **DESKTOP)
    login(laptop, DEVICES_OWNER, DEMO_PASSWORD[OWNER])
    expect(laptop).to_have_url(live_server.url + "/")
    login(phone, DEVICES_OWNER, DEMO_PASSWORD[OWNER])
    expect(phone).to_have_url(live_server.url + "/")

    phone.goto("/account")
    phone.locator("#nav-devices").click()
    expect(phone).to_have_url(live_server.url + "/account/devices")
    assert_fits_phone(phone)
    devices = phone.locator(".device-list > li.device")
    expect(devices).to_have_count(2)
    this_one = devices.filter(has=phone.locator(".badge"))
    expect(this_one).to_have_count(1)
    expect(devices.first.locator(".badge")).to_be_visible()  # this device is listed first
    other = devices.nth(1)
    expect(other.locator(".badge")).to_have_count(0)

    other.locator("button[type=submit]").click()
    expect(phone).to_have_url(live_server.url + "/account/devices")
    expect(phone.locator(".flash-success")).to_be_visible()
    expect(phone.locator(".device-list > li.device")).to_have_count(1)
    expect(phone.locator(".device-list > li.device .badge")).to_be_visible()
    assert_fits_phone(phone)

    # The laptop's session is over: its next page asks it to log in; the phone stays in.
    laptop.goto("/account")
    expect(laptop).to_have_url(re.compile(r"/login"))
    phone.goto("/account")
    expect(phone).to_have_url(live_server.url + "/account")
