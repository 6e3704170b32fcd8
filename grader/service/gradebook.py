"""The instructor's gradebook from the job rows: students x assignments, a pure function.

Each cell counts the best or the last graded push (the course's `keep`), with the late policy applied
here, in the gradebook, and never by changing a report. A job that failed (fetch error, infra error) or
is still queued is shown but counts nothing: no score is never a zero. Writes nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from grader.service.config import ServiceConfig

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Cell:
    counted: dict | None = None            # the job whose score counts
    points: float | None = None            # its score after the late policy
    late: bool = False
    jobs: list[dict] = field(default_factory=list)   # every push, newest first

    @property
    def latest_state(self) -> str:
        return self.jobs[0]["state"] if self.jobs else ""


def gradebook(config: ServiceConfig, jobs: list[dict]) -> dict[str, dict[str, Cell]]:
    """{student id: {assignment: Cell}} for every roster student and configured assignment."""
    table = {s.id: {a: Cell() for a in sorted(config.deadlines)} for s in config.roster}
    for job in sorted(jobs, key=lambda j: j["received_at"], reverse=True):
        cell = table.setdefault(job["student"], {}).setdefault(job["assignment"], Cell())
        cell.jobs.append(job)
        if job["state"] != "done" or job["score"] is None:
            continue
        points = config.late.apply(job["score"], job["late_seconds"])
        better = cell.counted is None or (config.keep == "best" and points > (cell.points or 0.0))
        if better:
            cell.counted, cell.points, cell.late = job, points, job["late_seconds"] > 0
    return table


def max_points(jobs: list[dict]) -> dict[str, float]:
    """{assignment: its points} as the graded reports state them."""
    return {j["assignment"]: j["max_score"] for j in jobs if j["score"] is not None and j["max_score"] is not None}


def to_csv(config: ServiceConfig, jobs: list[dict]) -> str:
    """student, name, one column per assignment, total; a max-points row first; empty = no grade."""
    table, tops = gradebook(config, jobs), max_points(jobs)
    assignments = sorted(config.deadlines)
    names = {s.id: s.name for s in config.roster}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "name", *assignments, "late", "total"])
    writer.writerow(["(max points)", "", *[_number(tops.get(a)) for a in assignments], "",
                     _number(sum(tops.get(a, 0.0) for a in assignments))])
    for student in sorted(table):
        cells = [table[student].get(a) for a in assignments]
        points = [c.points for c in cells if c is not None and c.points is not None]
        late = [a for a, c in zip(assignments, cells) if c is not None and c.late]
        writer.writerow([_defuse(student), _defuse(names.get(student, "")),
                         *[_number(c.points if c else None) for c in cells], " ".join(late),
                         _number(sum(points)) if points else ""])
    return out.getvalue()


def _number(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x) == int(x) else f"{x:g}"


def _defuse(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text
