"""Runner side of nbgrader compatibility: the notebook's namespace, and its cells run one by one.

This file is copied into the submission's workspace (as nbgrader_cells.py) and loaded by the runner in
the sandbox, like a student module. `run_cell` runs the notebook's own cells (the student's answers and
the instructor's ungraded setup cells) and reports what a cell did (error, stderr, the value of a
trailing expression), as an IPython kernel would show it; it never raises for the cell's own
exceptions. Test cells never come here: the judge runs them on its side and reaches the namespace
through `get_name`, `set_name`, `del_name` and `call_timed` (a test cell's call of a notebook function,
under the cell's time limit), so nothing a student's cell redefines here can decide a test. A cell that runs past its time limit is interrupted the way nbgrader's Execute interrupts its kernel
(a KeyboardInterrupt raised in the cell, reported as CellTimeoutError), and the namespace lives on;
a cell that will not be interrupted is left to the judge's own per-call limit. It must use the
standard library only.
"""

import ast
import contextlib
import io
import signal
import sys
import traceback

MAX_TEXT = 4000
NAMESPACE = {"__name__": "__main__", "__builtins__": __builtins__, "display": lambda *a, **k: None}


def run_cell(source: str, seconds: float = 0) -> dict:
    """Execute `source` as a notebook cell; {"error", "stderr", "result"} describe how it went.

    With `seconds` > 0 the cell is interrupted after that long, as nbgrader's Execute.timeout does."""
    out, err = io.StringIO(), io.StringIO()
    error, result = None, None
    timer = _Timer(seconds)
    try:
        with timer, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result = _execute(source)
    except BaseException as exc:  # a kernel reports every exception, SystemExit included, as an error
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[-MAX_TEXT:] or type(exc).__name__
        if timer.fired:
            error = f"CellTimeoutError: No reply from kernel before timeout ({seconds:g} s); the cell was interrupted"
    sys.stdout.write(out.getvalue()[-MAX_TEXT:])
    sys.stderr.write(err.getvalue()[-MAX_TEXT:])
    return {"error": error, "stderr": err.getvalue()[-MAX_TEXT:], "result": result}


class _Timer:
    """SIGALRM after `seconds` raises KeyboardInterrupt in the running cell (nothing for 0)."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.fired, self.previous = seconds, False, None

    def _interrupt(self, signum, frame) -> None:
        self.fired = True
        raise KeyboardInterrupt

    def __enter__(self) -> "_Timer":
        if self.seconds > 0:
            self.previous = signal.signal(signal.SIGALRM, self._interrupt)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc) -> None:
        if self.seconds > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous or signal.SIG_DFL)


class CellTimeoutError(Exception):
    """A call from a test cell ran past the cell's time limit and was interrupted."""


def call_timed(function, args: list, kwargs: dict, seconds: float = 0):
    """`function(*args, **kwargs)` for a test cell, interrupted after `seconds` as its cell would be."""
    timer = _Timer(seconds)
    try:
        with timer:
            return function(*args, **kwargs)
    except KeyboardInterrupt:
        if timer.fired:
            raise CellTimeoutError(f"No reply from kernel before timeout ({seconds:g} s); the test cell's "
                                   "call was interrupted") from None
        raise


def get_name(name: str):
    """The value bound to `name` in the notebook's namespace (a NameError when there is none)."""
    try:
        return NAMESPACE[name]
    except KeyError:
        raise NameError(f"name {name!r} is not defined") from None


def set_name(name: str, value) -> None:
    """Bind `name` in the notebook's namespace, as an assignment in a cell would."""
    NAMESPACE[name] = value


def del_name(name: str) -> None:
    """Remove `name` from the notebook's namespace, as `del name` in a cell would."""
    get_name(name)
    del NAMESPACE[name]


def _execute(source: str):
    tree = ast.parse(source, "<cell>")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body.pop()
    exec(compile(tree, "<cell>", "exec"), NAMESPACE)
    if last is None:
        return None
    value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), NAMESPACE)
    if value is None or source.rstrip().endswith(";"):
        return None  # IPython shows no Out[] for None or a trailing semicolon
    return repr(value)[:MAX_TEXT]
