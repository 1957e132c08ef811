"""
Inline SVG charts for the HTML report: no script, no external file or CDN.

Each function returns one self-contained ``<svg>`` element as text, sized by a
viewBox so it scales with the page. Labels are escaped here; the values are
numbers the caller computed.
"""

import math
from collections.abc import Sequence
from html import escape

PALETTE = {
    "answered": "#2f9e6e",
    "abandoned": "#e8a33d",
    "busy": "#d9534f",
    "no_answer": "#8e9aaf",
    "rejected": "#b5179e",
    "congestion": "#7b2cbf",
    "failed": "#6c757d",
    "unreachable": "#495057",
}
CALLS = "#9cc3e6"
CONNECTS = "#1f5f99"
_FALLBACK = ("#4c6ef5", "#15aabf", "#82c91e", "#fab005", "#fd7e14", "#e64980")


def _nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _count_max(value: float) -> float:
    """An axis maximum whose quarter ticks are whole counts."""
    top = _nice_max(value)
    return top if top % 4 == 0 or top >= 20 else float(math.ceil(top / 4) * 4)


def _axis(top: float, x0: float, x1: float, y0: float, height: float) -> list[str]:
    parts = []
    for i in range(5):
        value = top * i / 4
        y = y0 - height * i / 4
        parts.append(
            f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{x0 - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
            f"{value:g}</text>"
        )
    return parts


def hourly_chart(hours: Sequence[tuple[str, int, int]], title: str) -> str:
    """Grouped bars of calls and connects per hour of the day."""
    width, height, left, bottom, top_pad = 720, 260, 48, 36, 30
    plot_h = height - bottom - top_pad
    top = _count_max(max((c for _, c, _ in hours), default=0))
    slot = (width - left - 10) / max(len(hours), 1)
    bar = max(slot * 0.38, 1)
    y0 = height - bottom
    parts = _axis(top, left, width - 10, y0, plot_h)
    for i, (label, calls, connects) in enumerate(hours):
        x = left + i * slot + slot * 0.1
        for j, (value, colour, name) in enumerate(
            ((calls, CALLS, "calls"), (connects, CONNECTS, "connects"))
        ):
            h = plot_h * value / top
            parts.append(
                f'<rect x="{x + j * bar:.1f}" y="{y0 - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}" rx="2">'
                f"<title>{escape(label)}:00 {name} {value}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar:.1f}" y="{y0 + 16}" class="tick" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    legend = _legend([("calls", CALLS), ("connects", CONNECTS)], left, 16)
    parts.append(
        f'<text x="{width - 10}" y="{height - 4}" class="tick" text-anchor="end">'
        "hour of day, campaign time</text>"
    )

    return _svg(width, height, title, [*parts, legend])


def outcome_donut(mix: dict[str, int], title: str) -> str:
    """A donut of the outcome mix, with a legend giving counts and shares."""
    width, height, cx, cy, r = 420, 240, 120, 120, 90
    total = sum(mix.values())
    parts = []
    angle = -math.pi / 2
    items = [(k, v) for k, v in sorted(mix.items(), key=lambda kv: -kv[1]) if v > 0]
    for i, (name, value) in enumerate(items):
        colour = PALETTE.get(name, _FALLBACK[i % len(_FALLBACK)])
        sweep = 2 * math.pi * value / total
        parts.append(_slice(cx, cy, r, angle, sweep, colour, f"{name} {value}"))
        angle += sweep
    parts.append(f'<circle cx="{cx}" cy="{cy}" r="{r * 0.58:.1f}" fill="#fff"/>')
    parts.append(
        f'<text x="{cx}" y="{cy + 8}" class="big" text-anchor="middle">{total}</text>'
        f'<text x="{cx}" y="{cy + 26}" class="tick" text-anchor="middle">attempts</text>'
    )
    for i, (name, value) in enumerate(items):
        colour = PALETTE.get(name, _FALLBACK[i % len(_FALLBACK)])
        y = 40 + i * 22
        share = 100 * value / total
        parts.append(
            f'<rect x="250" y="{y - 10}" width="12" height="12" rx="2" fill="{colour}"/>'
            f'<text x="268" y="{y}" class="label">{escape(name)} — {value} '
            f"({share:.0f}%)</text>"
        )

    return _svg(width, height, title, parts)


def _slice(
    cx: float, cy: float, r: float, start: float, sweep: float, colour: str, tip: str
) -> str:
    if sweep >= 2 * math.pi - 1e-9:
        return (
            f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{colour}">'
            f"<title>{escape(tip)}</title></circle>"
        )
    x1, y1 = cx + r * math.cos(start), cy + r * math.sin(start)
    x2, y2 = cx + r * math.cos(start + sweep), cy + r * math.sin(start + sweep)
    large = 1 if sweep > math.pi else 0
    path = f"M{cx},{cy} L{x1:.2f},{y1:.2f} A{r},{r} 0 {large} 1 {x2:.2f},{y2:.2f} Z"

    return f'<path d="{path}" fill="{colour}"><title>{escape(tip)}</title></path>'


def operator_chart(rows: Sequence[tuple[str, int, float | None]], title: str) -> str:
    """Horizontal bars of calls handled per operator, with average talk time."""
    bar_h, gap, left, width = 20, 10, 120, 720
    height = max(len(rows), 1) * (bar_h + gap) + 40
    top = _nice_max(max((n for _, n, _ in rows), default=0))
    plot_w = width - left - 170
    parts = []
    for i, (name, calls, talk) in enumerate(rows):
        y = 20 + i * (bar_h + gap)
        w = plot_w * calls / top
        talk_text = "—" if talk is None else f"{talk:.0f} s avg talk"
        parts.append(
            f'<text x="{left - 8}" y="{y + 14}" class="label" text-anchor="end">'
            f"{escape(name)}</text>"
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" '
            f'fill="{CONNECTS}"><title>{escape(name)}: {calls} calls</title></rect>'
            f'<text x="{left + w + 6:.1f}" y="{y + 14}" class="label">{calls} '
            f"{'call' if calls == 1 else 'calls'} · "
            f"{talk_text}</text>"
        )

    return _svg(width, height, title, parts)


def bar_list(items: Sequence[tuple[str, int]], title: str) -> str:
    """Horizontal bars of counts by label, largest first (e.g. dispositions)."""
    rows = sorted(items, key=lambda kv: -kv[1])
    bar_h, gap, left, width = 18, 8, 150, 460
    height = max(len(rows), 1) * (bar_h + gap) + 24
    top = _nice_max(max((n for _, n in rows), default=0))
    plot_w = width - left - 60
    parts = []
    for i, (label, value) in enumerate(rows):
        y = 12 + i * (bar_h + gap)
        w = plot_w * value / top
        colour = _FALLBACK[i % len(_FALLBACK)]
        parts.append(
            f'<text x="{left - 8}" y="{y + 13}" class="label" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" '
            f'fill="{colour}"><title>{escape(label)}: {value}</title></rect>'
            f'<text x="{left + w + 6:.1f}" y="{y + 13}" class="label">{value}</text>'
        )

    return _svg(width, height, title, parts)


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> str:
    parts = []
    for name, colour in items:
        parts.append(
            f'<rect x="{x}" y="{y - 10}" width="12" height="12" rx="2" fill="{colour}"/>'
            f'<text x="{x + 16}" y="{y}" class="label">{escape(name)}</text>'
        )
        x += 20 + 8 * len(name) + 12
    return "".join(parts)


def _svg(width: int, height: int, title: str, parts: Sequence[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" class="chart" '
        f'style="max-width:{width}px">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )
