"""Grades for learning-management systems: Canvas's and Moodle's gradebook import CSVs, the roster
that maps our submission names to their user ids, and the instructor's overrides file.

Every format is a pure function of one `Gradebook` (grader.report.views.gradebook.gradebook_table),
so an override or a late penalty counts the same in each and no report is ever edited. An empty cell
(no report, or a report without a score: our failure) stays empty, never a zero. Loaders read the
instructor's files and fail with the file, line and column at fault.

Lateness needs two facts a report does not hold. The deadlines and the late policy come from the
course's `course.toml` ([assignments.<id>] deadline, [late]), read by the grading service's own
parser so both mean the same (the CLI loads them: interop does not import the service). When each submission arrived comes from a CSV the instructor exports
from a record the student cannot write (the LMS's submission times, the forge's push log, the
service's received_at): not a commit's date, which the student's git sets (`git commit --date`,
GIT_COMMITTER_DATE), and not a file's mtime, which any copy or unzip rewrites.

What each LMS import can carry: Canvas's CSV sets scores and the content of custom columns that
already exist in the course (a header it does not know becomes a new assignment; a submission's
late status cannot be imported), so the score is the penalised one and the flag goes to a custom
column only when the instructor names one. Moodle's CSV maps each column to a grade item or to the
feedback of one, so the penalised grade goes with a feedback column that says why.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from grader.errors import GraderError
from grader.report.views.gradebook import (Gradebook, Lateness, Override, defuse, gradebook_table, late_note,
                                           number, to_gradebook_csv)

OVERRIDE_COLUMNS = ("student", "assignment", "points", "extra_credit", "reason")
ROSTER_COLUMNS = ("student", "name", "canvas_id", "sis_user_id", "sis_login_id", "section", "email", "idnumber")
SUBMITTED_COLUMNS = ("student", "assignment", "submitted_at")
CANVAS_POINTS_ROW = "    Points Possible"  # how Canvas's own export labels its second row
# Canvas's importer reads SIS User ID only when SIS Login ID follows it, and then wants Section next
CANVAS_PEOPLE = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
FORMATS = ("csv", "canvas", "moodle")


class LatePolicy(Protocol):
    """What a late policy offers (grader.service.config.LatePolicy is the one course.toml gives)."""

    kind: str
    percent_per_day: float

    def apply(self, score: float, late_seconds: float) -> float: ...


@dataclass(frozen=True)
class Deadlines:
    """The course's deadlines ({assignment id: due, None for none}) and late policy, from course.toml
    (grader.service.gradebook.course_deadlines reads them with the service's own parser)."""

    due: dict[str, dt.datetime | None]
    policy: LatePolicy
    source: Path


@dataclass(frozen=True)
class RosterEntry:
    student: str
    name: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
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


def to_canvas_csv(book: Gradebook, roster: dict[str, RosterEntry], lms_ids: dict[str, str], *,
                  late_column: str | None = None) -> str:
    """Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then `late_column`
    (a custom column the course already has, where Canvas reads custom columns) when given, one
    `Title (id)` column per assignment (no id: Canvas creates the assignment), a Points Possible row.
    A late submission's score is already penalised: Canvas applies its own late policy only to
    submissions made in Canvas."""
    people = _people(book, roster, "canvas", lambda e: e.canvas_id or e.sis_user_id, "canvas_id or sis_user_id")
    columns = [f"{book.titles[a]} ({lms_ids[a]})" if a in lms_ids else book.titles[a] for a in book.assignments]
    custom = [late_column] if late_column else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CANVAS_PEOPLE, *custom, *columns])
    writer.writerow([CANVAS_POINTS_ROW, "", "", "", "", *([""] * len(custom)),
                     *(number(book.max_points[a]) for a in book.assignments)])
    for student, entry in people:
        flags = [defuse(_late_flags(book, student))] if custom else []
        writer.writerow([defuse(entry.name or student), entry.canvas_id, defuse(entry.sis_user_id),
                         defuse(entry.sis_login_id), defuse(entry.section), *flags,
                         *(number(book.cell(student, a).score) for a in book.assignments)])
    return out.getvalue()


def to_moodle_csv(book: Gradebook, roster: dict[str, RosterEntry], *, feedback: bool = False) -> str:
    """Moodle's "Import grades: CSV file": an identifier column to map users by (Email address or
    ID number), a name, and one column per assignment to map to its grade item. No max-points row:
    Moodle would read it as a user; the grade item holds the maximum. With `feedback` (lateness was
    given), a `<Title> (feedback)` column after each grade, to map to that item's feedback: why a late
    grade is lower; empty for work on time. Moodle reads an empty grade as "no grade", which replaces
    a grade the item had (Canvas leaves a blank unchanged)."""
    people = _people(book, roster, "moodle", lambda e: e.email or e.idnumber, "email or idnumber")
    header = []
    for a in book.assignments:
        header += [book.titles[a], f"{book.titles[a]} (feedback)"] if feedback else [book.titles[a]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Email address", "ID number", "Full name", *header])
    for student, entry in people:
        cells = []
        for a in book.assignments:
            cell = book.cell(student, a)
            cells += [number(cell.score), defuse(late_note(cell))] if feedback else [number(cell.score)]
        writer.writerow([defuse(entry.email), defuse(entry.idnumber), defuse(entry.name or student), *cells])
    return out.getvalue()


def load_submitted(path: Path) -> dict[tuple[str, str], dt.datetime]:
    """{(student, assignment): when it arrived} from a CSV: student, assignment, submitted_at (ISO 8601
    with a UTC offset, e.g. 2026-12-20T23:59:00Z)."""
    times: dict[tuple[str, str], dt.datetime] = {}
    for line, row in _rows(path, SUBMITTED_COLUMNS, required=SUBMITTED_COLUMNS):
        where = f"{path}:{line}"
        try:
            when = dt.datetime.fromisoformat(row["submitted_at"])
        except ValueError:
            raise GraderError(f"{where}: submitted_at {row['submitted_at']!r} is not an ISO 8601 date-time, "
                              "e.g. 2026-12-20T23:59:00Z") from None
        if when.tzinfo is None:
            raise GraderError(f"{where}: submitted_at {row['submitted_at']!r} has no UTC offset; add Z or +01:00")
        key = (row["student"], row["assignment"])
        if key in times:
            raise GraderError(f"{where}: a second time for {key[0]} and {key[1]}; keep the one that was graded")
        times[key] = when
    return times


def lateness(reports: list[dict], deadlines: Deadlines, submitted: dict[tuple[str, str], dt.datetime],
             submitted_file: Path | str = "the submission times") -> dict[tuple[str, str], Lateness]:
    """{(student, assignment): Lateness} for each report handed in after its assignment's deadline.
    An assignment without a deadline is never late; a report under a deadline without a time is an
    error (on time is a claim, not a default)."""
    found: dict[tuple[str, str], Lateness] = {}
    for report in reports:
        key = (report["submission"]["name"], report["assignment"]["id"])
        due = deadlines.due.get(key[1])
        if due is None or key in found:
            continue
        if key not in submitted:
            raise GraderError(f"{submitted_file}: no submitted_at for student {key[0]!r} and assignment "
                              f"{key[1]!r}, which has a deadline in {deadlines.source}")
        seconds = (submitted[key] - due).total_seconds()
        if seconds > 0:
            found[key] = Lateness(seconds, deadlines.policy.apply(1.0, seconds), _policy_words(deadlines.policy))
    return found


def _policy_words(policy: LatePolicy) -> str:
    if policy.kind == "cutoff":
        return "cutoff: late work scores 0"
    if policy.kind == "percent_per_day" and policy.percent_per_day:
        return f"{number(policy.percent_per_day)}% off per day started"
    return "no late penalty"


def _late_flags(book: Gradebook, student: str) -> str:
    """One line for Canvas's custom column: each late assignment and what it cost."""
    return "; ".join(f"{book.titles[a]}: {late_note(book.cell(student, a))}" for a in book.assignments
                     if book.cell(student, a).late is not None)


def gradebook_options(p: argparse.ArgumentParser) -> None:
    """`grader report gradebook`'s options for LMS formats and overrides."""
    p.add_argument("--to", choices=FORMATS, default="csv",
                   help="csv (ours: max-points row, notes), canvas or moodle (their import formats)")
    p.add_argument("--overrides", type=Path, help="CSV: student, assignment, points, extra_credit, reason")
    p.add_argument("--roster", type=Path, help="CSV: student, name, canvas_id, sis_user_id, sis_login_id, "
                                               "section, email, idnumber (canvas and moodle need it)")
    p.add_argument("--lms-id", action="append", default=[], metavar="ASSIGNMENT=ID",
                   help="the LMS's id of an assignment, e.g. 05-backprop=48213 (Canvas column headers)")
    p.add_argument("--deadlines", type=Path, metavar="COURSE_TOML",
                   help="course.toml whose [assignments.<id>] deadline and [late] policy apply (with "
                        "--submitted-at)")
    p.add_argument("--submitted-at", type=Path, metavar="CSV",
                   help="CSV: student, assignment, submitted_at (ISO 8601 with offset), from a record the "
                        "student cannot write: the LMS's submission times or the forge's push log")
    p.add_argument("--canvas-late-column", metavar="TITLE",
                   help="a custom gradebook column the Canvas course already has, for the late flags "
                        "(Canvas makes an unknown column a new assignment)")


def gradebook_text(reports: list[dict], args: argparse.Namespace, deadlines: Deadlines | None = None) -> str:
    """The gradebook in the format `args` ask for (see gradebook_options); `deadlines` are those of
    `args.deadlines`, loaded by the caller."""
    overrides = load_overrides(args.overrides) if getattr(args, "overrides", None) else []
    late = _lateness_of(reports, args, deadlines)
    fmt = getattr(args, "to", "csv")
    if fmt == "csv":
        return _checked(lambda: to_gradebook_csv(reports, overrides=overrides, lateness=late))
    if not args.roster:
        raise GraderError(f"--to {fmt} needs --roster: the LMS knows students by its own ids")
    book = _checked(lambda: gradebook_table(reports, overrides, late))
    roster = load_roster(args.roster)
    if fmt == "canvas":
        return to_canvas_csv(book, roster, _lms_ids(args.lms_id), late_column=getattr(args, "canvas_late_column",
                                                                                     None))
    return to_moodle_csv(book, roster, feedback=late is not None)


def _lateness_of(reports: list[dict], args: argparse.Namespace, deadlines: Deadlines | None
                 ) -> dict[tuple[str, str], Lateness] | None:
    times = getattr(args, "submitted_at", None)
    if (getattr(args, "deadlines", None) is None) != (times is None):
        raise GraderError("lateness needs both --deadlines course.toml (when work is due, the late policy) "
                          "and --submitted-at times.csv (when each submission arrived)")
    if getattr(args, "canvas_late_column", None) and (deadlines is None or getattr(args, "to", "") != "canvas"):
        raise GraderError("--canvas-late-column is for --to canvas with --deadlines and --submitted-at")
    if getattr(args, "canvas_late_column", None) in (*CANVAS_PEOPLE, "Points Possible"):
        raise GraderError(f"--canvas-late-column {args.canvas_late_column!r} is one of Canvas's own columns; "
                          "name the custom column you made for the flags")
    if times is None:
        return None
    if deadlines is None:
        raise GraderError(f"--deadlines {args.deadlines}: not loaded (grader.service.gradebook.course_deadlines)")
    return lateness(reports, deadlines, load_submitted(times), times)


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
