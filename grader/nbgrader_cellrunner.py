"""Runner side of nbgrader compatibility: run notebook cells one after another in one namespace.

This file is copied into the submission's workspace (as nbgrader_cells.py) and loaded by the runner in
the sandbox, like a student module. It only reports what a cell did (error, stderr, the value of a
trailing expression), as an IPython kernel would show it; the judge decides what that is worth. It
must use the standard library only and never raise out of `run_cell` for the cell's own exceptions.
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
