"""The attack corpus (examples/hostile): each attack scores zero on what it touches, with a valid report.

The corpus is graded as one parallel batch with the reference solution in it: an attacker must never
disturb a neighbour's grade, and nothing it started may outlive its grading.
"""

import os
import pytest

from grader.batch import grade_batch
from grader.examples import hostile_cases, problems
from grader.report.write import validate_report
from grader.spec import find_assignment
from tests.conftest import COURSE

CASES = hostile_cases(COURSE)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile")
    spec = find_assignment(COURSE, "05-backprop")
    sources = [c.path for c in CASES] + [spec.solution]
    return grade_batch(spec, sources, out, jobs=2, progress=None), out


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_attack_scores_as_expected(graded, case):
    reports, _ = graded
    report = reports[case.name]
    validate_report(report)
    assert report["status"] == "graded"
    assert problems(case, report) == []


@pytest.mark.slow
def test_reference_in_the_same_batch_keeps_full_marks(graded):
    reports, _ = graded
    assert reports["05-backprop"]["score"] == reports["05-backprop"]["max_score"]


@pytest.mark.slow
def test_nothing_was_left_behind(graded):
    _, out = graded
    expected = sorted(f"{c.name}.json" for c in CASES) + ["05-backprop.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)  # no temporary files either
    # memory-and-processes forks children that sleep for an hour: they died with their runner.
    assert "sleep(3600)" not in os.popen("ps -eo args").read()
    assert not [line for line in os.popen("ps -eo args").read().splitlines() if "layers.py" in line]


@pytest.mark.slow
def test_forged_output_is_only_shown_as_output(graded):
    report = graded[0]["forged-results"]
    assert "PASSED 66/66" in report["output"]["text"]
    assert report["score"] == 0
