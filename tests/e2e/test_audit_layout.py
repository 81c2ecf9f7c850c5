"""The audit log holds on small phones: a manager checks who did what from the shop floor."""

from __future__ import annotations

import pytest

from portal.models.accounts import MANAGER
from tests.e2e.live import PHONE
from tests.e2e.test_layout_walk import WALK_TIMEOUT_MS, _login, _measure

pytestmark = pytest.mark.e2e


def test_the_audit_log_fits_phones_and_pages_older(open_page, live_server):
    walker = open_page("audit", **PHONE)
    _login(walker, MANAGER)
    response = walker.goto("/admin/audit/", timeout=WALK_TIMEOUT_MS)
    assert response is not None and response.status == 200, walker.url
    pages = ["/admin/audit/"]
    older = walker.locator("#audit-older")
    if older.count():  # the demo store's log is longer than a page: the older page fits too
        pages.append(older.get_attribute("href"))
    _measure(open_page, walker, pages, "audit")
