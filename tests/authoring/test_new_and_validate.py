"""Does `grader new` make a step that `grader validate` proves, and does validate catch what breaks one?

Each test works on a scratch course holding the template and one copied step, never on the repo.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.authoring.new import new_step
from grader.cli import main
from grader.errors import SpecError
from grader.spec import find_assignment, find_assignments
from grader.authoring.validate import prove, same_interface, validate
from tests.conftest import COURSE


@pytest.fixture
def course(tmp_path: Path) -> Path:
    for part in ("assignments", "solutions", "examples"):
        shutil.copytree(COURSE / part / "_template", tmp_path / part / "_template")
    return tmp_path


@pytest.mark.slow
def test_new_step_is_proved_by_validate(course, capsys):
    """`grader new` then `grader validate`: reference full, starter zero, the mistake its pinned score."""
    assert main(["--course", str(course), "new", "17-leaky", "--title", "Leaky units"]) == 0
    spec = find_assignment(course, "17-leaky")
    assert spec.title == "Leaky units" and [s.id for s in find_assignments(course)] == ["17-leaky"]
    assert "{{" not in (course / "assignments" / "17-leaky" / "README.md").read_text()
    assert main(["--course", str(course), "validate", "17-leaky"]) == 0
    assert "17-leaky: ok" in capsys.readouterr().out


@pytest.mark.slow
def test_validate_catches_a_wrong_pin_and_a_reference_that_fails(course):
    new_step(course, "17-leaky")
    spec = find_assignment(course, "17-leaky")
    pins = course / "examples" / "17-leaky" / "expected.toml"
    pins.write_text(pins.read_text().replace("score = 5 ", "score = 6 "))
    assert prove(spec) == ["example gradient-everywhere: scored 5/10, expected 6"]
    solution = spec.solution / "step.py"
    solution.write_text(solution.read_text().replace("slope * dout)", "dout)"))
    # The hidden test compares with the (now wrong) reference itself, so only the public 3 points go.
    assert "example reference: scored 7/10, expected full" in prove(spec)


def test_new_refuses_a_bad_name_and_an_existing_step(course):
    with pytest.raises(SpecError, match="not a step name"):
        new_step(course, "attention")
    new_step(course, "17-leaky")
    with pytest.raises(SpecError, match="exists already"):
        new_step(course, "17-leaky")


def test_validate_names_a_signature_mismatch(course):
    new_step(course, "17-leaky")
    spec = find_assignment(course, "17-leaky")
    starter = spec.starter / "step.py"
    starter.write_text(starter.read_text().replace("def leaky_relu_backward(dout, x, slope=0.01)",
                                                   "def leaky_relu_backward(dout, x, slope=0.1)"))
    assert validate(spec) == ["leaky_relu_backward: starter and solution differ in signature"]


def test_the_template_is_not_a_step():
    assert "_template" not in [s.id for s in find_assignments(COURSE)]


@pytest.mark.parametrize("spec", find_assignments(COURSE), ids=lambda s: s.id)
def test_every_starter_matches_its_solution_outside_the_solution_blocks(spec):
    for filename in spec.files:
        assert same_interface(spec.starter / filename, spec.solution / filename) == []
        assert "### BEGIN SOLUTION" in (spec.solution / filename).read_text(), f"{spec.id}: no solution block"
