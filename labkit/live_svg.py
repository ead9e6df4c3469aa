"""The live figure of a retrain panel as a small SVG, written as text (about a millisecond).

Matplotlib takes about 0.2 s a figure on 2 cores and holds Python's lock while it draws, which
stalls the training loop running beside it; a panel redraws its live curves after every epoch
or so. The finished runs are still drawn by matplotlib (``plots.draw_curves``): the comparison
plot and the panel's snapshot.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

PANEL_WIDTH, HEIGHT = 400, 230
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 34, 38  # margins of each panel, in pixels
# matplotlib's default colour cycle ("C0" ... "C9"), so a run keeps the colour it has elsewhere
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


def _label(value: float) -> str:
    return f"{value:.3g}"


def _panel(x0: int, metric: str, history: Mapping[str, Sequence[float]], colour: str) -> str:
    series = [(key, dash) for key, dash in ((metric, ""), (f"val_{metric}", "5,4"))
              if history.get(key)]
    values = [v for key, _ in series for v in history[key] if math.isfinite(v)]
    epochs = max((len(history[key]) for key, _ in series), default=0)
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    pad = (high - low) * 0.05
    low, high = low - pad, high + pad
    width, height = PANEL_WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    last = max(epochs, 2)

    def point(epoch: int, value: float) -> str:
        x = x0 + LEFT + (epoch - 1) / (last - 1) * width
        y = TOP + (high - value) / (high - low) * height
        return f"{x:.1f},{y:.1f}"

    out = [f'<rect x="{x0 + LEFT}" y="{TOP}" width="{width}" height="{height}" fill="none" '
           'stroke="#bbb"/>',
           f'<text x="{x0 + LEFT - 4}" y="{TOP + 4}" text-anchor="end">{_label(high)}</text>',
           f'<text x="{x0 + LEFT - 4}" y="{TOP + height}" text-anchor="end">{_label(low)}</text>',
           f'<text x="{x0 + LEFT}" y="{TOP + height + 14}" text-anchor="middle">1</text>',
           f'<text x="{x0 + LEFT + width}" y="{TOP + height + 14}" '
           f'text-anchor="middle">{last}</text>',
           f'<text x="{x0 + LEFT + width / 2}" y="{TOP + height + 30}" '
           'text-anchor="middle">epoch</text>',
           f'<text x="{x0 + LEFT}" y="{TOP - 8}">{html.escape(metric)} '
           '(solid: train, dashed: val)</text>']
    for key, dash in series:
        points = [point(i, v) for i, v in enumerate(history[key], start=1) if math.isfinite(v)]
        style = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                   f'stroke-width="2"{style}/>')
        out += [f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" '
                f'fill="{colour}"/>' for p in points]
    return "\n".join(out)


def curves_svg(history: Mapping[str, Sequence[float]], metrics: Sequence[str], title: str,
               colour_index: int = 0) -> str:
    """One panel per metric (its training curve solid, validation dashed) as an SVG document;
    values that are not finite (a diverged loss) are left out."""
    colour = COLOURS[int(colour_index) % len(COLOURS)]
    width = PANEL_WIDTH * len(metrics)
    body = [_panel(i * PANEL_WIDTH, metric, history, colour) for i, metric in enumerate(metrics)]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" '
            f'viewBox="0 0 {width} {HEIGHT}" font-family="sans-serif" font-size="11">\n'
            f'<rect width="{width}" height="{HEIGHT}" fill="white"/>\n'
            f'<text x="{width / 2}" y="14" text-anchor="middle" font-size="13">'
            f'{html.escape(title)}</text>\n' + "\n".join(body) + "\n</svg>")
