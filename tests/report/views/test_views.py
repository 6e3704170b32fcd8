"""Each report view checked by a real consumer: junitparser reads the JUnit XML, csv reads the
gradebook, Gradescope's documented values bound results.json, and headless Chromium renders the HTML
feedback (screenshot taken) with the failed tests first and a chart on the page.
"""

from __future__ import annotations

import copy
import csv
import io
import json

import junitparser
import pytest

from grader import cli
from grader.pipeline.grade import grade
from grader.report.views.gradebook import to_gradebook_csv
from grader.report.views.gradescope import to_gradescope
from grader.report.views.html import to_html
from grader.report.views.junit import to_junit
from grader.report.write import write_report
from grader.spec import find_assignment
from grader.authoring.examples import materialise
from tests.conftest import COURSE
from tests.report.views.browser import chromium

GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


@pytest.fixture(scope="module")
def report() -> dict:
    """A real report with passes, failures and errors in visible and hidden tests."""
    spec = find_assignment(COURSE, "05-backprop")
    return grade(spec, materialise(COURSE, "05-backprop", "no-bias-sum"), isolate=False)


def _hidden_messages(report: dict) -> list[str]:
    """Messages only hidden tests carry (a visible test may legitimately say the same words)."""
    visible = {t["message"] for t in report["tests"] if t["visibility"] == "visible"}
    return [t["message"] for t in report["tests"]
            if t["visibility"] == "hidden" and t["message"] and t["message"] not in visible]


def test_gradescope_results(report):
    results = to_gradescope(report)
    json.dumps(results, allow_nan=False)
    assert results["score"] == report["score"]
    assert sum(t["score"] for t in results["tests"]) == report["score"]
    assert {t["visibility"] for t in results["tests"]} <= GRADESCOPE_VISIBILITY
    assert {t["status"] for t in results["tests"]} <= {"passed", "failed"}
    shown = json.dumps(results)
    assert _hidden_messages(report) and not any(m in shown for m in _hidden_messages(report))


def test_gradescope_refuses_an_infra_error(report):
    from grader.errors import InfrastructureError

    broken = {**copy.deepcopy(report), "status": "infra_error", "score": None, "reason": "engine down"}
    with pytest.raises(InfrastructureError):
        to_gradescope(broken)


def test_junit_parsed_back(report, tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(to_junit(report))
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = list(xml) if isinstance(xml, junitparser.JUnitXml) else [xml]
    cases = [case for suite in suites for case in suite]
    assert len(cases) == len(report["tests"])
    lost = sum(1 for t in report["tests"] if t["status"] != "passed")
    assert sum(1 for c in cases if not c.is_passed) == lost
    for case, test in zip(cases, report["tests"]):  # a hidden case's parametrize id is not shown
        assert test["name"].split("[")[0].endswith(case.name.split(" (case ")[0])
        if test["status"] == "failed":
            assert isinstance(case.result[0], junitparser.Failure)
    assert not any(m in path.read_text() for m in _hidden_messages(report))


def test_gradebook_csv(report):
    other = copy.deepcopy(report)
    other["submission"]["name"] = "=cmd|' /C calc'!A0"
    other["assignment"]["id"] = "10-cnn-layers"
    broken = {**copy.deepcopy(report), "status": "infra_error", "score": None, "reason": "x"}
    broken["submission"]["name"] = "carol"
    rows = list(csv.reader(io.StringIO(to_gradebook_csv([report, other, broken]))))
    assert rows[0] == ["student", "05-backprop", "10-cnn-layers", "total", "notes"]
    table = {r[0]: r[1:] for r in rows[1:]}
    full = str(report["max_score"])
    assert table["(max points)"] == [full, full, str(2 * report["max_score"]), ""]
    assert table["no-bias-sum"] == [str(report["score"]), "", str(report["score"]), ""]
    # our failure is an empty cell and an empty total (a regrade is pending), never a zero grade
    assert table["carol"][:3] == ["", "", ""] and "infra_error" in table["carol"][3]
    assert "'=cmd|' /C calc'!A0" in table  # a formula is defused


def test_html_in_headless_chromium(report, tmp_path):
    page = tmp_path / "feedback.html"
    page.write_text(to_html(report))
    shot = tmp_path / "feedback.png"
    chromium(page, f"--screenshot={shot}", "--window-size=1200,1600")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    dom = chromium(page, "--dump-dom")
    statuses = [chunk.split('"', 1)[0] for chunk in dom.split('data-status="')[1:]]
    assert len(statuses) == len(report["tests"])
    first_pass = statuses.index("passed")
    assert all(s != "passed" for s in statuses[:first_pass]) and all(s == "passed" for s in statuses[first_pass:])
    assert '<svg id="score-chart"' in dom and 'class="earned"' in dom
    assert not any(m in dom for m in _hidden_messages(report))


def test_html_escapes_what_the_student_controls(report):
    hostile = copy.deepcopy(report)
    hostile["output"]["text"] = "<script>alert(1)</script>"
    hostile["submission"]["name"] = "<img src=x onerror=alert(1)>"
    page = to_html(hostile, show_hidden=True)
    assert "<script>" not in page and "<img" not in page
    assert "alert(1)" in page  # shown, escaped, in the instructor's copy


def test_html_for_the_student_leaves_out_what_the_code_printed(report):
    """Hidden tests call the student's code, so what it printed can echo hidden inputs."""
    printed = copy.deepcopy(report)
    printed["output"]["text"] = "x = [0.123456, 0.654321]"
    assert "0.123456" not in to_html(printed)
    assert "0.123456" in to_html(printed, show_hidden=True)


def test_report_commands(report, tmp_path, capsys):
    path = tmp_path / "alice.json"
    write_report(report, path)
    for view in ("gradescope", "junit", "html"):
        assert cli.main(["report", "convert", str(path), "--to", view, "--out", str(tmp_path / view)]) == 0
        assert (tmp_path / view).stat().st_size > 0
    assert cli.main(["report", "gradebook", str(tmp_path), "--out", str(tmp_path / "g.csv")]) == 0
    assert (tmp_path / "g.csv").read_text().startswith("student,05-backprop,total")


def _without_score(report: dict, status: str) -> dict:
    """A hand-built report of a submission that got no score, checked against the schema."""
    from grader.report.write import validate_report

    broken = {**copy.deepcopy(report), "status": status, "score": None, "reason": "numpy missing in sandbox"}
    validate_report(broken)
    return broken


@pytest.mark.parametrize("status", ["infra_error", "skipped"])
def test_no_score_is_never_a_zero_in_any_view(report, status, tmp_path):
    from grader.errors import InfrastructureError

    broken = _without_score(report, status)
    with pytest.raises(InfrastructureError, match=status):
        to_gradescope(broken)
    page = to_html(broken)
    assert "no score" in page and "numpy missing in sandbox" in page and "Score: 0" not in page
    path = tmp_path / "j.xml"
    path.write_text(to_junit(broken))
    suite = next(iter(junitparser.JUnitXml.fromfile(str(path))))
    assert {p.name: p.value for p in suite.properties()}["score"] == ""
    rows = list(csv.reader(io.StringIO(to_gradebook_csv([broken]))))
    assert rows[2][1] == "" and rows[2][2] == ""  # the grade and the total


def test_invalid_submission_in_every_view(tmp_path):
    """A submission without the required file: zero with the reason, in every view."""
    from grader.report.write import validate_report

    spec = find_assignment(COURSE, "05-backprop")
    empty = tmp_path / "empty"
    empty.mkdir()
    invalid = grade(spec, empty, isolate=False)
    validate_report(invalid)
    assert invalid["status"] == "invalid_submission"
    results = to_gradescope(invalid)
    assert results["score"] == 0 and "layers.py" in results["output"]
    assert results["extra_data"]["max_score"] == sum(t["max_score"] for t in results["tests"])
    assert "layers.py" in to_html(invalid)
    path = tmp_path / "j.xml"
    path.write_text(to_junit(invalid))
    cases = [c for suite in junitparser.JUnitXml.fromfile(str(path)) for c in suite]
    assert len(cases) == 1 and isinstance(cases[0].result[0], junitparser.Error)  # never rows of skips
    assert "layers.py" in cases[0].result[0].message


def test_html_fetches_nothing(report):
    """Self-contained: no src/href/url() that a browser would fetch; a CSP forbids it anyway."""
    import re

    page = to_html(report)
    assert not re.search(r"\b(src|href)\s*=|url\(|@import", page)
    assert "default-src 'none'" in page
