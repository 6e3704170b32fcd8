"""Can a student's answer cell decide an nbgrader test cell, or see one? (issue: nbgrader mode forged)

Test cells run in the judge against the notebook's namespace in the runner: an answer cell that
replaces the runner's own cell function, or logs every cell it is handed, gains nothing and sees no
test. Each attack is the released notebook with one answer cell replaced.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from grader.interop.nbgrader.compat import grade_notebook, release_notebook
from tests.interop.nbgrader.nbgrader_cases import APP_FILES

SOURCE = APP_FILES / "test-hidden-tests.ipynb"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.DOTALL)

# The runner holds its own reference to each API function, so the attack goes one level down: the
# helpers those functions look up as globals of their module at every call.
FORGE = '''import sys
cells = sys.modules["nbgrader_cells"]
cells._execute = lambda source: None
cells.run_cell.__code__ = (lambda source: {"error": None, "stderr": "", "result": None}).__code__
cells.get_name.__code__ = (lambda name: (lambda *a, **k: True)).__code__
'''
SPY = '''import sys
cells = sys.modules["nbgrader_cells"]
original = cells._execute
def spy(source):
    print("CELL:", source)
    sys.stderr.write("CELL: " + source)
    return original(source)
cells._execute = spy
def squares(n):
    return [i * i for i in range(1, n + 1)]
'''


def attack(code: str, tmp_path) -> dict:
    nb = release_notebook(nbformat.read(SOURCE, as_version=4))
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
                  and c.cell_type == "code")
    answer.source = code
    path = tmp_path / "attack.ipynb"
    nbformat.write(nb, path)
    return grade_notebook(SOURCE, path, name="attack", isolate=False)


def hidden_lines() -> list[str]:
    source = nbformat.read(SOURCE, as_version=4)
    return [line.strip() for cell in source.cells for block in HIDDEN.findall(cell.source)
            for line in block.splitlines() if line.strip()]


@pytest.mark.slow
def test_replacing_the_cell_runner_earns_nothing(tmp_path):
    report = attack(FORGE, tmp_path)
    assert report["status"] == "graded"
    assert report["score"] == 0, [(t["name"], t["status"]) for t in report["tests"]]


@pytest.mark.slow
def test_an_answer_cell_never_sees_a_test_cell(tmp_path):
    report = attack(SPY, tmp_path)
    text = json.dumps(report)
    assert hidden_lines() and not [line for line in hidden_lines() if line in text]
    # The honest squares() still earns what it deserves, judged on the judge's side.
    passed = {t["name"].split("::")[-1] for t in report["tests"] if t["status"] == "passed"}
    assert "correct_squares" in passed, report["tests"]
