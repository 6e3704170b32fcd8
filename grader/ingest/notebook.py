"""Turn a submitted Jupyter notebook into the one Python module the runner loads, on the trusted side.

The notebook is only parsed (nbformat, upgraded to v4), never executed: its code cells are joined in
order into the assignment's single required file, each under a `# %% cell N` comment. IPython magics
and shell escapes (`%line`, `%%cell`, `!cmd`, `x = !cmd`, `get_ipython()...`) are removed and a
`pass  # grader: ... removed` line is left in their place, so the module is plain Python and a
reader sees what went; `%time stmt` and `%%time`/`%%capture` cells keep their Python. Cell
tags (`skip`, `raises-exception`, ...) are ignored: every code cell is included, so a cell that raises
fails the import exactly as the same line in a .py would. Outputs, metadata and the kernel the student
chose are ignored. The notebook file may be up to MAX_NOTEBOOK_BYTES (outputs make notebooks large);
the generated module must meet the assignment's `files.max_kb` like any .py. Anything that is not a
readable notebook (bad JSON, an unknown nbformat major version, a zip renamed .ipynb, a file over the
cap, an assignment that needs several files, a cell holding a lone surrogate that no file can store,
code nested so deep that parsing it exhausts the parser) raises `SubmissionError` with a reason naming
the file and the cell.
This module must never import, exec or eval anything from the notebook, and never trust its outputs or
metadata for grading.
"""

from __future__ import annotations

import ast
import json
import warnings
from pathlib import Path
from typing import Any

from grader.errors import SubmissionError
from grader.ingest.notebook_format import nbformat

# Outputs (plots, long prints) make notebooks far larger than their code; the code itself still meets
# the assignment's per-file cap once extracted.
MAX_NOTEBOOK_BYTES = 20 << 20
MAX_CELLS = 2000
# Cell magics whose body is ordinary Python that runs once; every other cell magic drops its cell.
BODY_MAGICS = {"time", "capture"}
SIGNATURES = {b"PK\x03\x04": "a zip archive", b"\x1f\x8b": "a gzip file", b"\x89PNG": "a PNG image",
              b"%PDF": "a PDF document"}


def notebook_entries(source: Path, spec: Any, caps: Any) -> dict[str, bytes]:
    """{the assignment's file name: module bytes} for the notebook at `source`."""
    target = target_file(spec.files, source)
    raw = read_capped(source)
    nb = parse_notebook(raw, source)
    size = sum(len(code.encode("utf-8")) for _, code in code_cells(nb))
    if size > caps.max_file:  # checked before any parsing: the module could not be longer than its cells
        raise SubmissionError(f"{source}: the code cells (which become {target}) hold {size >> 10} KB, "
                              f"over the limit of {caps.max_file >> 10} KB per file (files.max_kb)")
    try:
        code = module_source(nb, source.name).encode("utf-8")
    except (RecursionError, MemoryError):
        raise SubmissionError(f"{source}: a code cell is nested too deeply for the grader to read it; "
                              "simplify the deepest expression") from None
    return {target: caps.take(target, len(code), lambda: code)}


def target_file(files: tuple[str, ...] | list[str], source: Path) -> str:
    """The one file a notebook stands for; an assignment needing several cannot take a notebook."""
    if len(files) != 1:
        raise SubmissionError(f"{source}: this assignment needs {len(files)} files ({', '.join(files)}); "
                              "a notebook becomes one file, so submit a folder or an archive instead")
    return files[0]


def read_capped(source: Path, limit: int = MAX_NOTEBOOK_BYTES) -> bytes:
    size = source.stat().st_size
    if size > limit:
        raise SubmissionError(f"{source}: the notebook is {size / (1 << 20):.1f} MB, over the "
                              f"{limit >> 20} MB limit for notebooks; clear all outputs "
                              "(Kernel > Restart & Clear Output), save, and submit again")
    with open(source, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise SubmissionError(f"{source}: the notebook grew past the {limit >> 20} MB limit while being read")
    return data


def parse_notebook(raw: bytes, source: Path) -> nbformat.NotebookNode:
    """The notebook as nbformat v4, or a SubmissionError saying why it is not one."""
    for magic, what in SIGNATURES.items():
        if raw.startswith(magic):
            raise SubmissionError(f"{source}: this is {what} renamed .ipynb, not a notebook; "
                                  "submit the .ipynb file Jupyter saved")
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SubmissionError(f"{source}: not a notebook: the file is not valid JSON "
                              f"({_first_line(exc)}); was it saved completely?") from None
    _check_version(data, source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat warns about missing ids it then adds
            nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises many types for many shapes of broken file
        raise SubmissionError(f"{source}: not a readable notebook ({_first_line(exc)})") from None
    _check_cells(nb, source)
    return nb


def _check_version(data: Any, source: Path) -> None:
    if not isinstance(data, dict):
        raise SubmissionError(f"{source}: not a notebook: the JSON is a {type(data).__name__}, not an object")
    major = data.get("nbformat")
    if not isinstance(major, int) or isinstance(major, bool):
        raise SubmissionError(f"{source}: not a notebook: no integer `nbformat` version field")
    if major not in (3, 4):
        raise SubmissionError(f"{source}: nbformat {major} is not supported (this grader reads nbformat 3 "
                              "and 4); open and save it in a current Jupyter")


def _check_cells(nb: Any, source: Path) -> None:
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise SubmissionError(f"{source}: not a notebook: `cells` is missing or not a list")
    if len(cells) > MAX_CELLS:
        raise SubmissionError(f"{source}: {len(cells)} cells, over the limit of {MAX_CELLS}")
    for index, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise SubmissionError(f"{source}: cell {index} is not a notebook cell")
        if not isinstance(cell.get("source", ""), str):
            raise SubmissionError(f"{source}: cell {index} has a source that is not text")
        _check_text(cell.get("source", ""), index, source)


def _check_text(text: str, index: int, source: Path) -> None:
    """JSON can spell a lone surrogate (\\ud800) that no UTF-8 file, and so no module, can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start].encode("unicode_escape").decode("ascii")
        raise SubmissionError(f"{source}: cell {index} holds {bad}, half of a surrogate pair, which is "
                              "not text; delete that character and save again") from None


def code_cells(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(1-based cell number, source) of each code cell, in order; tags and outputs are not looked at."""
    return [(index, cell.get("source", "")) for index, cell in enumerate(nb.cells, 1)
            if cell.get("cell_type") == "code"]


def module_source(nb: nbformat.NotebookNode, label: str) -> str:
    """The code cells as one module; each cell starts with a comment naming its number."""
    parts, notes = [], []
    for index, source in code_cells(nb):
        # Tags such as `skip` or `raises-exception` are ignored on purpose: the .py form of the same
        # code has no tags, and both forms must score the same.
        code, removed = strip_magics(source)
        notes.extend(f"cell {index}: {what}" for what in removed)
        parts.append(f"# %% cell {index}\n{code.rstrip()}\n")
    header = [f"# Code cells of {label}, joined by the grader (outputs, tags and kernel ignored)."]
    header += [f"# {note}" for note in notes]
    return "\n".join(header) + "\n\n" + "\n".join(parts)


def strip_magics(source: str) -> tuple[str, list[str]]:
    """`source` with every IPython-only statement replaced by `pass`; and what was removed."""
    if not any(mark in source for mark in ("%", "!", "?", "get_ipython")):
        return source, []  # nothing IPython could mean: keep the cell byte for byte
    transformed = _ipython_to_python(source)
    try:
        tree = ast.parse(transformed)
    except (SyntaxError, ValueError):
        return source, []  # the module will fail to import exactly as the .py form would
    found = _ipython_statements(tree)
    if not found:
        return source, []  # IPython saw nothing of its own: keep the student's text, not its rewrite
    lines = transformed.splitlines(keepends=True)
    removed: list[str] = []
    for stmt in sorted(found, key=lambda s: s.lineno, reverse=True):
        replacement = _replacement(stmt, removed)
        lines[stmt.lineno - 1: stmt.end_lineno] = [replacement]
    return "".join(lines), list(reversed(removed))


def _ipython_to_python(source: str) -> str:
    # IPython's own parser knows where a magic starts (not inside strings, continuation lines, ...).
    from IPython.core.inputtransformer2 import TransformerManager  # noqa: PLC0415 (heavy import)

    try:
        return TransformerManager().transform_cell(source)
    except (RecursionError, MemoryError):
        raise  # too deep for any parser: the caller refuses the notebook with a message
    except Exception:  # a cell IPython cannot parse either: leave it to fail like the .py would
        return source


def _ipython_statements(tree: ast.AST) -> list[ast.stmt]:
    return [node for node in ast.walk(tree)
            if isinstance(node, (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign))
            and node.value is not None and _calls_get_ipython(node.value)]


def _calls_get_ipython(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "get_ipython"
               for n in ast.walk(node))


def _replacement(stmt: ast.stmt, removed: list[str]) -> str:
    indent = " " * stmt.col_offset
    body = _cell_magic_body(stmt)
    if body is not None:
        name, text = body
        if name in BODY_MAGICS and stmt.col_offset == 0:
            code, inner = strip_magics(text)
            removed.append(f"%%{name} removed, its body kept")
            removed.extend(inner)
            return code if code.endswith("\n") else code + "\n"
        removed.append(f"cell magic %%{name} left out (not Python)")
        return f"{indent}pass  # grader: %%{name} cell left out\n"
    timed = _line_magic(stmt, "time")
    if timed is not None and stmt.col_offset == 0:
        removed.append("%time removed, its statement kept")
        return timed + "\n"
    what = _describe(stmt)
    removed.append(f"{what} removed")
    return f"{indent}pass  # grader: {what} removed\n"


def _cell_magic_body(stmt: ast.stmt) -> tuple[str, str] | None:
    call = getattr(stmt, "value", None)
    if (isinstance(stmt, ast.Expr) and isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr == "run_cell_magic" and len(call.args) == 3
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args)):
        return call.args[0].value, call.args[2].value
    return None


def _line_magic(stmt: ast.stmt, name: str) -> str | None:
    """The statement after `%name` when `stmt` is exactly that magic and the rest is Python."""
    call = getattr(stmt, "value", None)
    if not (isinstance(stmt, ast.Expr) and isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr == "run_line_magic" and len(call.args) == 2
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args)
            and call.args[0].value == name):
        return None
    try:
        ast.parse(call.args[1].value)
    except SyntaxError:
        return None
    return call.args[1].value


def _describe(stmt: ast.stmt) -> str:
    for node in ast.walk(stmt):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                kind = {"system": "!", "getoutput": "!", "run_line_magic": "%"}.get(node.func.attr)
                if kind:
                    return f"{kind}{first.value}"[:60]
    return "IPython-only statement (get_ipython)"


def notebook_from_code(cells: list[str], *, kernel: str = "python3") -> nbformat.NotebookNode:
    """A v4 notebook whose code cells are `cells` (for tests and for converting .py examples)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def split_module(code: str) -> list[str]:
    """Cut a module into cells at top-level statements, as a student's notebook would hold it."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [code]
    lines = code.splitlines(keepends=True)
    starts = [_first_line_of(node) for node in tree.body] or [1]
    starts[0] = 1
    bounds = zip(starts, starts[1:] + [len(lines) + 1])
    return ["".join(lines[a - 1:b - 1]) for a, b in bounds]


def _first_line_of(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno] + [d.lineno for d in decorators])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


