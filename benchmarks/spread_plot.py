"""Line plots with a spread band, as a self-contained SVG: no plotting library needed.

Each series is a median line over a shaded band from the minimum to the maximum of its
runs, which is what comparing a few seeds of a stochastic search needs to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 80, 160, 40, 50
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
TICKS = 5


@dataclass
class Series:
    """``points``: (x, (min, median, max)) in increasing x."""

    name: str
    points: list[tuple[float, tuple[float, float, float]]]


def _span(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if high == low:
        pad = abs(low) * 0.05 or 1.0
        return low - pad, high + pad
    return low, high


def svg_plot(series: list[Series], title: str, x_label: str, y_label: str) -> str:
    """The SVG document; an empty plot (axes and title) when no series has points."""
    xs = [x for s in series for x, _ in s.points] or [0.0, 1.0]
    ys = [v for s in series for _, spread in s.points for v in spread] or [0.0, 1.0]
    (x0, x1), (y0, y1) = _span(xs), _span(ys)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * inner_w

    def py(y: float) -> float:
        return TOP + (1 - (y - y0) / (y1 - y0)) * inner_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + inner_h}" x2="{LEFT + inner_w}" y2="{TOP + inner_h}" stroke="black"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + inner_h}" stroke="black"/>',
        f'<text x="{LEFT + inner_w / 2}" y="{HEIGHT - 12}" text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="18" y="{TOP + inner_h / 2}" text-anchor="middle" transform="rotate(-90 18 {TOP + inner_h / 2})">'
        f"{escape(y_label)}</text>",
    ]
    for k in range(TICKS + 1):
        xv, yv = x0 + (x1 - x0) * k / TICKS, y0 + (y1 - y0) * k / TICKS
        parts.append(f'<text x="{px(xv):.1f}" y="{TOP + inner_h + 18}" text-anchor="middle">{xv:.4g}</text>')
        parts.append(f'<text x="{LEFT - 6}" y="{py(yv) + 4:.1f}" text-anchor="end">{yv:.4g}</text>')
        parts.append(f'<line x1="{LEFT}" y1="{py(yv):.1f}" x2="{LEFT + inner_w}" y2="{py(yv):.1f}" stroke="#eee"/>')
    for index, s in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        if s.points:
            upper = [f"{px(x):.1f},{py(hi):.1f}" for x, (_, _, hi) in s.points]
            lower = [f"{px(x):.1f},{py(lo):.1f}" for x, (lo, _, _) in reversed(s.points)]
            parts.append(f'<polygon points="{" ".join(upper + lower)}" fill="{colour}" fill-opacity="0.15" stroke="none"/>')
            line = " ".join(f"{px(x):.1f},{py(mid):.1f}" for x, (_, mid, _) in s.points)
            parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        legend_y = TOP + 16 * index + 8
        parts.append(f'<rect x="{LEFT + inner_w + 14}" y="{legend_y - 8}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{LEFT + inner_w + 32}" y="{legend_y + 2}">{escape(s.name)}</text>')
    parts.append(f'<text x="{LEFT + inner_w + 14}" y="{TOP + 16 * len(series) + 16}" fill="#666">'
                 "line: median; band: min-max</text>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
