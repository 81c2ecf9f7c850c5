"""Screenshots for the help pages (portal/help.py), taken by the browser journeys as they
pass the screens, so the manual shows today's screens. `make e2e` refreshes them in
static/help/; commit the ones that changed."""

from __future__ import annotations

from pathlib import Path

SHOTS = Path(__file__).resolve().parents[2] / "static" / "help"


def shoot(page, name: str) -> None:
    """Save the page as the viewer sees it (the viewport, not the whole page)."""
    page.wait_for_load_state()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
