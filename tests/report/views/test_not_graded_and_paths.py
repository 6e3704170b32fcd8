"""Do the student views say plainly that a submission was not graded, and never show the grading
machine's paths? Read back with junitparser, json and the HTML text a browser would show."""

from __future__ import annotations

import copy
import json

import junitparser
import pytest

from grader.pipeline.grade import grade
from grader.errors import InfrastructureError
from grader.report.views.gradescope import to_gradescope
from grader.report.views.html import to_html
from grader.report.views.junit import to_junit
from grader.report.views.redact import strip_paths
from grader.report.write import validate_report
from grader.spec import find_assignment
from tests.conftest import COURSE


@pytest.fixture(scope="module")
def instructor_dir(tmp_path_factory):
    """A folder of the instructor's with a space in it, as home folders have."""
    return tmp_path_factory.mktemp("course") / "Fall term" / "subs"


@pytest.fixture(scope="module")
def broken(instructor_dir) -> dict:
    """The real report of a file that is not a zip archive, named by its absolute path."""
    instructor_dir.mkdir(parents=True)
    archive = instructor_dir / "broken.zip"
    archive.write_bytes(b"this is not a zip archive")
    report = grade(find_assignment(COURSE, "05-backprop"), archive, isolate=False)
    assert report["status"] == "invalid_submission" and str(archive) in report["reason"]
    return report


def _cases(xml_text: str, tmp_path) -> list[junitparser.TestCase]:
    path = tmp_path / "junit.xml"
    path.write_text(xml_text)
    return [case for suite in junitparser.JUnitXml.fromfile(str(path)) for case in suite]


def test_junit_invalid_submission_is_one_error_naming_the_reason(broken, tmp_path, instructor_dir):
    xml = to_junit(broken)
    cases = _cases(xml, tmp_path)
    assert len(cases) == 1, "a broken archive must not become one skipped case per test"
    (error,) = cases[0].result
    assert isinstance(error, junitparser.Error) and error.type == "invalid_submission"
    assert error.message.startswith("invalid_submission: broken.zip: not a readable zip archive")
    suite = next(iter(junitparser.JUnitXml.fromfile(str(tmp_path / "junit.xml"))))
    assert (suite.tests, suite.errors, suite.failures, suite.skipped) == (1, 1, 0, 0)
    assert str(instructor_dir) not in xml and "Fall term" not in xml


@pytest.mark.parametrize("status, tag", [("infra_error", junitparser.Error), ("skipped", junitparser.Skipped)])
def test_junit_report_without_score_is_one_explicit_case(broken, status, tag, tmp_path):
    report = {**copy.deepcopy(broken), "status": status, "score": None,
              "reason": "the judge failed (exit code 1): /srv/grader/judge.py crashed"}
    validate_report(report)
    cases = _cases(to_junit(report), tmp_path)
    assert len(cases) == 1 and isinstance(cases[0].result[0], tag)
    assert cases[0].result[0].type == status and "judge.py crashed" in cases[0].result[0].message
    assert "/srv/grader" not in (tmp_path / "junit.xml").read_text()
    suite = next(iter(junitparser.JUnitXml.fromfile(str(tmp_path / "junit.xml"))))
    assert {p.name: p.value for p in suite.properties()}["score"] == ""  # no zero for our fault
    assert 'name="score" value=""' in (tmp_path / "junit.xml").read_text()  # nor in the case


def test_html_student_copy_names_the_submission_only(broken, instructor_dir):
    page = to_html(broken)
    assert "broken.zip: not a readable zip archive" in page
    assert str(instructor_dir) not in page and "Fall term" not in page
    assert str(instructor_dir) in to_html(broken, show_hidden=True)  # the instructor's copy keeps it


def test_gradescope_output_names_the_submission_only(broken, instructor_dir):
    text = json.dumps(to_gradescope(broken))
    assert "broken.zip: not a readable zip archive" in text
    assert str(instructor_dir) not in text and "Fall term" not in text


def test_traceback_paths_in_visible_messages_are_cut(broken, tmp_path):
    report = copy.deepcopy(broken)
    report.update(status="graded", reason=None, score=0)
    report["tests"][0].update(visibility="visible", status="error",
                              message='File "/opt/course/assignments/05/tests/public/test_x.py", line 3\n'
                                      "ValueError: /home/ta/data/ref.npy is bad")
    validate_report(report)
    for text in (to_junit(report), to_html(report), json.dumps(to_gradescope(report))):
        assert "/opt/course" not in text and "/home/ta" not in text
        assert "test_x.py" in text and "ref.npy is bad" in text


def test_gradescope_still_refuses_an_infra_error(broken):
    with pytest.raises(InfrastructureError):
        to_gradescope({**broken, "status": "infra_error", "score": None})


@pytest.mark.parametrize("text, expected", [
    ("/home/Jane Doe/subs/bob.zip: missing layers.py", "bob.zip: missing layers.py"),
    ('File "/a/b/test_x.py", line 3', 'File "test_x.py", line 3'),
    ("dW/dx differs; 3 / 4 of the rows; see https://example.org/a/b", None),
    ("at /tmp/grader-ws-1/submission/layers.py:12", "at layers.py:12"),
])
def test_strip_paths(text, expected):
    assert strip_paths(text) == (text if expected is None else expected)
