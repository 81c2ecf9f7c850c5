"""Screenshots for the help pages (portal/help.py), taken by the browser journeys as they
pass the screens, so the manual shows today's screens. `make e2e` refreshes them in
static/help/; commit the ones that changed.

Owners' topics (names starting "owner-") are shot on a phone, staff topics on a desktop
screen, both in Chinese; tests/portal/test_help.py checks that every topic's shot is taken
by a journey here and has the right width."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

SHOTS = Path(__file__).resolve().parents[2] / "static" / "help"
PHONE_MAX = 430  # px: the widest phone the portal is laid out for
DESKTOP_MIN = 1024  # px: the back office's manual shows the desktop layout


def check_width(name: str, width: int) -> None:
    """Refuse an owner's shot wider than a phone, or a staff shot narrower than a desktop."""
    if name.startswith("owner-"):
        assert width <= PHONE_MAX, f"{name}: owners' help is shot on a phone, not {width} px"
    else:
        assert width >= DESKTOP_MIN, (
            f"{name}: the staff manual is shot on a desktop, not {width} px"
        )


def shoot(page, name: str) -> None:
    """Save the page as the viewer sees it (the viewport, not the whole page), in 256 colours
    (a third of the bytes; screens are flat colour and text)."""
    check_width(name, page.viewport_size["width"])
    page.wait_for_load_state()
    page.evaluate("document.fonts.ready")
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled", caret="hide")
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
