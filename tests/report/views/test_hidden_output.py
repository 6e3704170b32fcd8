"""What the student's code printed may echo a hidden test's inputs: the student's copies of the text
and JUnit views leave it out whenever hidden tests ran, the instructor's copies keep it."""

from __future__ import annotations

import copy

from grader.report.views.console import to_text
from grader.report.views.junit import to_junit

SECRET = "x = [0.123456, 0.654321]"


def _report(*visibilities: str) -> dict:
    tests = [{"name": f"{v}/test_a.py::test_{i}", "visibility": v, "status": "passed", "score": 1,
              "max_score": 1, "message": "", "duration": 0.1} for i, v in enumerate(visibilities)]
    return {"assignment": {"id": "05-backprop", "title": "Backprop"}, "submission": {"name": "alice"},
            "status": "graded", "reason": None, "score": len(tests), "max_score": len(tests),
            "tests": tests, "output": {"text": SECRET + "\n", "truncated": False},
            "timings": {"started": "2026-01-01T00:00:00Z", "seconds": 1.0}}


def test_student_copies_leave_out_output_when_hidden_tests_ran():
    report = _report("visible", "hidden")
    assert "0.123456" not in to_text(report)
    assert "0.123456" not in to_junit(report)
    assert "not shown" in to_text(report)


def test_instructor_copies_keep_the_output():
    report = _report("visible", "hidden")
    assert "0.123456" in to_text(report, show_hidden=True)
    assert "0.123456" in to_junit(report, show_hidden=True)


def test_output_of_public_tests_only_is_shown_to_the_student():
    report = _report("visible", "visible")
    assert "0.123456" in to_text(copy.deepcopy(report))
    assert "0.123456" in to_junit(report)
