"""Inline SVG charts for the HTML report: bars and lines over categories.

Pure: a ``Chart`` and a language in, an SVG string out (text escaped). Volumes
are drawn in 万m³ and rates in %, like the tables.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from reports.document import Chart, ValueKind
from reports.formatting import percent, wan
from reports.labels import text

WIDTH, HEIGHT = 760, 320
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 36, 72
_COLOURS = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5")


def _scaled(value: Decimal | None, kind: ValueKind) -> float | None:
    if value is None:
        return None
    return float(wan(value) if kind is ValueKind.VOLUME else percent(value))


def _nice_max(top: float) -> float:
    if top <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(top))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= top:
            return float(step * magnitude)
    return float(10 * magnitude)


def chart_svg(chart: Chart, lang: str) -> str:
    series = [(s, [_scaled(v, chart.kind) for v in s.values]) for s in chart.series]
    values = [v for _, vs in series for v in vs if v is not None]
    top = _nice_max(max(values, default=0.0))
    low = min(0.0, min(values, default=0.0))
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    n = max(len(chart.categories), 1)
    band = plot_w / n

    def y(v: float) -> float:
        return _TOP + plot_h * (top - v) / (top - low)

    unit = text(lang, "label.unit_short") if chart.kind is ValueKind.VOLUME else "%"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(text(lang, chart.title))}" class="chart">',
        f'<text x="{_LEFT}" y="20" class="chart-unit">{escape(unit)}</text>',
    ]
    for i in range(5):  # grid and axis labels
        tick = low + (top - low) * i / 4
        parts.append(f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" class="grid"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y(tick) + 4:.1f}" '
                     f'text-anchor="end">{tick:g}</text>')
    bars = [(s, vs) for s, vs in series if s.style == "bar"]
    width = band * 0.7 / max(len(bars), 1)
    for b, (s, vs) in enumerate(bars):
        colour = _COLOURS[chart.series.index(s) % len(_COLOURS)]
        for i, v in enumerate(vs):
            if v is None:
                continue
            x = _LEFT + band * i + band * 0.15 + width * b
            top_y, base = min(y(v), y(0)), max(y(v), y(0))
            parts.append(f'<rect x="{x:.1f}" y="{top_y:.1f}" width="{width:.1f}" '
                         f'height="{base - top_y:.1f}" fill="{colour}"><title>'
                         f'{escape(chart.categories[i])}: {v:g}</title></rect>')
    for s, vs in series:
        if s.style != "line":
            continue
        colour = _COLOURS[chart.series.index(s) % len(_COLOURS)]
        points = [(_LEFT + band * (i + 0.5), y(v)) for i, v in enumerate(vs) if v is not None]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>'
                  for px, py in points]
    rotate = n > 12 or max((len(c) for c in chart.categories), default=0) > 4
    for i, name in enumerate(chart.categories):
        x = _LEFT + band * (i + 0.5)
        base = HEIGHT - _BOTTOM + 14
        attrs = (f'transform="rotate(-40 {x:.1f} {base})" text-anchor="end"' if rotate
                 else 'text-anchor="middle"')
        parts.append(f'<text x="{x:.1f}" y="{base}" {attrs}>{escape(name)}</text>')
    legend_x = _LEFT + 60
    for i, s in enumerate(chart.series):
        colour = _COLOURS[i % len(_COLOURS)]
        label = escape(text(lang, s.label))
        parts.append(f'<rect x="{legend_x}" y="10" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 16}" y="20">{label}</text>')
        legend_x += 30 + 14 * len(text(lang, s.label))
    parts.append("</svg>")
    return "\n".join(parts)
