"""Small inline-SVG charts for the weekly report: no JavaScript, no CDN, no plotting library.

Every function takes plain Python values and returns an ``<svg>`` string sized in CSS pixels.
Missing values (``None``) are skipped, never drawn as zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

# Tier colours (1 Hot .. 4 Disqualified) and a neutral palette for other series.
TIER_COLORS = {"1": "#d7301f", "2": "#fc8d59", "3": "#4575b4", "4": "#969696"}
PALETTE = ["#4575b4", "#d7301f", "#1a9850", "#fc8d59", "#762a83", "#969696", "#35978f", "#bf812d"]

Number = float | int | None
Formatter = Callable[[float], str]


def percent(value: float) -> str:
    return f"{value * 100:.0f}%" if abs(value) >= 0.1 or value == 0 else f"{value * 100:.1f}%"


def plain(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.2g}"


def color_for(name: str, index: int) -> str:
    for tier, color in TIER_COLORS.items():
        if name.startswith(f"Tier {tier}") or name == tier:
            return color
    return PALETTE[index % len(PALETTE)]


def nice_max(value: float) -> float:
    """The next 'round' number at or above value (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0 or math.isnan(value):
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value * 0.999:
            return candidate
    return 10 ** (exponent + 1)


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="11">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _legend(names: Sequence[str], x: int, y: int, colors: Sequence[str]) -> list[str]:
    out, offset = [], x
    for name, color in zip(names, colors, strict=True):
        out.append(f'<rect x="{offset}" y="{y - 9}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{offset + 14}" y="{y}">{escape(name)}</text>')
        offset += 24 + 7 * len(name)
    return out


def _y_axis(left: int, top: int, plot_w: int, plot_h: int, y_max: float, fmt: Formatter) -> list[str]:
    out = []
    for i in range(5):
        value = y_max * i / 4
        y = top + plot_h - plot_h * i / 4
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{fmt(value)}</text>')
    return out


def bar_chart(
    categories: Sequence[str],
    series: dict[str, Sequence[Number]],
    *,
    title: str,
    fmt: Formatter = plain,
    stacked: bool = False,
    width: int = 560,
    height: int = 260,
    colors: Sequence[str] | None = None,
) -> str:
    """Vertical grouped (or stacked) bars: one group per category, one bar per series."""
    names = list(series)
    colors = list(colors or [color_for(n, i) for i, n in enumerate(names)])
    left, right, top, bottom = 52, 12, 28, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    if stacked:
        totals = [sum(v or 0 for v in values) for values in zip(*series.values(), strict=True)]
        y_max = nice_max(max(totals, default=0))
    else:
        y_max = nice_max(max((v for values in series.values() for v in values if v is not None), default=0))
    body = _y_axis(left, top, plot_w, plot_h, y_max, fmt)
    n = max(len(categories), 1)
    group_w = plot_w / n
    bar_w = group_w * 0.8 / (1 if stacked else max(len(names), 1))
    for c, category in enumerate(categories):
        base = top + plot_h
        for s, name in enumerate(names):
            value = series[name][c]
            if value is None:
                continue
            h = plot_h * value / y_max
            x = left + c * group_w + group_w * 0.1 + (0 if stacked else s * bar_w)
            y = (base - h) if stacked else (top + plot_h - h)
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colors[s]}">'
                f"<title>{escape(category)} · {escape(name)}: {fmt(value)}</title></rect>"
            )
            if stacked:
                base -= h
        if n <= 16 or c % math.ceil(n / 16) == 0:
            cx = left + c * group_w + group_w / 2
            body.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 14}" text-anchor="middle">{escape(category)}</text>'
            )
    body.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#333"/>'
    )
    if len(names) > 1 or names and names[0] != "value":
        body += _legend(names, left, height - 8, colors)
    return _svg(width, height, body, title)


def line_chart(
    x_labels: Sequence[str],
    series: dict[str, Sequence[Number]],
    *,
    title: str,
    fmt: Formatter = plain,
    width: int = 560,
    height: int = 260,
    y_max: float | None = None,
    dashed: Sequence[str] = (),
    colors: Sequence[str] | None = None,
) -> str:
    """Lines with point markers; one point per x label; ``dashed`` series drawn dashed."""
    names = list(series)
    colors = list(colors or [color_for(n, i) for i, n in enumerate(names)])
    left, right, top, bottom = 52, 12, 28, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for vs in series.values() for v in vs if v is not None]
    y_top = y_max or nice_max(max(values, default=0))
    body = _y_axis(left, top, plot_w, plot_h, y_top, fmt)
    n = len(x_labels)

    def x_at(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    for s, name in enumerate(names):
        points = [
            (x_at(i), top + plot_h - plot_h * min(v, y_top) / y_top)
            for i, v in enumerate(series[name])
            if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            dash = ' stroke-dasharray="5 4"' if name in dashed else ""
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{colors[s]}" stroke-width="2"{dash}/>'
            )
        for (x, y), v in zip(points, [v for v in series[name] if v is not None], strict=True):
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colors[s]}">'
                f"<title>{escape(name)}: {fmt(v)}</title></circle>"
            )
    step = max(1, math.ceil(n / 12))
    for i, label in enumerate(x_labels):
        if i % step == 0:
            body.append(
                f'<text x="{x_at(i):.1f}" y="{top + plot_h + 14}" text-anchor="middle">{escape(label)}</text>'
            )
    body.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#333"/>'
    )
    body += _legend(names, left, height - 8, colors)
    return _svg(width, height, body, title)


def interval_bars(
    labels: Sequence[str],
    values: Sequence[float],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    *,
    title: str,
    reference: float = 1.0,
    fmt: Formatter = lambda v: f"{v:.2f}x",
    width: int = 560,
    colors: Sequence[str] | None = None,
) -> str:
    """Horizontal bars with interval whiskers and a vertical reference line (lift = 1)."""
    row_h, left, right, top = 20, 230, 40, 24
    height = top + row_h * len(labels) + 28
    plot_w = width - left - right
    x_max = nice_max(max([*(h for h in highs if h is not None), *values, reference], default=1))
    body = []
    for i in range(5):
        x = left + plot_w * i / 4
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - 24}" stroke="#e5e5e5"/>')
        body.append(
            f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" fill="#555">'
            f"{fmt(x_max * i / 4)}</text>"
        )
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row_h
        color = colors[i] if colors else PALETTE[0]
        w = plot_w * value / x_max
        body.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>')
        body.append(
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
            f'fill="{color}" opacity="0.85">'
            f"<title>{escape(label)}: {fmt(value)}</title></rect>"
        )
        low, high = lows[i], highs[i]
        if low is not None and high is not None:
            x1, x2 = left + plot_w * low / x_max, left + plot_w * min(high, x_max) / x_max
            body.append(
                f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y + row_h / 2}" y2="{y + row_h / 2}" stroke="#222"/>'
            )
            for xe in (x1, x2):
                body.append(
                    f'<line x1="{xe:.1f}" x2="{xe:.1f}" y1="{y + 6}" y2="{y + row_h - 6}" stroke="#222"/>'
                )
    xr = left + plot_w * reference / x_max
    body.append(
        f'<line x1="{xr:.1f}" x2="{xr:.1f}" y1="{top - 4}" y2="{height - 24}" '
        'stroke="#d7301f" stroke-dasharray="4 3"/>'
    )
    body.append(f'<text x="{xr + 4:.1f}" y="{top - 8}" fill="#d7301f">base rate</text>')
    return _svg(width, height, body, title)


def sparkline(values: Sequence[Number], title: str, width: int = 120, height: int = 26) -> str:
    """A small trend line (no axes): one point per value, the last one marked; ``None`` values
    leave a gap. An empty string when fewer than two values are known."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = (width - 6) / max(len(values) - 1, 1)
    points = [
        None if v is None else (3 + i * step, height - 3 - (height - 6) * (v - low) / span)
        for i, v in enumerate(values)
    ]
    segments, current = [], []
    for point in points:
        if point is None:
            segments.append(current)
            current = []
        else:
            current.append(point)
    segments.append(current)
    body = [
        '<polyline fill="none" stroke="#4575b4" stroke-width="1.5" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
        + '"/>'
        for segment in segments
        if len(segment) > 1
    ]
    last = next(p for p in reversed(points) if p is not None)
    body.append(f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2.5" fill="#4575b4"/>')
    return _svg(width, height, body, title)
