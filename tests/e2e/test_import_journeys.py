"""A customer import in a real Chromium: a manager uploads a file, reads the check, applies it
and watches the progress page (htmx polling) reach done while the worker imports it."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import MANAGER
from tests import factories
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e

HEADER = "姓名,手机,邮箱,车架号,车牌,品牌,车系,年款"


def run_imports(live_server) -> dict:
    """Do the worker's import job once against the live server's database and files."""
    from admin import import_jobs
    from portal.app import create_app
    from portal.extensions import db

    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": live_server.env["M4S_SECRET_KEY"],
            "DATABASE_URL": live_server.env["M4S_DATABASE_URL"],
            "EXPORT_DIR": str(Path(live_server.env["M4S_INSTANCE_PATH"]) / "exports"),
        }
    )
    with app.app_context():
        done = import_jobs.run_imports()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    return done


def _file(rows: int) -> bytes:
    prefix = f"139{secrets.randbelow(10**4):04d}"
    lines = [HEADER]
    for i in range(rows):
        lines.append(
            f"导入客户{i},{prefix}{i:04d},,{factories.vin()},{factories.plate()},比亚迪,汉,2022"
        )
    return "\n".join(lines).encode()


def test_a_manager_imports_customers_and_watches_the_progress_reach_done(open_page, live_server):
    from tests.e2e.live import PHONE

    page = open_page("manager", **PHONE)
    login(page, DEMO_LOGINS[MANAGER], DEMO_PASSWORD[MANAGER])
    page.goto("/admin/imports/")
    page.set_input_files(
        "#upload", files=[{"name": "客户.csv", "mimeType": "text/csv", "buffer": _file(3)}]
    )
    with page.expect_navigation():
        page.locator("#import-form button[type=submit]").click()
    expect(page.locator("#import-apply")).to_be_visible()
    with page.expect_navigation():
        page.locator("#import-apply button[type=submit]").click()
    expect(page.locator("#import-waiting")).to_be_visible()  # queued: the page polls
    assert_fits_phone(page)
    assert run_imports(live_server) == {"applied": 1}
    expect(page.locator("#import-done")).to_be_visible()  # the poll swapped the result in
    expect(page.locator("#import-created")).to_have_text("3")
    expect(page.locator("#import-vehicles")).to_have_text("3")
    expect(page.locator("[id^=import-job-][hx-trigger]")).to_have_count(0)  # it stopped polling
