"""Attack-corpus cases aimed at steps other than 05 (zeros of the right shape in 09 and 10): each one
graded under both sandboxes, scoring what examples/hostile/expected.toml says.

A hostile case leaving its batch neighbours alone is proven once, with 05's corpus and reference in
one batch (test_hostile.py, tests/docker/test_grading.py); training 09's and 10's references again
beside each case here cost two minutes a run and proved nothing new."""

import pytest

from grader.pipeline.batch import grade_batch
from grader.authoring.examples import hostile_cases, problems
from grader.report.write import validate_report
from grader.spec import find_assignment
from tests.conftest import COURSE

CASES = [c for c in hostile_cases(COURSE) if c.assignment not in (None, "05-backprop")]


@pytest.mark.slow
@pytest.mark.parametrize("sandbox", ["local", pytest.param("docker", marks=pytest.mark.docker)])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_attack_on_another_step_scores_as_expected(tmp_path, case, sandbox, request):
    if sandbox == "docker":
        request.getfixturevalue("engine")  # fails loudly, never skips, without an engine and image
    spec = find_assignment(COURSE, case.assignment)
    report = grade_batch(spec, [case.path], tmp_path, sandbox=sandbox, progress=None)[case.name]
    validate_report(report)
    assert report["status"] == "graded"
    assert problems(case, report) == []
