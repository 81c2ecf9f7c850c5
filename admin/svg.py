"""Server-side SVG charts: inline, no JavaScript, CSP-safe."""

from __future__ import annotations

from markupsafe import Markup, escape


def bar_chart(
    points: list[tuple[str, float]], title: str, width: int = 480, height: int = 180
) -> Markup:
    """Return an inline SVG bar chart of (label, value) points."""
    pad, top, bottom = 8, 22, 28
    title_el = f'<text x="{pad}" y="15" font-size="12" font-weight="600">{escape(title)}</text>'
    if not points:
        return Markup(  # noqa: S704  (every text part is escaped above)
            f'<svg class="m4s-chart" role="img" viewBox="0 0 {width} {height}" '
            f'width="100%" aria-label="{escape(title)}">{title_el}'
            f'<text x="{pad}" y="{height // 2}" font-size="12" fill="#888">—</text></svg>'
        )
    peak = max(v for _, v in points) or 1
    slot = (width - 2 * pad) / len(points)
    bar = max(slot * 0.7, 2)
    area = height - top - bottom
    parts = [title_el]
    for i, (label, value) in enumerate(points):
        h = area * value / peak
        x = pad + i * slot + (slot - bar) / 2
        y = top + area - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="#2f6fde">'
            f"<title>{escape(label)}: {value:g}</title></rect>"
            f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" font-size="10" '
            f'text-anchor="middle">{value:g}</text>'
            f'<text x="{x + bar / 2:.1f}" y="{height - 10}" font-size="10" '
            f'text-anchor="middle">{escape(label[:10])}</text>'
        )
    return Markup(  # noqa: S704  (every text part is escaped above)
        f'<svg class="m4s-chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="{escape(title)}">{"".join(parts)}</svg>'
    )
