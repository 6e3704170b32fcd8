"""Export our reports into an nbgrader gradebook (its own `nbgrader.api.Gradebook`) for formgrader.

Each report becomes one submitted notebook: the notebook is named after the report's assignment id,
each test is a grade cell named after the test, its score the cell's auto score. Tests the report
left `not_run` because they are graded by hand get no auto score, so formgrader lists them as needing
manual grading. It writes only to the gradebook it is given and never changes a report.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

MANUAL_PREFIX = "skipped: graded by hand"


def export_reports(reports: list[dict], db_url: str, assignment: str) -> int:
    """Add `reports` to the gradebook at `db_url` under `assignment`; returns how many were written."""
    _alembic_on_path()
    graded = [r for r in reports if r["status"] != "infra_error"]  # no score, so nothing to record
    with Gradebook(db_url) as gb:
        gb.update_or_create_assignment(assignment)
        for report in graded:
            _declare_notebook(gb, report, assignment)
        for report in graded:
            _record(gb, report, assignment)
    return len(graded)


def _declare_notebook(gb: Gradebook, report: dict, assignment: str) -> None:
    notebook = report["assignment"]["id"]
    gb.update_or_create_notebook(notebook, assignment)
    for test in report["tests"]:
        gb.update_or_create_grade_cell(test["name"], notebook, assignment, max_score=test["max_score"],
                                       cell_type="code")
        gb.update_or_create_source_cell(test["name"], notebook, assignment, cell_type="code",
                                        locked=True, source="")


def _record(gb: Gradebook, report: dict, assignment: str) -> None:
    student, notebook = report["submission"]["name"], report["assignment"]["id"]
    gb.update_or_create_student(student)
    try:
        gb.find_submission(assignment, student)
    except MissingEntry:
        gb.add_submission(assignment, student)
    for test in report["tests"]:
        grade = gb.find_grade(test["name"], notebook, assignment, student)
        manual = test["status"] == "not_run" and test["message"].startswith(MANUAL_PREFIX)
        grade.auto_score = None if manual else test["score"]
        grade.needs_manual_grade = manual
    gb.db.commit()


def _alembic_on_path() -> None:
    """nbgrader's Gradebook runs `alembic` by name; it sits beside our interpreter in a venv."""
    if shutil.which("alembic") is None:
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
