"""Reports of a batch as a CSV gradebook: one row per student, one column per assignment; pure.

Made for spreadsheets and LMS imports: a header row, plain numbers, an empty cell where a grade is
missing or the grader failed (never a zero for our fault), the newest report winning when a student
has several for one assignment, and cells a spreadsheet would run as a formula defused.
"""

from __future__ import annotations

import csv
import io

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def to_gradebook_csv(reports: list[dict], *, total: bool = True) -> str:
    """CSV text with columns student, each assignment id (sorted), and total."""
    grades, assignments = _latest(reports)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", *assignments, *(["total"] if total else [])])
    for student in sorted(grades):
        row = [grades[student].get(a) for a in assignments]
        cells = ["" if r is None or r["score"] is None else _number(r["score"]) for r in row]
        earned = [r["score"] for r in row if r is not None and r["score"] is not None]
        writer.writerow([_defuse(student), *cells, *([_number(sum(earned))] if total else [])])
    return out.getvalue()


def max_points_row(reports: list[dict]) -> dict[str, float]:
    """{assignment id: max score} as the reports state it."""
    return {r["assignment"]["id"]: r["max_score"] for r in reports}


def _latest(reports: list[dict]) -> tuple[dict[str, dict[str, dict]], list[str]]:
    grades: dict[str, dict[str, dict]] = {}
    for report in reports:
        student, assignment = report["submission"]["name"], report["assignment"]["id"]
        current = grades.setdefault(student, {}).get(assignment)
        if current is None or report["timings"]["finished"] >= current["timings"]["finished"]:
            grades[student][assignment] = report
    return grades, sorted({r["assignment"]["id"] for r in reports})


def _number(x: float) -> str:
    return f"{x:g}" if float(x) != int(x) else str(int(x))


def _defuse(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text
