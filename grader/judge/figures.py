"""Pictures a test attaches to its result, for the student's HTML feedback: the `figures` fixture.

    def test_training(submission, reference, figures):
        w, b, history = submission.gradient_descent(X, y, 0.05, 30)
        figures.curve("cost per step", {"yours": history, "reference": ref_history})
        assert_close(history, ref_history, name="cost history")

Attach before asserting, so the picture is there when the test fails. Values come from the
submission and are untrusted: anything that is not a small finite array of the right kind is dropped
without a word (a figure never changes a score and never raises). Sizes are capped so a report stays
small: curves are thinned to CURVE_POINTS, images are stored as one small PNG per figure.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any, Mapping

import numpy as np

CURVE_POINTS = 300
MAX_SERIES = 4
MAX_CLASSES = 20
MAX_IMAGES_PER_ROW = 12
MAX_ROWS = 4
MAX_SIDE = 64
MAX_FIGURES = 4


class Figures:
    """Collects a test's figures as plain JSON-ready dicts (see report.schema.json, tests[].figures)."""

    def __init__(self) -> None:
        self.items: list[dict] = []

    def curve(self, title: str, series: Mapping[str, Any], *, x_label: str = "step",
              y_label: str = "") -> None:
        """Line plot: series name -> 1-D values (a loss per step, say)."""
        lines = {}
        for name, values in list(series.items())[:MAX_SERIES]:
            array = _numbers(values, ndim=1)
            if array is not None and array.size:
                lines[str(name)[:40]] = [round(float(v), 6) for v in _thin(array)]
        if lines:
            self._add({"kind": "curve", "title": title, "x_label": x_label, "y_label": y_label,
                       "series": lines})

    def confusion(self, title: str, labels: Any, predicted: Any, classes: int = 10) -> None:
        """Confusion matrix: rows are the true classes, columns the predicted ones."""
        truth, guess = _numbers(labels, ndim=1), _numbers(predicted, ndim=1)
        if truth is None or guess is None or truth.shape != guess.shape or not 1 < classes <= MAX_CLASSES:
            return
        valid = (guess == np.round(guess)) & (guess >= 0) & (guess < classes)
        matrix = np.zeros((classes, classes), dtype=int)
        np.add.at(matrix, (truth[valid].astype(int), guess[valid].astype(int)), 1)
        self._add({"kind": "confusion", "title": title, "matrix": matrix.tolist(),
                   "unreadable": int((~valid).sum())})

    def images(self, title: str, rows: Mapping[str, Any]) -> None:
        """Rows of grey images (each row an array (n, h, w) in [0, 1]) as one picture, labelled per row."""
        kept = {}
        for name, stack in list(rows.items())[:MAX_ROWS]:
            array = _numbers(stack, ndim=3)
            if array is not None and array.shape[0] and max(array.shape[1:]) <= MAX_SIDE:
                kept[str(name)[:40]] = np.clip(array[:MAX_IMAGES_PER_ROW], 0.0, 1.0)
        shapes = {a.shape[1:] for a in kept.values()}
        if len(shapes) != 1:
            return
        (height, width), count = shapes.pop(), max(len(a) for a in kept.values())
        grid = np.full(((height + 2) * len(kept), (width + 2) * count), 0.5)  # grey gaps
        for r, stack in enumerate(kept.values()):
            for c, image in enumerate(stack):
                top, left = r * (height + 2) + 1, c * (width + 2) + 1
                grid[top:top + height, left:left + width] = image
        self._add({"kind": "images", "title": title, "rows": list(kept), "scale": 3,
                   "png": base64.b64encode(grey_png(grid)).decode("ascii")})

    def _add(self, figure: dict) -> None:
        if len(self.items) < MAX_FIGURES:
            figure["title"] = str(figure["title"])[:120]
            self.items.append(figure)


def _numbers(value: Any, ndim: int) -> np.ndarray | None:
    if not isinstance(value, (np.ndarray, list, tuple)):
        return None
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    if array.ndim != ndim or array.size > 10_000_000 or not np.isfinite(array).all():
        return None
    return array


def _thin(values: np.ndarray) -> np.ndarray:
    if values.size <= CURVE_POINTS:
        return values
    return values[np.linspace(0, values.size - 1, CURVE_POINTS).round().astype(int)]


def grey_png(pixels: np.ndarray) -> bytes:
    """An 8-bit greyscale PNG of `pixels` (2-D, values in [0, 1]: 0 black, 1 white)."""
    data = np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8)
    height, width = data.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in data)  # filter type 0 on every line

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + \
        chunk(b"IEND", b"")
