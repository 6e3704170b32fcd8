"""Judge side of nbgrader compatibility: one pytest test per graded cell, in notebook order.

Copied as tests/hidden/test_notebook.py into the assignment that grader.nbgrader_compat builds. The
plan beside it (data/plan.json) was made on the trusted side: which cells are tests and their points
come from the instructor's notebook, never the student's. Cells travel to the runner as text; only
what they did comes back. A test cell passes as nbgrader decides: no error and nothing on stderr.
It must never import or execute student code itself.
"""

import json
from pathlib import Path

import pytest

from grader.judge.checks import CheckFailed

PLAN = json.loads((Path(__file__).resolve().parents[2] / "data" / "plan.json").read_text())
DONE = {"next": 0}


def _graded_steps() -> list:
    return [pytest.param(i, marks=pytest.mark.points(step["grade"]["points"]), id=step["grade"]["id"])
            for i, step in enumerate(PLAN["steps"]) if step.get("grade")]


@pytest.mark.parametrize("index", _graded_steps())
def test_cell(submission, index):
    while DONE["next"] < index:  # the cells before this one, as the kernel would have run them
        earlier = PLAN["steps"][DONE["next"]]
        DONE["next"] += 1
        if earlier["source"] is not None:
            submission.run_cell(earlier["source"])
    DONE["next"] = index + 1
    step = PLAN["steps"][index]
    outcome = submission.run_cell(step["source"]) if step["source"] is not None else None
    _judge(step["grade"], outcome)


def _judge(grade: dict, outcome) -> None:
    kind = grade["kind"]
    if kind == "missing":
        raise CheckFailed(f"cell {grade['id']!r} is missing from the submitted notebook")
    if kind == "unanswered":
        raise CheckFailed("not answered: this cell is unchanged from the released notebook")
    if kind == "manual":
        pytest.skip("graded by hand (nbgrader formgrader)")
    if not isinstance(outcome, dict) or not {"error", "stderr", "result"} <= set(outcome):
        raise CheckFailed("the notebook's cell runner gave no proper answer")
    if outcome["error"]:
        raise CheckFailed(f"the cell raised an error:\n{outcome['error']}")
    if outcome["stderr"]:
        raise CheckFailed(f"the cell wrote to stderr, which nbgrader counts as a failure:\n{outcome['stderr']}")
    _partial(grade["points"], outcome["result"])


def _partial(points: float, result) -> None:
    """nbgrader reads a number shown as the cell's value as partial credit; we grade all or nothing."""
    if not isinstance(result, str):
        return
    try:
        value = float(result)
    except ValueError:
        return
    if 0 <= value < points:
        raise CheckFailed(f"the cell claims partial credit {value:g}/{points:g}; this grader gives a "
                          "test cell all of its points or none")
