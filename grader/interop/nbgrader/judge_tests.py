"""Judge side of nbgrader compatibility: one pytest test per graded cell, in notebook order.

Copied as tests/hidden/test_notebook.py into the assignment that grader.interop.nbgrader.compat builds. The
plan beside it (data/plan.json) was made on the trusted side: which cells are tests and their points
come from the instructor's notebook, never the student's. The student's cells (answers, and the
instructor's ungraded cells) run in the runner as text. A test cell runs here, in the judge, against
`KernelNames`: the notebook's namespace as seen through the runner, so its names resolve there and
its calls and values cross as frames, while its assertions, imports and comparisons stay on this side.
The runner never sees a test cell's source. A test cell passes as nbgrader decides: no error.
A student's cell, or a test cell's call of a notebook function, that runs past the plan's
`cell_seconds` is interrupted in the runner and the notebook goes on, as under nbgrader's Execute.timeout. When the runner dies or will not stop (os._exit, a crash,
a hang that ignores the interrupt), the notebook's namespace is gone: that grade cell and every later
one fail, saying so (nbgrader fails the whole notebook then; cells graded before keep their points).
This module never imports or executes student code itself.
"""

import ast
import builtins
import json
import traceback
from pathlib import Path

import pytest

from grader.runtime import wire
from grader.judge.checks import CheckFailed
from grader.judge.proxy import Handle, handle_tag
from grader.judge.verdicts import CallTimeout, RunnerDied, StudentError, Verdict

PLAN = json.loads((Path(__file__).resolve().parents[2] / "data" / "plan.json").read_text())
DONE = {"next": 0, "dead": None}
MAX_TEXT = 4000


def _graded_steps() -> list:
    return [pytest.param(i, marks=pytest.mark.points(step["grade"]["points"]), id=step["grade"]["id"])
            for i, step in enumerate(PLAN["steps"]) if step.get("grade")]


@pytest.mark.parametrize("index", _graded_steps())
def test_cell(submission, index):
    if DONE["dead"]:
        raise CheckFailed(f"not run: {DONE['dead']}")
    try:
        while DONE["next"] < index:  # the cells before this one, as the kernel would have run them
            earlier = PLAN["steps"][DONE["next"]]
            DONE["next"] += 1
            _run(submission, earlier)
        DONE["next"] = index + 1
        step = PLAN["steps"][index]
        outcome = _run(submission, step)
    except (RunnerDied, CallTimeout) as exc:
        DONE["dead"] = (f"the kernel was lost in the notebook's cell {DONE['next']} ({exc}); the namespace "
                        "went with it")
        raise
    _judge(step["grade"], outcome)


def _run(submission, step: dict):
    """How the cell went: test cells in the judge, every other code cell in the runner."""
    if step["source"] is None:
        return None
    if step.get("grade") and step["grade"]["kind"] == "auto":
        return run_test_cell(submission, step["source"])
    return submission.run_cell(step["source"], PLAN["cell_seconds"])


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


# -- test cells, run on the judge's side -----------------------------------------------------------

def run_test_cell(submission, source: str) -> dict:
    """Run an instructor's test cell here; {"error", "stderr", "result"} as `run_cell` reports them."""
    names = KernelNames(submission)
    scope = {"__builtins__": builtins, "__name__": "__main__"}
    try:
        tree = ast.parse(source, "<test cell>")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<test cell>", "exec"), scope, names)
        value = eval(compile(ast.Expression(last.value), "<test cell>", "eval"), scope, names) \
            if last is not None else None
    except Verdict:
        raise  # a timeout, a dead runner, a refused value: the session's verdict, not the cell's
    except BaseException as exc:  # as a kernel reports it; SystemExit and KeyboardInterrupt included
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return {"error": text[-MAX_TEXT:] or type(exc).__name__, "stderr": "", "result": None}
    shown = None if value is None or source.rstrip().endswith(";") else _shown(value)
    return {"error": None, "stderr": "", "result": shown}


def _shown(value) -> str:
    return "<object in the sandbox>" if isinstance(value, (Handle, RunnerFunction)) else repr(value)[:MAX_TEXT]


class KernelNames(dict):
    """The notebook's namespace as a test cell sees it, used as the cell's locals.

    A name the cell reads is looked up here first (what the cell itself made and cannot send: the
    modules it imports, the functions it defines), then in the runner's namespace; builtins are the
    judge's own and never the student's. A name the cell binds goes to the runner when the value can
    cross (plain data, arrays, objects of the student's), as a kernel's shared namespace would have it,
    and stays here otherwise; `del` removes it where it lives.
    """

    def __init__(self, submission) -> None:
        super().__init__()
        self._submission = submission

    def __missing__(self, name: str):
        if hasattr(builtins, name):
            raise KeyError(name)
        try:
            value = self._submission.get_name(name)
        except StudentError as exc:
            if exc.type_name == "NameError":
                raise KeyError(name) from None
            raise
        return RunnerFunction(value, self._submission) if isinstance(value, Handle) else value

    def __setitem__(self, name: str, value) -> None:
        plain = value.handle if isinstance(value, RunnerFunction) else value
        try:
            wire.encode(plain, on_object=handle_tag)
        except wire.WireError:
            super().__setitem__(name, value)
            return
        super().pop(name, None)
        self._submission.set_name(name, plain)

    def __delitem__(self, name: str) -> None:
        if dict.__contains__(self, name):
            super().__delitem__(name)
            return
        try:
            self._submission.del_name(name)
        except StudentError as exc:
            raise _as_builtin(exc) from None


class RunnerFunction:
    """A callable from the notebook's namespace: called in the runner, under the cell's time limit (a
    call past it is interrupted there, as nbgrader interrupts the test cell, and the namespace lives
    on); what the student's code raises there comes back as the builtin exception of that name, so a
    test cell's `except ValueError` works."""

    def __init__(self, handle: Handle, submission) -> None:
        self.handle = handle
        self._submission = submission

    def __call__(self, *args, **kwargs):
        plain = [a.handle if isinstance(a, RunnerFunction) else a for a in args]
        named = {k: v.handle if isinstance(v, RunnerFunction) else v for k, v in kwargs.items()}
        try:
            return self._submission.call_timed(self.handle, plain, named, PLAN["cell_seconds"])
        except StudentError as exc:
            raise _as_builtin(exc) from None

    def __getattr__(self, name: str):
        return getattr(self.handle, name)


def _as_builtin(exc: StudentError) -> BaseException:
    kind = getattr(builtins, exc.type_name, None)
    if isinstance(kind, type) and issubclass(kind, Exception):
        return kind(exc.detail)
    return exc
