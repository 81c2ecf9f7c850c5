"""Every owner page, and the staff pages advisors use on a phone, hold on small, middle and
large phones: no sideways scroll, no overlaps.

The walk logs in as the demo owner, follows the links the pages themselves offer (one page per
route shape, so /bookings/7 and /bookings/9 count once) and measures each at 360, 390 and 430 px.
A second walk does the same for a demo advisor's day on the phone: Today, the booking queue and
workshop board, the rescue queue, used-car vetting and shop orders.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.models.accounts import ADMIN, ADVISOR, OWNER
from tests.e2e.live import PHONE

pytestmark = pytest.mark.e2e

# A page of the walk may wait for a busy CI machine longer than a journey step does.
WALK_TIMEOUT_MS = 30_000
WIDTHS = (360, 390, 430)
MAX_PAGES = 45  # a bound on the walk's time; the owner portal has fewer route shapes than this
# Not pages: downloads, fragments polled by htmx, JSON, sign-out, media and the back office.
SKIP = re.compile(
    r"^/(static|admin|api|media|logout|lang)\b|\.(ics|pdf|png|jpe?g|webp|json)$"
    r"|/(status|badge|slots|items|frame|poll)$"
)

# Visible controls and the layer each belongs to: elements inside a fixed or sticky box move
# with it, so they are compared with each other and with other such layers, not with content
# that scrolls beneath them by design.
MEASURE = """
() => {
  const seen = [];
  for (const el of document.querySelectorAll('a, button, input, select, textarea')) {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    if (el.type === 'hidden') continue;
    if (el.closest('[hidden], details:not([open]) > :not(summary)')) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) continue;
    let layer = 'flow', node = el;
    while (node && node !== document.body) {
      const pos = getComputedStyle(node).position;
      if (pos === 'fixed' || (pos === 'sticky' && !node.classList.contains('topbar'))) {
        layer = (node.id || node.className || node.tagName) + '';
        break;
      }
      node = node.parentElement;
    }
    const dy = layer === 'flow' ? window.scrollY : 0;
    seen.push({el, layer, x: r.left, y: r.top + dy, w: r.width, h: r.height,
               name: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' +
                     (el.innerText || el.value || el.name || '').trim().slice(0, 30) + '"'});
  }
  const out = [];
  for (let i = 0; i < seen.length; i++) {
    for (let j = i + 1; j < seen.length; j++) {
      const a = seen[i], b = seen[j];
      if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
      if ((a.layer === 'flow') !== (b.layer === 'flow')) continue;
      const ix = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      const iy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      if (ix > 1 && iy > 1) out.push(a.name + ' overlaps ' + b.name);
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth, overlaps: out};
}
"""


def _shape(path: str) -> str:
    return re.sub(r"/\d+", "/N", path)


def _links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
    out = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin or SKIP.search(parts.path):
            continue
        out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


def _login(page, role: str = OWNER) -> None:
    page.goto("/login")
    page.fill("#login", DEMO_LOGINS[role])
    page.fill("#password", DEMO_PASSWORD[role])
    page.locator("#main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _owner_pages(page, origin: str) -> list[str]:
    """Walk the owner's links breadth first, keeping one URL per route shape."""
    queue, shapes, pages = ["/"], set(), []
    while queue and len(pages) < MAX_PAGES:
        url = queue.pop(0)
        shape = _shape(urlsplit(url).path)
        if shape in shapes:
            continue
        shapes.add(shape)
        response = page.goto(url, timeout=WALK_TIMEOUT_MS)
        if response is None or response.status != 200 or "/login" in page.url:
            continue
        pages.append(url)
        queue += [u for u in _links(page, origin) if _shape(urlsplit(u).path) not in shapes]
    return pages


def test_owner_pages_fit_phones_without_overlapping_controls(open_page, live_server):
    walker = open_page("walker", **PHONE)
    _login(walker)
    pages = _owner_pages(walker, live_server.url)
    # The walk reaches the lists, forms and details the owner uses every day.
    for must in ("/", "/bookings/", "/rescue/new", "/shop/", "/shop/orders", "/notifications/"):
        assert must in pages, f"the walk never reached {must}: {pages}"
    assert any(re.search(r"/vehicles/\d+/maintenance", p) for p in pages), pages

    _measure(open_page, walker, pages, "w")


def _measure(open_page, walker, pages: list[str], name: str) -> None:
    """Open each page at each width with the walker's session; fail listing every problem."""
    problems = []
    for width in WIDTHS:
        # Same cookies, another phone: the session carries over through the storage state.
        page = open_page(f"{name}{width}", **{**PHONE, "viewport": {"width": width, "height": 800}},
                         storage_state=walker.context.storage_state())  # fmt: skip
        for url in pages:
            page.goto(url, timeout=WALK_TIMEOUT_MS)
            found = page.evaluate(MEASURE)
            if found["scroll"] > found["inner"]:
                problems.append(f"{width}px {url}: {found['scroll']} px wide, scrolls sideways")
            problems += [f"{width}px {url}: {o}" for o in found["overlaps"]]
    assert not problems, "\n".join(problems[:40])


# The advisor's pages on a phone (issue: "queue, rescue, vetting, orders"), and the first
# detail page each list links to.
STAFF_PAGES = (
    "/admin/",
    "/admin/today/",
    "/admin/queue/",
    "/admin/workshop/",
    "/admin/rescue_queue/",
    "/admin/usedcar_review/",
    "/admin/shop_orders/",
)


def test_advisor_pages_fit_phones_without_overlapping_controls(open_page, live_server):
    walker = open_page("staff", **PHONE)
    _login(walker, ADVISOR)
    pages = []
    for url in STAFF_PAGES:
        response = walker.goto(url, timeout=WALK_TIMEOUT_MS)
        assert response is not None and response.status == 200, (url, walker.url)
        pages.append(url)
    _measure(open_page, walker, pages, "s")


def test_the_admins_inspections_list_with_its_store_picker_fits_phones(open_page, live_server):
    walker = open_page("group", **PHONE)
    _login(walker, ADMIN)
    walker.goto("/admin/inspections/", timeout=WALK_TIMEOUT_MS)
    assert walker.locator("#dvi-store-filter select").is_visible()  # admins pick a store
    _measure(open_page, walker, ["/admin/inspections/"], "g")


def test_sticky_book_button_stays_above_the_tab_bar(open_page, live_server):
    page = open_page("schedule", **{**PHONE, "viewport": {"width": 360, "height": 640}})
    _login(page)
    page.goto("/")
    schedule = page.locator("a[href*='/maintenance']").first.get_attribute("href")
    page.goto(schedule)
    page.locator(".item-head input[type=checkbox]").first.check()
    button = page.locator("#book-items").bounding_box()
    tabbar = page.locator(".tabbar").bounding_box()
    assert button["y"] + button["height"] <= tabbar["y"], (button, tabbar)
