"""The notebooks nbgrader itself ships, paired as (source, submissions), and a driver for its autograde.

The driver builds a throwaway nbgrader course (source/, submitted/<student>/), runs nbgrader's own
`generate_assignment` and `autograde` through its CLI, and reads the scores back from its gradebook.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbgrader

PACKAGE = Path(nbgrader.__file__).parent
ROBUST = Path(__file__).with_name("nbgrader_robust")
GUIDE = PACKAGE / "docs" / "source" / "user_guide"
APP_FILES = PACKAGE / "tests" / "apps" / "files"

# assignment -> (notebook name, source notebook, {student: submitted notebook})
CASES = {
    "ps1": [
        ("problem1", GUIDE / "source/ps1/problem1.ipynb",
         {s: GUIDE / f"submitted/{s}/ps1/problem1.ipynb" for s in ("bitdiddle", "hacker")}),
        ("problem2", GUIDE / "source/ps1/problem2.ipynb",
         {s: GUIDE / f"submitted/{s}/ps1/problem2.ipynb" for s in ("bitdiddle", "hacker")}),
    ],
    # nbgrader's own app tests grade its submitted-* files against submitted-unchanged as the source.
    "apps": [
        ("p1", APP_FILES / "submitted-unchanged.ipynb", {
            "unchanged": APP_FILES / "submitted-unchanged.ipynb",
            "changed": APP_FILES / "submitted-changed.ipynb",
            "cheat": APP_FILES / "submitted-cheat-attempt.ipynb",
            "cheatalt": APP_FILES / "submitted-cheat-attempt-alternative.ipynb",
            "gradecellchanged": APP_FILES / "submitted-grade-cell-changed.ipynb",
            "lockedcellchanged": APP_FILES / "submitted-locked-cell-changed.ipynb",
        }),
    ],
    # test.ipynb as the source, its full solution handed in as a submission.
    "test": [
        ("test", APP_FILES / "test.ipynb", {"solved": APP_FILES / "test.ipynb"}),
        ("hidden", APP_FILES / "test-hidden-tests.ipynb", {"solved": APP_FILES / "test-hidden-tests.ipynb"}),
    ],
    # beyond ordinary mistakes: a solution cell that hangs at the top level, one whose kernel dies
    # (os._exit), and a deleted grade cell, under nbgrader's default add_missing_cells=False ...
    "robust": [
        ("robust", ROBUST / "source.ipynb",
         {s: ROBUST / f"{s}.ipynb" for s in ("solved", "hang", "hang_in_call", "exit", "deleted")}),
    ],
    # ... and with add_missing_cells=True, which puts the deleted grade cell back and runs it.
    "added": [("robust", ROBUST / "source.ipynb", {"deleted": ROBUST / "deleted.ipynb"})],
}

# nbgrader settings per group, as its config lines and as grade_notebook's matching arguments (a short
# cell timeout, so the hanging cell costs seconds, not nbgrader's default 30).
SETTINGS = {
    "robust": ("c.Execute.timeout = 5\n", {"cell_seconds": 5}),
    "added": ("c.Execute.timeout = 5\nc.OverwriteCells.add_missing_cells = True\n",
              {"cell_seconds": 5, "add_missing_cells": True}),
}

# Where we differ from nbgrader on purpose (README, "nbgrader"): (group, notebook, student) -> our score.
# A kernel that dies makes nbgrader's autograde give up on the whole notebook (every grade 0); we keep
# the grade cells graded before the death and fail the one it happened under and all later ones.
DIFFERENCES = {("robust", "robust", "exit"): (1.0, 3.0)}


def nbgrader_scores(course: Path, assignment: str, notebooks: list,
                    config: str = "") -> tuple[dict[tuple[str, str], tuple[float, float]], str]:
    """{(notebook, student): (score, max_score)} from a real `nbgrader autograde` run (`config`: extra
    lines for its nbgrader_config.py), and autograde's log."""
    log = run_nbgrader(course, assignment, notebooks, config)
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for notebook, _, students in notebooks:
            for student in students:
                found = gb.find_submission_notebook(notebook, assignment, student)
                scores[(notebook, student)] = (float(found.score), float(found.max_score))
    return scores, log


def run_nbgrader(course: Path, assignment: str, notebooks: list, config: str = "") -> str:
    """A course in nbgrader's layout at `course`, through nbgrader's `generate_assignment` and
    `autograde` (which exits non-zero when a notebook fails, e.g. its kernel died: not an error here);
    returns autograde's output."""
    for notebook, source, students in notebooks:
        (course / "source" / assignment).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, course / "source" / assignment / f"{notebook}.ipynb")
        for student, path in students.items():
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, folder / f"{notebook}.ipynb")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.root = %r\nc.CourseDirectory.db_assignments = [dict(name=%r)]\n"
        % (str(course), assignment) + config)
    # nbgrader runs `alembic` and the kernel by name: the venv's bin folder must come first on PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "HOME": str(course), "JUPYTER_RUNTIME_DIR": str(course / ".runtime")}
    for command in (["generate_assignment", assignment, "--force"], ["autograde", assignment, "--force"]):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *command], cwd=course, env=env, text=True,
                              check=command[0] == "generate_assignment", capture_output=True, timeout=600)
    return done.stdout + done.stderr
