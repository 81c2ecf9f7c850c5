"""A tiny server-side chart: horizontal bars as inline SVG (no script, CSP-safe)."""

from __future__ import annotations

from markupsafe import Markup, escape

BAR_H, GAP, LABEL_W, WIDTH = 22, 8, 140, 560


def bar_chart(rows: list[tuple[str, float | None]], unit: str, title: str) -> Markup:
    """Return an SVG bar chart of (label, value) rows; a None value is drawn as "no data"."""
    values = [v for _, v in rows if v is not None]
    top = max(values, default=0) or 1
    height = max(len(rows), 1) * (BAR_H + GAP) + GAP
    span = WIDTH - LABEL_W - 70
    parts = [
        f'<svg class="bar-chart" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(rows):
        y = GAP + i * (BAR_H + GAP)
        mid = y + BAR_H * 0.7
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{mid:.1f}" text-anchor="end" font-size="13">'
            f"{escape(label)}</text>"
        )
        if value is None:
            parts.append(f'<text x="{LABEL_W}" y="{mid:.1f}" font-size="12" fill="#888">-</text>')
            continue
        w = max(span * value / top, 2)
        parts.append(
            f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" rx="3" fill="#c8102e">'
            f"<title>{escape(label)}: {value:.1f} {escape(unit)}</title></rect>"
        )
        parts.append(
            f'<text x="{LABEL_W + w + 6:.1f}" y="{mid:.1f}" font-size="12">'
            f"{value:.1f} {escape(unit)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text part above is escaped)
