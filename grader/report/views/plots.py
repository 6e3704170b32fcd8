"""The figures a test attached (grader.judge.figures) as inline SVG or an embedded PNG: pure functions.

Nothing is fetched: the feedback page's Content-Security-Policy allows only inline styles and data:
images. Every string is escaped; numbers are formatted by us.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import struct

PALETTE = ["#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a"]
WIDTH, HEIGHT, MARGIN = 460, 220, 48
CELL = 26
BASE64 = re.compile(r"^[A-Za-z0-9+/=]*$")


def figure_html(figure: dict) -> str:
    """One figure as a <figure> element, or '' for a kind this version does not draw."""
    draw = {"curve": _curve, "confusion": _confusion, "images": _images}.get(figure.get("kind"))
    if draw is None:
        return ""
    body = draw(figure)
    if not body:
        return ""
    caption = html.escape(figure.get("title", ""))
    return f'<figure class="plot {figure["kind"]}">{body}<figcaption>{caption}</figcaption></figure>'


def _curve(figure: dict) -> str:
    series = {name: values for name, values in figure["series"].items() if values}
    if not series:
        return ""
    low = min(min(v) for v in series.values())
    high = max(max(v) for v in series.values())
    span = (high - low) or 1.0
    longest = max(len(v) for v in series.values())
    inner_w, inner_h = WIDTH - MARGIN - 10, HEIGHT - MARGIN

    def point(i: int, value: float) -> str:
        x = MARGIN + inner_w * (i / max(1, longest - 1))
        y = 10 + inner_h * (1 - (value - low) / span)
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg role="img" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT + 20}">',
             f'<line x1="{MARGIN}" y1="10" x2="{MARGIN}" y2="{10 + inner_h}" stroke="#888"/>',
             f'<line x1="{MARGIN}" y1="{10 + inner_h}" x2="{WIDTH - 10}" y2="{10 + inner_h}" stroke="#888"/>',
             f'<text x="{MARGIN - 4}" y="16" text-anchor="end" font-size="10">{_short(high)}</text>',
             f'<text x="{MARGIN - 4}" y="{10 + inner_h}" text-anchor="end" font-size="10">{_short(low)}</text>',
             f'<text x="{WIDTH - 10}" y="{inner_h + 26}" text-anchor="end" font-size="11">'
             f'{html.escape(figure.get("x_label", ""))}</text>',
             f'<text x="4" y="{10 + inner_h / 2}" font-size="11" transform="rotate(-90 12 {10 + inner_h / 2})">'
             f'{html.escape(figure.get("y_label", ""))}</text>']
    for k, (name, values) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        points = " ".join(point(i, v) for i, v in enumerate(values))
        parts.append(f'<polyline class="series" fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
        parts.append(f'<text x="{MARGIN + 8 + 110 * k}" y="{HEIGHT + 14}" font-size="11" fill="{color}">'
                     f'&#9632; {html.escape(name)}</text>')
    return "\n".join(parts) + "</svg>"


def _confusion(figure: dict) -> str:
    matrix = figure["matrix"]
    classes = len(matrix)
    if not classes:
        return ""
    top = max(max(row) for row in matrix) or 1
    size = CELL * (classes + 1) + 30
    parts = [f'<svg role="img" xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}">',
             f'<text x="{CELL + CELL * classes / 2}" y="12" text-anchor="middle" font-size="11">predicted</text>',
             f'<text x="10" y="{30 + CELL + CELL * classes / 2}" font-size="11" '
             f'transform="rotate(-90 10 {30 + CELL + CELL * classes / 2})" text-anchor="middle">true</text>']
    for c in range(classes):
        parts.append(f'<text x="{CELL + 14 + c * CELL + CELL / 2}" y="{24 + CELL / 2 + 4}" '
                     f'text-anchor="middle" font-size="11">{c}</text>')
        parts.append(f'<text x="{14 + CELL / 2}" y="{30 + CELL + c * CELL + CELL / 2 + 4}" '
                     f'text-anchor="middle" font-size="11">{c}</text>')
    for r, row in enumerate(matrix):
        for c, count in enumerate(row):
            shade = count / top
            fill = f"rgb({int(255 - 200 * shade)},{int(255 - 120 * shade)},255)" if r == c else \
                f"rgb(255,{int(255 - 200 * shade)},{int(255 - 200 * shade)})"
            x, y = CELL + 14 + c * CELL, 30 + CELL + r * CELL
            parts.append(f'<rect class="cell" x="{x}" y="{y}" width="{CELL - 1}" height="{CELL - 1}" '
                         f'fill="{fill}"><title>true {r}, predicted {c}: {int(count)}</title></rect>')
            if count:
                parts.append(f'<text x="{x + CELL / 2}" y="{y + CELL / 2 + 4}" text-anchor="middle" '
                             f'font-size="9">{int(count)}</text>')
    return "\n".join(parts) + "</svg>"


def _images(figure: dict) -> str:
    data = str(figure.get("png", ""))
    if not data or not BASE64.match(data):
        return ""
    try:  # the PNG's own size, from its IHDR chunk, scaled up so 28-pixel digits can be seen
        width, height = struct.unpack(">II", base64.b64decode(data[:32])[16:24])
    except (binascii.Error, struct.error):
        return ""
    scale = min(max(int(figure.get("scale", 1)), 1), 6)
    labels = " / ".join(html.escape(str(r)) for r in figure.get("rows", []))
    return (f'<p class="rows">rows: {labels}</p><img alt="{html.escape(figure.get("title", ""))}" '
            f'width="{width * scale}" height="{height * scale}" style="image-rendering:pixelated" '
            f'src="data:image/png;base64,{data}">')


def _short(value: float) -> str:
    return f"{value:.3g}"
