"""Releases from one source: nothing hidden survives a notebook release. (That every .py starter
agrees with its solution outside the solution blocks is `grader validate`'s check, tested in
tests/authoring.)"""

from __future__ import annotations

import re
import shutil

import nbformat
import pytest

from grader.interop.nbgrader.compat import release_notebook
from grader.authoring.release import release
from grader.spec import load_spec
from tests.conftest import COURSE
from tests.interop.nbgrader.nbgrader_cases import APP_FILES, GUIDE

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
