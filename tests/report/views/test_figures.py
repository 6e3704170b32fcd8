"""Figures tests attach: untrusted values never break a test or a report; the feedback page draws them."""

from __future__ import annotations

import base64
import copy
import struct
import zlib

import numpy as np
import pytest

from grader.pipeline.grade import grade
from grader.judge.figures import CURVE_POINTS, Figures, grey_png
from grader.report.views.html import to_html
from grader.report.write import validate_report
from grader.spec import find_assignment
from tests.conftest import COURSE
from tests.report.views.browser import chromium


def decode_grey_png(data: bytes) -> np.ndarray:
    """Our own reader, enough for the PNGs grey_png writes (8-bit grey, filter 0): checks the bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    length = struct.unpack(">I", data[33:37])[0]
    assert data[37:41] == b"IDAT"
    raw = zlib.decompress(data[41:41 + length])
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, width + 1)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:]


def test_a_png_round_trips():
    pixels = np.linspace(0, 1, 12).reshape(3, 4)
    assert np.array_equal(decode_grey_png(grey_png(pixels)), np.round(pixels * 255).astype(np.uint8))


def test_untrusted_values_are_dropped_quietly():
    figures = Figures()
    figures.curve("nothing usable", {"a": "text", "b": [np.nan, 1.0], "c": [[1, 2]], "d": object()})
    figures.confusion("mismatched", [0, 1, 2], [0, 1])
    figures.images("wrong shapes", {"a": np.zeros((2, 5, 5)), "b": np.zeros((2, 6, 6))})
    figures.images("too large", {"a": np.zeros((1, 500, 500))})
    assert figures.items == []


def test_sizes_are_capped():
    figures = Figures()
    figures.curve("long", {f"s{k}": np.arange(10_000.0) for k in range(9)})
    curve = figures.items[0]
    assert len(curve["series"]) == 4 and all(len(v) == CURVE_POINTS for v in curve["series"].values())
    figures.confusion("labels out of range count as unreadable", [0, 1, 1, 2], [0, 1, 7, 2.5], classes=3)
    assert figures.items[1]["matrix"] == [[1, 0, 0], [0, 1, 0], [0, 0, 0]] and figures.items[1]["unreadable"] == 2
    for _ in range(5):
        figures.curve("more", {"x": [1.0, 2.0]})
    assert len(figures.items) == 4


def test_images_make_one_grid_per_figure():
    figures = Figures()
    digits = np.random.default_rng(0).random((20, 28, 28))
    figures.images("digits", {"in": digits, "out": 1 - digits})
    grid = decode_grey_png(base64.b64decode(figures.items[0]["png"]))
    assert grid.shape == (2 * 30, 12 * 30)  # 12 per row at most, a 1-pixel grey frame around each
    assert grid[1 + 3, 1 + 5] == round(digits[0, 3, 5] * 255)


@pytest.fixture(scope="module")
def with_curve() -> dict:
    """A real report whose hidden gradient-descent test attaches a learning curve."""
    spec = find_assignment(COURSE, "02-linear-regression")
    return grade(spec, COURSE / "solutions" / "02-linear-regression", isolate=False)


def test_the_report_carries_the_figure_and_stays_valid(with_curve):
    validate_report(with_curve)
    figures = [f for t in with_curve["tests"] for f in t.get("figures", [])]
    assert [f["kind"] for f in figures] == ["curve"]
    assert figures[0]["series"]["yours"] == figures[0]["series"]["reference"]


def test_the_feedback_page_draws_every_kind(with_curve, tmp_path):
    report = copy.deepcopy(with_curve)
    extra = Figures()
    extra.confusion("digits", np.arange(100) % 10, (np.arange(100) + (np.arange(100) % 7 == 0)) % 10)
    extra.images("reconstructions", {"digit": np.eye(28)[None], "reconstruction": np.eye(28)[None] * 0.5})
    report["tests"][0]["figures"] = extra.items
    validate_report(report)
    page = tmp_path / "feedback.html"
    page.write_text(to_html(report))
    dom = chromium(page, "--dump-dom")
    assert dom.count('<figure class="plot') == 3
    assert 'class="series"' in dom and dom.count('class="cell"') == 100
    assert 'src="data:image/png;base64,' in dom and 'width="90"' in dom
