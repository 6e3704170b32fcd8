"""`grader validate` refuses a step whose starter and reference disagree on the functions of its [api].

Each test makes a fresh step from the template in a scratch course (never the repo's), breaks one
signature, and checks the command's exit status and its exact output: the problem line names the
function (and, for a missing one, the file) so an author knows what to fix.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.authoring.new import new_step
from grader.cli import FAILED, OK, main
from grader.spec import find_assignment
from tests.conftest import COURSE

STEP = "17-leaky"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A scratch course holding only a new step made from the template."""
    for part in ("assignments", "solutions", "examples"):
        shutil.copytree(COURSE / part / "_template", tmp_path / part / "_template")
    new_step(tmp_path, STEP)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} no longer holds {old!r}: update this test to the template"
    path.write_text(text.replace(old, new))


def _validate(course: Path, capsys, *flags: str) -> tuple[int, str]:
    code = main(["--course", str(course), "validate", *flags, STEP])
    return code, capsys.readouterr().out


def _files(course: Path) -> tuple[Path, Path]:
    spec = find_assignment(course, STEP)
    return spec.starter / "step.py", spec.solution / "step.py"


def test_the_untouched_step_passes_the_structure_check(course, capsys):
    """The control: the failures below come from the edits, not from the scratch course."""
    assert _validate(course, capsys, "--structure-only") == (OK, f"{STEP}: ok\n")


@pytest.mark.parametrize("flags", [(), ("--structure-only",)], ids=["full", "structure-only"])
def test_a_starter_default_that_differs_from_the_reference(course, capsys, flags):
    """The default `grader validate` stops at the structure problem before grading anything."""
    starter, _ = _files(course)
    _edit(starter, "def leaky_relu_backward(dout, x, slope=0.01)",
          "def leaky_relu_backward(dout, x, slope=0.1)")
    assert _validate(course, capsys, *flags) == (
        FAILED, f"{STEP}: PROBLEMS\n  leaky_relu_backward: starter and solution differ in signature\n")


def test_a_reference_with_a_return_annotation_the_starter_lacks(course, capsys):
    _, solution = _files(course)
    _edit(solution, "def leaky_relu_forward(x, slope=0.01):",
          "def leaky_relu_forward(x, slope=0.01) -> np.ndarray:")
    assert _validate(course, capsys, "--structure-only") == (
        FAILED, f"{STEP}: PROBLEMS\n  leaky_relu_forward: starter and solution differ in signature\n")


def test_a_starter_that_renames_an_api_function(course, capsys):
    starter, _ = _files(course)
    _edit(starter, "def leaky_relu_backward(", "def leaky_relu_grad(")
    assert _validate(course, capsys, "--structure-only") == (
        FAILED, f"{STEP}: PROBLEMS\n  {starter}: does not define leaky_relu_backward\n"
                f"  {_files(course)[1]}: does not define leaky_relu_grad\n")


def test_an_api_function_neither_file_defines_fails_the_reference(course, capsys):
    """Starter and reference both rename an [api] function: the structure check sees them agree, but
    the reference no longer scores full marks, so the default `grader validate` still refuses it."""
    for path in _files(course):
        _edit(path, "def leaky_relu_backward(", "def leaky_relu_grad(")
    # The example mistake is a patch on the reference, so it loses leaky_relu_backward too and no
    # failing message names the slope any more.
    assert _validate(course, capsys) == (
        FAILED, f"{STEP}: PROBLEMS\n  example reference: scored 5/10, expected full\n"
                "  example gradient-everywhere: no failing message mentions 'slope'\n")
