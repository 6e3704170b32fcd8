"""Runner side of nbgrader compatibility: the notebook's namespace, and its cells run one by one.

This file is copied into the submission's workspace (as nbgrader_cells.py) and loaded by the runner in
the sandbox, like a student module. `run_cell` runs the notebook's own cells (the student's answers and
the instructor's ungraded setup cells) and reports what a cell did (error, stderr, the value of a
trailing expression), as an IPython kernel would show it; it never raises for the cell's own
exceptions. Test cells never come here: the judge runs them on its side and reaches the namespace
through `get_name`, `set_name` and `del_name`, so nothing a student's cell redefines here can decide a
test. It must use the standard library only.
"""

import ast
import contextlib
import io
import sys
import traceback

MAX_TEXT = 4000
NAMESPACE = {"__name__": "__main__", "__builtins__": __builtins__, "display": lambda *a, **k: None}


def run_cell(source: str) -> dict:
    """Execute `source` as a notebook cell; {"error", "stderr", "result"} describe how it went."""
    out, err = io.StringIO(), io.StringIO()
    error, result = None, None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result = _execute(source)
    except BaseException as exc:  # a kernel reports every exception, SystemExit included, as an error
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[-MAX_TEXT:] or type(exc).__name__
    sys.stdout.write(out.getvalue()[-MAX_TEXT:])
    sys.stderr.write(err.getvalue()[-MAX_TEXT:])
    return {"error": error, "stderr": err.getvalue()[-MAX_TEXT:], "result": result}


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
