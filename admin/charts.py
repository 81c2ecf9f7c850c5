"""Server-side SVG charts: no script, so they pass the strict CSP and print well."""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup, escape


def bar_chart(
    series: list[tuple[str, int]],
    *,
    title: str,
    fmt: Callable[[int], str] = str,
    width: int = 640,
    height: int = 220,
    horizontal: bool = False,
) -> Markup:
    """Return an accessible inline SVG bar chart of (label, value) pairs."""
    if horizontal:
        return _hbars(series, title=title, fmt=fmt, width=width)
    peak = max((v for _, v in series), default=0) or 1
    n = max(len(series), 1)
    left, bottom, top = 8, 24, 16
    slot = (width - left * 2) / n
    bar = max(slot * 0.7, 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    usable = height - bottom - top
    every = max(n // 10, 1)
    for i, (label, value) in enumerate(series):
        h = usable * value / peak
        x = left + i * slot + (slot - bar) / 2
        y = top + usable - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="#c8102e">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - 6}" font-size="10" '
                f'text-anchor="middle" fill="#5f6b7a">{escape(label)}</text>'
            )
    parts.append(
        f'<text x="{left}" y="11" font-size="11" fill="#5f6b7a">max {escape(fmt(peak))}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every label and value is escaped above)


def _hbars(series, *, title, fmt, width) -> Markup:
    peak = max((v for _, v in series), default=0) or 1
    row, label_w = 24, 180
    height = row * max(len(series), 1) + 8
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(series):
        w = (width - label_w - 90) * value / peak
        y = 4 + i * row
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="12" fill="#1b2430">{escape(label[:24])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="16" fill="#0b3d91"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12" fill="#1b2430">'
            f"{escape(fmt(value))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every label and value is escaped above)
