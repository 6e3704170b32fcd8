"""One grading (grader.pipeline.grade) is the same whatever the grader's own shell holds."""

from __future__ import annotations

import pytest

from grader.authoring.examples import cases_for, problems
from grader.pipeline.grade import grade
from grader.spec import find_assignment
from tests.conftest import COURSE


@pytest.mark.parametrize("variable, value", [
    ("PYTEST_ADDOPTS", "-x --maxfail=1"),            # a developer's habit: the judge stopped at its first failure
    ("PYTEST_PLUGINS", "grader.no_such_plugin"),     # a plugin the judge would try to load
    ("PYTHONWARNINGS", "error"),                     # every warning in a test an exception
])
def test_the_graders_pytest_settings_never_reach_the_judge(monkeypatch, variable, value):
    spec = find_assignment(COURSE, "05-backprop")
    case = next(c for c in cases_for(spec) if c.name == "no-bias-sum")  # fails early tests, passes later ones
    monkeypatch.setenv(variable, value)
    report = grade(spec, case.path, sandbox="local")
    assert report["status"] == "graded", report.get("reason")
    assert problems(case, report) == []  # its pinned score, message and failing tests
