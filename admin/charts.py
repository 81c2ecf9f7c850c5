"""Small server-side charts as inline SVG: no JavaScript, CSP-safe, readable by screen readers.

Each function takes (label, value) pairs and returns Markup for a Jinja template. Every chart
carries a <title> and a <desc> listing all values, and prints labels and values as text.
Every piece is a literal Markup template filled with Markup.format or %, which escape the values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask_babel import gettext as _
from markupsafe import Markup

Rows = Sequence[tuple[str, float | None]]  # None: no data for that label
BAR = "#2f6fb3"
MUTED = "#5a6470"
FONT = "system-ui, sans-serif"


def _fmt_default(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _shown(value: float | None, fmt) -> str:
    return "—" if value is None else fmt(value)


def _range(rows: Rows) -> tuple[float, float]:
    """Return (lowest, highest) of the scale: it always holds zero, so negative values (an NPS
    below zero) draw from the zero line the other way."""
    values = [v for _, v in rows if v is not None]
    low, high = min([0, *values]), max([0, *values])
    return low, (high if high > low else low + 1)


def _open(chart_id: str, title: str, rows: Rows, fmt, width: int, height: int) -> Markup:
    desc = "; ".join(f"{label}: {_shown(value, fmt)}" for label, value in rows) or _("No data")
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="m4s-chart" id="{id}" role="img" '
        'aria-labelledby="{id}-t {id}-d" viewBox="0 0 {w} {h}" width="100%" '
        'preserveAspectRatio="xMinYMin meet" font-family="{font}">'
        '<title id="{id}-t">{title}</title><desc id="{id}-d">{desc}</desc>'
    ).format(id=chart_id, w=width, h=height, font=FONT, title=title, desc=desc)


def _close(parts: list[Markup]) -> Markup:
    return Markup("").join([*parts, Markup("</svg>")])


def _empty(chart_id: str, title: str, width: int) -> Markup:
    text = Markup('<text x="0" y="24" font-size="13" fill="{c}">{t}</text>').format(
        c=MUTED, t=_("No data for this period.")
    )
    return _close([_open(chart_id, title, [], str, width, 40), text])


# A bar chart's row, filled with Markup's % (escaping each value, as Markup.format does, but in
# C): Markup.format's Python formatter was most of the group comparison's time (9 charts of
# 100 stores).
_BAR_ROW = Markup(
    "<g><title>%(label)s: %(value)s</title>"
    '<text x="%(lx)s" y="%(ty)s" text-anchor="end" font-size="13">%(short)s</text>'
    '<rect x="%(bx)s" y="%(by)s" width="%(w).1f" height="%(bh)s" rx="2" fill="%(bar)s"/>'
    '<text x="%(vx).1f" y="%(ty)s" font-size="12" fill="%(muted)s">%(value)s</text></g>'
)


def hbar(
    rows: Rows,
    *,
    chart_id: str,
    title: str,
    fmt: Callable[[float], str] = _fmt_default,
    width: int = 640,
    reference: tuple[str, float | None] | None = None,
) -> Markup:
    """Return a horizontal bar chart, one labelled bar per row, in the order given (a None
    value is a label with no data: a dash, no bar). ``reference`` (label, value) draws a dashed
    line across the bars at that value, such as the group median."""
    if not rows:
        return _empty(chart_id, title, width)
    label_w, value_w, row_h = 190, 90, 26
    bar_w = width - label_w - value_w
    described = [*rows, *([reference] if reference else [])]  # the desc lists the line too
    low, high = _range(described)
    zero = label_w + bar_w * -low / (high - low)
    parts = [_open(chart_id, title, described, fmt, width, row_h * len(rows) + 4)]
    for i, (label, value) in enumerate(rows):
        y = i * row_h + 2
        w = max(bar_w * abs(value or 0) / (high - low), 1 if value else 0)
        left = zero - w if (value or 0) < 0 else zero
        parts.append(
            _BAR_ROW
            % dict(
                label=label,
                value=_shown(value, fmt),
                short=_short(label, 16),
                lx=label_w - 8,
                ty=y + 17,
                bx=left,
                by=y + 3,
                w=w,
                bh=row_h - 8,
                bar=BAR,
                vx=max(left, zero) + (w if left >= zero else 0) + 6,
                muted=MUTED,
            )
        )
    if reference is not None and reference[1] is not None:
        x = zero + bar_w * reference[1] / (high - low)
        parts.append(
            Markup(
                '<g class="m4s-reference"><title>{label}: {value}</title>'
                '<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{h}" stroke="#c0392b" '
                'stroke-width="2" stroke-dasharray="4 3"/></g>'
            ).format(label=reference[0], value=fmt(reference[1]), x=x, h=row_h * len(rows) + 4)
        )
    return _close(parts)


def columns(
    rows: Rows,
    *,
    chart_id: str,
    title: str,
    fmt: Callable[[float], str] = _fmt_default,
    width: int = 640,
    height: int = 200,
) -> Markup:
    """Return a column chart for a time series: one column per period, left to right."""
    if not rows:
        return _empty(chart_id, title, width)
    base, top_pad = height - 24, 18
    step = width / len(rows)
    col_w = max(step * 0.7, 2)
    low, high = _range(rows)
    scale = (base - top_pad - (14 if low < 0 else 0)) / (high - low)
    zero = top_pad + high * scale  # the zero line: columns rise from it, negatives hang below
    parts = [
        _open(chart_id, title, rows, fmt, width, height),
        Markup('<line x1="0" y1="{y:.1f}" x2="{w}" y2="{y:.1f}" stroke="{c}"/>').format(
            y=zero, w=width, c=MUTED
        ),
    ]
    for i, (label, value) in enumerate(rows):
        h = abs(value or 0) * scale
        below = (value or 0) < 0
        mid = i * step + step / 2
        parts.append(
            Markup(
                "<g><title>{label}: {value}</title>"
                '<rect x="{x:.1f}" y="{y:.1f}" width="{cw:.1f}" height="{h:.1f}" fill="{bar}"/>'
                '<text x="{mid:.1f}" y="{vy:.1f}" text-anchor="middle" font-size="11" '
                'fill="{muted}">{value}</text>'
                '<text x="{mid:.1f}" y="{ly}" text-anchor="middle" font-size="11">{label}</text>'
                "</g>"
            ).format(
                label=label,
                value=_shown(value, fmt),
                x=mid - col_w / 2,
                y=zero if below else zero - h,
                cw=col_w,
                h=h,
                bar=BAR,
                mid=mid,
                vy=zero + h + 12 if below else zero - h - 4,
                muted=MUTED,
                ly=base + 16,
            )
        )
    return _close(parts)


def funnel(
    stages: Rows,
    *,
    chart_id: str,
    title: str,
    fmt: Callable[[float], str] = _fmt_default,
    width: int = 640,
) -> Markup:
    """Return a funnel: centred bars narrowing stage by stage, each with its share of the first."""
    if not stages or not stages[0][1]:
        return _empty(chart_id, title, width)
    row_h, first = 46, stages[0][1]
    parts = [_open(chart_id, title, stages, fmt, width, row_h * len(stages))]
    for i, (label, value) in enumerate(stages):
        w = max(width * 0.9 * value / first, 2)
        text = f"{label}: {fmt(value)} ({100 * value / first:.0f} %)"
        parts.append(
            Markup(
                "<g><title>{text}</title>"
                '<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{h}" rx="3" fill="{bar}" '
                'fill-opacity="{op:.2f}"/>'
                '<text x="{cx:.1f}" y="{ty:.1f}" text-anchor="middle" font-size="14" '
                'fill="#111" stroke="#fff" stroke-width="3" paint-order="stroke">{text}</text></g>'
            ).format(
                text=text,
                x=(width - w) / 2,
                y=i * row_h + 2,
                w=w,
                h=row_h - 8,
                bar=BAR,
                op=1 - 0.18 * i,
                cx=width / 2,
                ty=i * row_h + row_h / 2 + 3,
            )
        )
    return _close(parts)


def init_app(app) -> None:
    """Let templates draw a column chart: {{ column_chart(rows, chart_id=..., title=...) }}."""
    app.add_template_global(columns, "column_chart")
    app.add_template_global(hbar, "hbar_chart")
