"""Every assignment: the reference scores full marks, the starter zero, each mistake what expected.toml says.

Parametrised over the course, so a new assignment is covered the moment it lands. Each assignment's
cases are graded as one batch (two at a time) with the same code `make grade` uses.
"""

import pytest

from grader.pipeline.batch import grade_batch
from grader.authoring.examples import cases_for, example_problems
from grader.report.write import validate_report
from grader.spec import find_assignments
from grader.authoring.validate import validate
from tests.conftest import COURSE

SPECS = find_assignments(COURSE)


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_examples_score_as_expected(spec, local_example_reports):
    cases, reports = local_example_reports(spec)
    assert len(cases) >= 4, f"{spec.id}: needs at least two mistake examples besides reference and starter"
    found = {}
    for case, report in zip(cases, reports.values()):
        validate_report(report)
        if report["status"] == "skipped":  # e.g. no torch: `make install` puts Debian's python3-torch in
            found[case.name] = [f"skipped: {report['reason']}"]
            continue
        if trouble := example_problems(case, report):
            found[case.name] = trouble
    assert not found


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_assignment_is_valid(spec):
    assert validate(spec) == []


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_assignment_has_course_material(spec):
    readme = spec.root / "README.md"
    assert readme.is_file() and len(readme.read_text()) > 500, f"{readme}: missing or too short"
    assert "grader check" in readme.read_text()


@pytest.mark.slow
def test_grading_is_deterministic(tmp_path):
    """The same submission gets the same verdicts twice, even with the cache out of the way."""
    spec = next(s for s in SPECS if s.id == "05-backprop")
    mistake = next(c for c in cases_for(spec) if c.name == "no-bias-sum")
    first = grade_batch(spec, [mistake.path], tmp_path / "a", progress=None)
    second = grade_batch(spec, [mistake.path], tmp_path / "b", force=True, progress=None)
    strip = lambda r: [(t["name"], t["status"], t["score"], t["message"]) for t in r["tests"]]  # noqa: E731
    assert strip(first["no-bias-sum"]) == strip(second["no-bias-sum"])
