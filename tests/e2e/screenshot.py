"""Save docs/screenshot-owner-home.png: the demo owner's home on a 390 px phone.

Run from the checkout: python -m tests.e2e.screenshot [OUTPUT.png]
It needs a font with Chinese glyphs (Debian: fonts-wqy-microhei or fonts-noto-cjk).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.e2e.live import PHONE, ROOT, LiveServer, launch_chromium

OUTPUT = ROOT / "docs" / "screenshot-owner-home.png"


def check_chinese_font() -> None:
    """Refuse to draw boxes where the names and plates should be."""
    if shutil.which("fc-list") is None:
        return
    found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    if not found.stdout.strip():
        raise SystemExit("No Chinese font: apt-get install fonts-wqy-microhei (or fonts-noto-cjk).")


def capture(output: Path = OUTPUT) -> Path:
    """Log the demo owner in on a phone and save the first screen of the home page."""
    from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
    from portal.models.accounts import OWNER

    check_chinese_font()
    output.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="m4s-screenshot-") as tmp,
        LiveServer(Path(tmp), workers=1) as server,
        sync_playwright() as pw,
    ):
        browser = launch_chromium(pw)
        context = browser.new_context(base_url=server.url, device_scale_factor=2, **PHONE)
        page = context.new_page()
        page.goto("/login")
        page.fill("#login", DEMO_LOGINS[OWNER])
        page.fill("#password", DEMO_PASSWORD[OWNER])
        page.locator("#main form button[type=submit]").click()
        page.wait_for_url(server.url + "/")
        page.wait_for_load_state("networkidle")  # the advisor's photo
        page.screenshot(path=str(output))
        browser.close()
    return output


if __name__ == "__main__":
    print(capture(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT))
