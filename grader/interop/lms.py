"""Grades for learning-management systems: Canvas's and Moodle's gradebook import CSVs, the roster
that maps our submission names to their user ids, and the instructor's overrides file.

Every format is a pure function of one `Gradebook` (grader.report.views.gradebook.gradebook_table),
so an override counts the same in each and no report is ever edited. An empty cell (no report, or
a report without a score: our failure) stays empty, which both systems read as "leave unchanged",
never as a zero. Loaders read the instructor's files and fail with the file, line and column at fault.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GraderError
from grader.report.views.gradebook import Gradebook, Override, defuse, gradebook_table, number, to_gradebook_csv

OVERRIDE_COLUMNS = ("student", "assignment", "points", "extra_credit", "reason")
ROSTER_COLUMNS = ("student", "name", "canvas_id", "sis_user_id", "section", "email", "idnumber")
CANVAS_POINTS_ROW = "    Points Possible"  # how Canvas's own export labels its second row
FORMATS = ("csv", "canvas", "moodle")


@dataclass(frozen=True)
class RosterEntry:
    student: str
    name: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    section: str = ""
    email: str = ""
    idnumber: str = ""


def load_overrides(path: Path) -> list[Override]:
    """The overrides file: CSV with columns student, assignment, points, extra_credit, reason;
    exactly one of points and extra_credit per row, and a reason always."""
    overrides, seen = [], {}
    for line, row in _rows(path, OVERRIDE_COLUMNS, required=("student", "assignment", "reason")):
        where = f"{path}:{line}"
        points, extra = _number(row.get("points"), where, "points"), _number(row.get("extra_credit"), where,
                                                                              "extra_credit")
        if (points is None) == (extra is None):
            raise GraderError(f"{where}: give exactly one of points and extra_credit")
        if points is not None and points < 0:
            raise GraderError(f"{where}: points must be 0 or more, not {points:g}")
        key = (row["student"], row["assignment"])
        if key in seen:
            raise GraderError(f"{where}: a second override for {key[0]} and {key[1]} (the first is on line "
                              f"{seen[key]}); keep one")
        seen[key] = line
        overrides.append(Override(student=row["student"], assignment=row["assignment"], reason=row["reason"],
                                  points=points, extra_credit=extra, where=where))
    return overrides


def load_roster(path: Path) -> dict[str, RosterEntry]:
    """{our submission name: the student's ids in the LMS} from a CSV with a `student` column."""
    roster: dict[str, RosterEntry] = {}
    for line, row in _rows(path, ROSTER_COLUMNS, required=("student",)):
        if row["student"] in roster:
            raise GraderError(f"{path}:{line}: student {row['student']!r} is listed twice")
        roster[row["student"]] = RosterEntry(**{k: row.get(k, "") for k in ROSTER_COLUMNS})
    return roster


def to_canvas_csv(book: Gradebook, roster: dict[str, RosterEntry], lms_ids: dict[str, str]) -> str:
    """Canvas's gradebook import: Student, ID, SIS User ID, Section, one `Title (id)` column per
    assignment (no id: Canvas creates the assignment), then a Points Possible row."""
    people = _people(book, roster, "canvas", lambda e: e.canvas_id or e.sis_user_id, "canvas_id or sis_user_id")
    columns = [f"{book.titles[a]} ({lms_ids[a]})" if a in lms_ids else book.titles[a] for a in book.assignments]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Student", "ID", "SIS User ID", "Section", *columns])
    writer.writerow([CANVAS_POINTS_ROW, "", "", "", *(number(book.max_points[a]) for a in book.assignments)])
    for student, entry in people:
        writer.writerow([defuse(entry.name or student), entry.canvas_id, defuse(entry.sis_user_id),
                         defuse(entry.section), *(number(book.cell(student, a).score) for a in book.assignments)])
    return out.getvalue()


def to_moodle_csv(book: Gradebook, roster: dict[str, RosterEntry]) -> str:
    """Moodle's "Import grades: CSV file": an identifier column to map users by (Email address or
    ID number), a name, and one column per assignment to map to its grade item. No max-points row:
    Moodle would read it as a user; the grade item holds the maximum."""
    people = _people(book, roster, "moodle", lambda e: e.email or e.idnumber, "email or idnumber")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Email address", "ID number", "Full name", *(book.titles[a] for a in book.assignments)])
    for student, entry in people:
        writer.writerow([defuse(entry.email), defuse(entry.idnumber), defuse(entry.name or student),
                         *(number(book.cell(student, a).score) for a in book.assignments)])
    return out.getvalue()


def gradebook_options(p: argparse.ArgumentParser) -> None:
    """`grader report gradebook`'s options for LMS formats and overrides."""
    p.add_argument("--to", choices=FORMATS, default="csv",
                   help="csv (ours: max-points row, notes), canvas or moodle (their import formats)")
    p.add_argument("--overrides", type=Path, help="CSV: student, assignment, points, extra_credit, reason")
    p.add_argument("--roster", type=Path, help="CSV: student, name, canvas_id, sis_user_id, section, email, "
                                               "idnumber (canvas and moodle need it)")
    p.add_argument("--lms-id", action="append", default=[], metavar="ASSIGNMENT=ID",
                   help="the LMS's id of an assignment, e.g. 05-backprop=48213 (Canvas column headers)")


def gradebook_text(reports: list[dict], args: argparse.Namespace) -> str:
    """The gradebook in the format `args` ask for (see gradebook_options)."""
    overrides = load_overrides(args.overrides) if getattr(args, "overrides", None) else []
    fmt = getattr(args, "to", "csv")
    if fmt == "csv":
        return _checked(lambda: to_gradebook_csv(reports, overrides=overrides))
    if not args.roster:
        raise GraderError(f"--to {fmt} needs --roster: the LMS knows students by its own ids")
    book = _checked(lambda: gradebook_table(reports, overrides))
    roster = load_roster(args.roster)
    if fmt == "canvas":
        return to_canvas_csv(book, roster, _lms_ids(args.lms_id))
    return to_moodle_csv(book, roster)


def override_for(report: dict, overrides_file: Path | None) -> Override | None:
    """The override, if any, that the instructor's file holds for this report."""
    if overrides_file is None:
        return None
    key = (report["submission"]["name"], report["assignment"]["id"])
    return next((o for o in load_overrides(overrides_file) if (o.student, o.assignment) == key), None)


def _people(book: Gradebook, roster: dict[str, RosterEntry], lms: str, ident, what: str
            ) -> list[tuple[str, RosterEntry]]:
    missing = [s for s in book.students if s not in roster]
    if missing:
        raise GraderError(f"the roster has no row for {', '.join(missing)}: their grades would be lost in {lms}")
    unnamed = [s for s in book.students if not ident(roster[s])]
    if unnamed:
        raise GraderError(f"{lms} needs {what} in the roster for {', '.join(unnamed)}")
    return [(s, roster[s]) for s in book.students]


def _lms_ids(pairs: list[str]) -> dict[str, str]:
    ids = {}
    for pair in pairs:
        assignment, sep, lms_id = pair.partition("=")
        if not sep or not assignment or not lms_id.strip().isdigit():
            raise GraderError(f"--lms-id {pair!r}: expected ASSIGNMENT=NUMBER, e.g. 05-backprop=48213")
        ids[assignment] = lms_id.strip()
    return ids


def _rows(path: Path, known: tuple[str, ...], *, required: tuple[str, ...]):
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise GraderError(f"{path}: cannot read ({exc.strerror})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in known]
    if unknown or not set(required) <= set(header):
        raise GraderError(f"{path}: columns must be among {', '.join(known)} and include "
                          f"{', '.join(required)}; found {', '.join(header) or 'none'}")
    for row in reader:
        row = {k: (v or "").strip() for k, v in row.items() if k is not None}
        for column in required:
            if not row.get(column):
                raise GraderError(f"{path}:{reader.line_num}: {column} is empty")
        yield reader.line_num, row


def _number(text: str | None, where: str, column: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise GraderError(f"{where}: {column} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise GraderError(f"{where}: {column} must be a finite number")
    return value


def _checked(make):
    try:
        return make()
    except ValueError as exc:  # an override naming no report
        raise GraderError(str(exc)) from None
