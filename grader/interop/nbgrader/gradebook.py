"""Export our reports into an nbgrader gradebook (its own `nbgrader.api.Gradebook`) for formgrader.

A report of `grader nbgrader grade` is one student's notebook: its tests are named
`<notebook>.ipynb::<grade_id>`, and each becomes the auto score of the grade cell `grade_id` of that
notebook, exactly where `nbgrader autograde` would put it. The notebook's cells come from the gradebook
when `nbgrader generate_assignment` already declared it there (our grade cells must then be the same
ones), and otherwise from the instructor's source notebook, as generate_assignment saves them (cell
types, points, locked cells, checksums). Tests the report left `not_run` because they are graded by
hand get no auto score, so formgrader lists them as needing manual grading.

The export is one transaction: everything or, when any step fails, nothing (the gradebook's database
is rolled back and no notebook is written). With a course folder it also writes what formgrader shows
for a submission, `autograded/<student>/<assignment>/<notebook>.ipynb`: the student's submitted notebook
with nbgrader's metadata put back from the source, as autograde writes it (outputs replaced by our
verdict for each failed test cell, never the student's own). A report that did not come from a
notebook (`grader grade`, the grading service) has no source or submitted notebook: formgrader gets a
notebook made from the report, one locked grade cell per test named by an id nbgrader accepts (its
page finds each score box by that id), its output our verdict. It writes only to that gradebook and
that folder, and never changes a report.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from grader.ingest.notebook_format import nbformat  # first: nbgrader.api imports nbformat too
from nbgrader.api import Gradebook, MissingEntry

from grader.errors import GraderError

MANUAL_PREFIX = "skipped: graded by hand"
SAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")  # nbgrader's grade_id alphabet; formgrader's page uses it in selectors


class ExportError(GraderError):
    """The reports cannot go into this gradebook as they are; nothing was written."""


@dataclass(frozen=True)
class Arrival:
    """When a student's submission arrived (an aware datetime) and the points a late policy takes off
    it; nbgrader keeps both (submission timestamp, notebook late_submission_penalty), and formgrader
    flags a submission later than the assignment's due date."""

    at: dt.datetime
    penalty: float = 0.0


@dataclass
class ExportSummary:
    """What an export wrote: reports recorded, autograded notebooks written, and why others were not."""

    reports: int = 0
    notebooks: list[Path] = field(default_factory=list)
    not_written: list[str] = field(default_factory=list)


def export_reports(reports: list[dict], db_url: str, assignment: str, course: Path | None = None) -> int:
    """Add `reports` to the gradebook at `db_url` under `assignment`; returns how many were written."""
    return export(reports, db_url, assignment, course).reports


def export(reports: list[dict], db_url: str, assignment: str, course: Path | None = None, *,
           due: dt.datetime | None = None, arrivals: dict[str, Arrival] | None = None) -> ExportSummary:
    """Add `reports` to the gradebook at `db_url` under `assignment`, and their autograded notebooks.

    `course` is the nbgrader course folder (source/, submitted/, autograded/); by default the folder of
    a SQLite gradebook, where nbgrader keeps it. `due` becomes the assignment's due date and
    `arrivals` ({student: Arrival}) the submissions' timestamps and late penalties; without them
    nbgrader's own stay as they are. All or nothing: on any error nothing is changed (a SQLite
    gradebook this call created is removed again).
    """
    _alembic_on_path()
    course = course if course is not None else _default_course(db_url)
    graded = [r for r in reports if r["status"] != "infra_error"]  # no score, so nothing to record
    masters = {nb: _master(course, assignment, nb) for nb in sorted({_notebook(r) for r in graded})}
    made = {nb for nb in masters if not any(_from_notebook(r) for r in graded if _notebook(r) == nb)}
    masters.update({nb: report_master([r for r in graded if _notebook(r) == nb]) for nb in made})
    created = _sqlite_file(db_url)
    created = created if created is not None and not created.exists() else None
    summary = ExportSummary(reports=len(graded))
    try:
        with tempfile.TemporaryDirectory(prefix="grader-nbgrader-export-") as staging, \
                Gradebook(db_url) as gb, _transaction(gb) as commit:
            gb.update_or_create_assignment(assignment, **({"duedate": _utc(due)} if due else {}))
            for notebook, master in masters.items():
                _declare_notebook(gb, assignment, notebook, master, graded)
            for report in graded:
                _record(gb, report, assignment, (arrivals or {}).get(report["submission"]["name"]))
            moves = _stage_autograded(graded, masters, made, course, assignment, Path(staging), summary)
            commit()  # the one real commit, after every step succeeded
            for staged, target in moves:  # formgrader's files, only once the grades are in
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(staged, target)
                summary.notebooks.append(target)
    except BaseException:
        if created is not None:
            created.unlink(missing_ok=True)
        raise
    return summary


def _sqlite_file(db_url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(db_url[len(prefix):]).resolve() if db_url.startswith(prefix) and db_url != prefix else None


@contextlib.contextmanager
def _transaction(gb: Gradebook) -> Iterator[Callable[[], None]]:
    """Gradebook's methods commit after each change; here they only flush, and the caller commits once
    with the function this yields. Any exception rolls everything back."""
    session = gb.db
    real_commit = session.commit
    session.commit = session.flush
    try:
        yield real_commit
    except BaseException:
        session.rollback()
        raise
    finally:
        session.commit = real_commit


def _notebook(report: dict) -> str:
    return report["assignment"]["id"]


def _from_notebook(report: dict) -> bool:
    """A report of `grader nbgrader grade`: its tests are `<notebook>.ipynb::<grade_id>`."""
    prefix = f"{_notebook(report)}.ipynb::"
    return any(t["name"].startswith(prefix) for t in report["tests"])


def _grade_id(report: dict, test: dict) -> str:
    """nbgrader's grade_id for a test of `grader nbgrader grade` (`<notebook>.ipynb::<grade_id>`); any
    other report's test (`tests/hidden/test_x.py::test_y[case]`) becomes letters, digits, `_` and `-`,
    with a digest of the full name so two names that read alike stay two cells."""
    prefix = f"{_notebook(report)}.ipynb::"
    if test["name"].startswith(prefix):
        return test["name"][len(prefix):]
    readable = SAFE_ID.sub("-", test["name"].removeprefix("tests/")).strip("-")[:80]
    return f"{readable}-{hashlib.sha256(test['name'].encode()).hexdigest()[:8]}"


def report_master(reports: list[dict]) -> nbformat.NotebookNode:
    """The notebook nbgrader would have had for reports that came from no notebook: a heading, then one
    locked grade cell per test (every test any of `reports` ran, in their order), worth its points."""
    from nbgrader.utils import compute_checksum  # noqa: PLC0415

    title = reports[0]["assignment"]["title"]
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(
        f"# {title}\n\nGraded by dl-grader: one cell per test, its output the grader's verdict where the "
        "test did not pass."))
    seen: set[str] = set()
    for report in reports:
        for test in report["tests"]:
            gid = _grade_id(report, test)
            if gid in seen:
                continue
            seen.add(gid)
            cell = nbformat.v4.new_code_cell(f"# test: {test['name']}\n# worth {test['max_score']:g} points")
            cell.metadata["nbgrader"] = {"grade": True, "solution": False, "task": False, "locked": True,
                                         "grade_id": gid, "points": float(test["max_score"]), "schema_version": 3}
            cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)
            nb.cells.append(cell)
    return nb


def _default_course(db_url: str) -> Path | None:
    path = _sqlite_file(db_url)
    return path.parent if path is not None else None


def _master(course: Path | None, assignment: str, notebook: str) -> nbformat.NotebookNode | None:
    """The notebook as generate_assignment saves it, from course/source/<assignment>/<notebook>.ipynb."""
    if course is None:
        return None
    source = course / "source" / assignment / f"{notebook}.ipynb"
    if not source.is_file():
        return None
    from grader.interop.nbgrader.compat import master_notebook  # noqa: PLC0415

    return master_notebook(nbformat.read(source, as_version=4))


def _declare_notebook(gb: Gradebook, assignment: str, notebook: str, master, reports: list[dict]) -> None:
    """Make sure the gradebook has the notebook's cells, and that they are the ones our reports grade."""
    ours = {_grade_id(r, t): float(t["max_score"]) for r in reports if _notebook(r) == notebook
            for t in r["tests"]}
    try:
        existing = gb.find_notebook(notebook, assignment)
    except MissingEntry:
        existing = None
    if existing is None or not existing.grade_cells and not existing.task_cells:
        _save_cells(gb, assignment, notebook, master, ours)
        existing = gb.find_notebook(notebook, assignment)
    theirs = {c.name: float(c.max_score) for c in [*existing.grade_cells, *existing.task_cells]}
    if ours != theirs:
        raise ExportError(f"gradebook notebook {assignment}/{notebook}: its grade cells "
                          f"{_describe(theirs)} differ from the reports' {_describe(ours)}; grade against the "
                          "source notebook this gradebook was generated from (nothing was written)")


def _describe(cells: dict) -> str:
    return "{" + ", ".join(f"{k}: {v:g}" for k, v in sorted(cells.items())) + "}"


def _save_cells(gb: Gradebook, assignment: str, notebook: str, master, ours: dict) -> None:
    """What nbgrader's SaveCells writes, from the master notebook (or from the reports without one)."""
    gb.update_or_create_notebook(notebook, assignment)
    if master is None:  # no source: the reports name the grade cells, their type is unknown (code)
        for name, points in ours.items():
            gb.update_or_create_grade_cell(name, notebook, assignment, max_score=points, cell_type="code")
            gb.update_or_create_source_cell(name, notebook, assignment, cell_type="code", locked=True,
                                            source="")
        return
    from grader.interop.nbgrader.compat import nbgrader_meta  # noqa: PLC0415

    for cell in master.cells:
        meta = nbgrader_meta(cell)
        name = meta.get("grade_id")
        if not name:
            continue
        if meta.get("grade"):
            gb.update_or_create_grade_cell(name, notebook, assignment, max_score=float(meta.get("points") or 0),
                                           cell_type=cell.cell_type)
        if meta.get("solution"):
            gb.update_or_create_solution_cell(name, notebook, assignment)
        if meta.get("task"):
            gb.update_or_create_task_cell(name, notebook, assignment, max_score=float(meta.get("points") or 0),
                                          cell_type=cell.cell_type)
        gb.update_or_create_source_cell(name, notebook, assignment, cell_type=cell.cell_type,
                                        locked=bool(meta.get("locked")), source=cell.source,
                                        checksum=meta.get("checksum"))


def _utc(when: dt.datetime) -> dt.datetime:
    """nbgrader stores naive UTC datetimes."""
    return when.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _record(gb: Gradebook, report: dict, assignment: str, arrival: Arrival | None) -> None:
    student, notebook = report["submission"]["name"], _notebook(report)
    gb.update_or_create_student(student)
    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        submission = gb.add_submission(assignment, student)
    if arrival is not None:
        submission.timestamp = _utc(arrival.at)
        gb.find_submission_notebook(notebook, assignment, student).late_submission_penalty = arrival.penalty
    for test in report["tests"]:
        grade = gb.find_grade(_grade_id(report, test), notebook, assignment, student)
        manual = test["status"] == "not_run" and test["message"].startswith(MANUAL_PREFIX)
        grade.auto_score = None if manual else test["score"]
        grade.needs_manual_grade = manual and grade.manual_score is None  # keep an instructor's grading
    gb.db.commit()


# -- the autograded notebooks formgrader opens ------------------------------------------------------

def _stage_autograded(reports: list[dict], masters: dict, made: set[str], course: Path | None, assignment: str,
                      staging: Path, summary: ExportSummary) -> list[tuple[Path, Path]]:
    """Each student's autograded notebook written under `staging`; (staged, final) pairs to move. For
    a notebook made from the reports (`made`) the student's cells are the made ones, verdicts theirs."""
    if course is None:
        summary.not_written.append("no nbgrader course folder, so no autograded notebooks")
        return []
    moves = []
    for report in reports:
        student, notebook = report["submission"]["name"], _notebook(report)
        submitted = course / "submitted" / student / assignment / f"{notebook}.ipynb"
        master = masters.get(notebook)
        if notebook in made:
            student_nb = copy.deepcopy(master)
        elif master is None or not submitted.is_file():  # formgrader lists the grades, but has no page
            missing = course / "source" / assignment / f"{notebook}.ipynb" if master is None else submitted
            summary.not_written.append(f"{student}/{notebook}: no {missing}")
            continue
        else:
            student_nb = _read_student(submitted)
        staged = staging / student / f"{notebook}.ipynb"
        staged.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(autograded_notebook(master, student_nb, report), staged)
        moves.append((staged, course / "autograded" / student / assignment / f"{notebook}.ipynb"))
    return moves


def _read_student(path: Path) -> nbformat.NotebookNode:
    from grader.errors import SubmissionError  # noqa: PLC0415
    from grader.ingest.notebook import parse_notebook, read_capped  # noqa: PLC0415

    try:
        return parse_notebook(read_capped(path), path)
    except SubmissionError:
        return nbformat.v4.new_notebook()  # unreadable: an empty notebook, its grade cells missing


def autograded_notebook(master: nbformat.NotebookNode, student: nbformat.NotebookNode,
                        report: dict) -> nbformat.NotebookNode:
    """The student's notebook as nbgrader's autograde saves it: ids deduplicated, each known cell given
    the master's nbgrader metadata and type (a changed locked cell its source back), outputs ours."""
    from grader.interop.nbgrader.compat import merged_cells  # noqa: PLC0415

    verdicts = {_grade_id(report, t): t for t in report["tests"]}
    out = nbformat.v4.new_notebook(metadata=master.metadata)
    out.nbformat_minor = min(student.get("nbformat_minor", 4), out.nbformat_minor)
    for number, cell in enumerate(merged_cells(master, student)):
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = _outputs(verdicts.get(gid)), None
        cell.pop("id", None)
        if out.nbformat_minor >= 5:  # cell ids from 4.5 on: present and unique
            cell["id"] = f"cell-{number}"
        out.cells.append(cell)
    return out


def _outputs(test: dict | None) -> list:
    if test is None or test["status"] == "passed" or test["message"].startswith(MANUAL_PREFIX):
        return []
    return [nbformat.v4.new_output("stream", name="stderr",
                                   text=f"grader: {test['status']} ({test['score']:g}/{test['max_score']:g})"
                                        f"\n{test['message']}\n")]


def _alembic_on_path() -> None:
    """nbgrader's Gradebook runs `alembic` by name; it sits beside our interpreter in a venv."""
    if shutil.which("alembic") is None:
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
