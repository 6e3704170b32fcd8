"""Reports of a batch as a gradebook: one row per student, one column per assignment; pure functions.

`gradebook_table` decides each cell once (the newest report wins when a student has several for one
assignment; a late submission keeps the share of its score the course's late policy leaves; an
instructor's override then replaces the points or adds extra credit; never by editing a report) and
every gradebook view (this CSV, Canvas, Moodle in grader.interop.lms) formats that table.

The CSV is made for spreadsheets: a header row, a `(max points)` row, plain numbers, an empty cell
where a grade is missing or the grader failed (never a zero for our fault), an empty total while one
of the student's reports has no score (a regrade is pending: a partial sum would understate the
grade), a notes column saying why, and cells a spreadsheet would run as a formula defused.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_ROW_LABEL = "(max points)"
NO_SCORE = ("infra_error", "skipped")  # statuses whose report carries no score (our side failed)


@dataclass(frozen=True)
class Override:
    """An instructor's decision for one student and assignment: `points` replaces the grade,
    `extra_credit` is added on top (past the maximum if need be); `reason` is required."""

    student: str
    assignment: str
    reason: str
    points: float | None = None
    extra_credit: float | None = None
    where: str = ""  # file:line it came from, for messages


@dataclass(frozen=True)
class Lateness:
    """A submission handed in `seconds` after its deadline; `factor` is the share of the score the
    course's late policy leaves (1 takes nothing off, 0 is a cutoff); `policy` says it in words."""

    seconds: float
    factor: float
    policy: str

    def describe(self) -> str:
        """'late 1 d 2 h (10% per day started): -10%' for notes and LMS comments."""
        taken = round((1 - self.factor) * 100, 2)
        penalty = f": -{number(taken)}%" if taken else ""
        return f"late {late_span(self.seconds)} ({self.policy}){penalty}"


@dataclass(frozen=True)
class Cell:
    """One grade: `score` None means no grade (no report, or none with a score)."""

    score: float | None
    status: str  # the report's status, or "missing"
    report_score: float | None = None
    override: Override | None = None
    late: Lateness | None = None

    @property
    def pending(self) -> bool:
        """Our side failed and no instructor decided: the grade is still to come."""
        return self.status in NO_SCORE and self.override is None


@dataclass(frozen=True)
class Gradebook:
    assignments: list[str]
    titles: dict[str, str]
    max_points: dict[str, float]
    students: list[str]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)

    def cell(self, student: str, assignment: str) -> Cell:
        return self.cells.get((student, assignment), Cell(None, "missing"))

    def total(self, student: str) -> float | None:
        """Sum of the student's grades; None while one of them is pending."""
        row = [self.cell(student, a) for a in self.assignments]
        if any(c.pending for c in row):
            return None
        return _round(sum(c.score for c in row if c.score is not None))

    def total_max(self) -> float:
        return _round(sum(self.max_points.values()))


def gradebook_table(reports: list[dict], overrides: list[Override] | tuple = (),
                    lateness: dict[tuple[str, str], Lateness] | None = None) -> Gradebook:
    """The grades of `reports`, each late one ((student, assignment) in `lateness`) given the share its
    policy leaves, then `overrides` applied; an override naming no report is an error."""
    latest = _latest(reports)
    assignments = sorted({a for _, a in latest})
    lateness = lateness or {}
    cells = {key: _late_cell(r, lateness.get(key)) for key, r in latest.items()}
    for override in overrides:
        key = (override.student, override.assignment)
        if key not in cells:
            raise ValueError(f"{override.where or 'override'}: no report for student {override.student!r} "
                             f"and assignment {override.assignment!r}; check the spelling")
        cells[key] = _apply(cells[key], override)
    return Gradebook(
        assignments=assignments,
        titles={r["assignment"]["id"]: r["assignment"]["title"] for r in latest.values()},
        max_points={a: max(r["max_score"] for (_, b), r in latest.items() if b == a) for a in assignments},
        students=sorted({s for s, _ in latest}), cells=cells)


def _late_cell(report: dict, late: Lateness | None) -> Cell:
    score = report["score"]
    if late is not None and score is not None:
        score = _round(score * late.factor)
    return Cell(score, report["status"], report["score"], late=late)


def _apply(cell: Cell, override: Override) -> Cell:
    """Points replace the grade, late penalty included (the instructor's last word); extra credit is
    added to the grade after the penalty."""
    if override.points is not None:
        score = override.points
    else:
        score = (cell.score or 0) + (override.extra_credit or 0) if not cell.pending else None
    return Cell(None if score is None else _round(score), cell.status, cell.report_score, override, cell.late)


def to_gradebook_csv(reports: list[dict], *, total: bool = True, overrides: list[Override] | tuple = (),
                     lateness: dict[tuple[str, str], Lateness] | None = None) -> str:
    """CSV text: student, each assignment id (sorted), total, notes; a max-points row first."""
    book = gradebook_table(reports, overrides, lateness)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", *book.assignments, *(["total"] if total else []), "notes"])
    writer.writerow([MAX_ROW_LABEL, *(number(book.max_points[a]) for a in book.assignments),
                     *([number(book.total_max())] if total else []), ""])
    for student in book.students:
        row = [book.cell(student, a) for a in book.assignments]
        writer.writerow([defuse(student), *(number(c.score) for c in row),
                         *([number(book.total(student))] if total else []),
                         defuse(notes(book, student))])
    return out.getvalue()


def notes(book: Gradebook, student: str) -> str:
    """Why a cell is empty or differs from its report, for the instructor."""
    found = []
    for assignment in book.assignments:
        cell = book.cell(student, assignment)
        if cell.late is not None:
            found.append(f"{assignment}: {late_note(cell)}")
        if cell.override is not None:
            o = cell.override
            what = f"set to {number(o.points)}" if o.points is not None else f"+{number(o.extra_credit)} extra"
            found.append(f"{assignment}: override {what} (report: {number(cell.report_score) or 'no score'}; "
                         f"{o.reason})")
        elif cell.pending:
            found.append(f"{assignment}: not graded ({cell.status}), regrade pending")
    return "; ".join(found)


def late_note(cell: Cell) -> str:
    """What lateness did to this cell: 'late 1 d 2 h (…): -10%, report 50 -> 45'; '' when on time."""
    if cell.late is None:
        return ""
    if cell.report_score is None:
        return f"{cell.late.describe()} (no score yet)"
    late_score = _round(cell.report_score * cell.late.factor)
    return f"{cell.late.describe()}, report {number(cell.report_score)} -> {number(late_score)}"


def late_span(seconds: float) -> str:
    """'2 d 3 h', '4 h 10 min', '35 s': how late, to the unit that matters."""
    whole = int(seconds)
    days, hours, minutes = whole // 86400, whole % 86400 // 3600, whole % 3600 // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{max(whole, 1)} s"


def max_points_row(reports: list[dict]) -> dict[str, float]:
    """{assignment id: max score} as the reports state it."""
    return {r["assignment"]["id"]: r["max_score"] for r in reports}


def _latest(reports: list[dict]) -> dict[tuple[str, str], dict]:
    grades: dict[tuple[str, str], dict] = {}
    for report in reports:
        key = (report["submission"]["name"], report["assignment"]["id"])
        current = grades.get(key)
        if current is None or report["timings"]["finished"] >= current["timings"]["finished"]:
            grades[key] = report
    return grades


def number(x: float | None) -> str:
    """'' for None, '3' for 3.0, '2.5' for 2.5."""
    if x is None:
        return ""
    return f"{x:g}" if float(x) != int(x) else str(int(x))


def defuse(text: str) -> str:
    """A cell a spreadsheet would run as a formula, quoted."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _round(x: float) -> float:
    return round(x, 6) if x != int(x) else int(x)
