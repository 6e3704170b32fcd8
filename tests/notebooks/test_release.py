"""Releases from one source: nothing hidden survives a notebook release, and every .py assignment's
starter agrees with its solution outside the solution blocks (same functions, signatures, docstrings)."""

from __future__ import annotations

import ast
import re
import shutil

import nbformat
import pytest

from grader.nbgrader_compat import release_notebook
from grader.release import release
from grader.spec import find_assignments, load_spec
from tests.conftest import COURSE
from tests.notebooks.nbgrader_cases import APP_FILES, GUIDE

SPECS = find_assignments(COURSE)
SOURCES = [GUIDE / "source/ps1/problem1.ipynb", GUIDE / "source/ps1/problem2.ipynb",
           APP_FILES / "test.ipynb", APP_FILES / "test-hidden-tests.ipynb"]
BLOCK = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS|MARK SCHEME)(.*?)### END \1", re.DOTALL)


def secrets(nb: nbformat.NotebookNode) -> list[str]:
    """Every non-blank line inside a solution, hidden-test or mark-scheme block of the source."""
    lines = []
    for cell in nb.cells:
        for _, body in BLOCK.findall(cell.source):
            lines += [line.strip() for line in body.splitlines() if len(line.strip()) > 3]
    return lines


@pytest.mark.parametrize("source", SOURCES, ids=[p.name for p in SOURCES])
def test_nothing_hidden_survives_a_notebook_release(source):
    original = nbformat.read(source, as_version=4)
    released = nbformat.writes(release_notebook(original))
    assert "BEGIN SOLUTION" not in released and "BEGIN HIDDEN TESTS" not in released
    solution_free = [line for line in secrets(original) if line in released]
    assert not solution_free, solution_free
    assert all(not c.get("outputs") for c in nbformat.reads(released, as_version=4).cells)


def test_grader_release_of_a_notebook_solution(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(COURSE / "assignments" / "05-backprop", course / "assignments" / "05-backprop")
    (course / "solutions" / "05-backprop").mkdir(parents=True)
    shutil.copyfile(APP_FILES / "test-hidden-tests.ipynb", course / "solutions" / "05-backprop" / "hw.ipynb")
    target = release(load_spec(course / "assignments" / "05-backprop", course=course), tmp_path / "out")
    released = (target / "starter" / "hw.ipynb").read_text()
    original = nbformat.read(APP_FILES / "test-hidden-tests.ipynb", as_version=4)
    assert not [line for line in secrets(original) if line in released]
    assert not (target / "tests" / "hidden").exists()


def _api(path) -> dict[str, tuple[str, str | None]]:
    """{qualified name: (signature, docstring)} of every function and class, at any depth."""
    found = {}

    def walk(node, prefix=""):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                sig = ast.unparse(child.args) + " -> " + (ast.unparse(child.returns) if getattr(
                    child, "returns", None) else "") if not isinstance(child, ast.ClassDef) else \
                    ", ".join(ast.unparse(b) for b in child.bases)
                found[name] = (sig, ast.get_docstring(child))
                walk(child, name + ".")

    walk(ast.parse(path.read_text()))
    return found


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_starter_and_solution_agree_outside_the_solution_blocks(spec):
    for filename in spec.files:
        starter, solution = spec.starter / filename, spec.solution / filename
        assert _api(starter) == _api(solution), f"{spec.id}/{filename}: functions, signatures or docstrings differ"
        assert "### BEGIN SOLUTION" in solution.read_text(), f"{solution}: no solution block"
        docs = [ast.get_docstring(ast.parse(p.read_text())) for p in (starter, solution)]
        assert docs[0] == docs[1], f"{spec.id}/{filename}: module docstrings differ"
        top = lambda p: [n.__class__.__name__ + ":" + ast.unparse(n) for n in ast.parse(p.read_text()).body  # noqa: E731
                         if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert top(starter) == top(solution), f"{spec.id}/{filename}: imports differ"
