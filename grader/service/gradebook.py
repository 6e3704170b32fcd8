"""The instructor's gradebook from the job rows: students x assignments, a pure function.

Each cell counts the best or the last graded push (the course's `keep`), with the late policy applied
here, in the gradebook, and never by changing a report. A job that failed (fetch error, infra error) or
is still queued is shown but counts nothing: no score is never a zero. Writes nothing, except the
nbgrader course folder `nbgrader_course` is asked to write.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import GraderError, SpecError
from grader.interop.lms import Deadlines, load_overrides
from grader.report.views.gradebook import Override
from grader.service.config import ServiceConfig, _deadlines, _late

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Cell:
    counted: dict | None = None            # the job whose score counts
    points: float | None = None            # its score after the late policy
    late: bool = False
    jobs: list[dict] = field(default_factory=list)   # every push, newest first
    override: Override | None = None       # the instructor's decision, applied after the late policy

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
    for override in load_overrides(config.overrides) if config.overrides else ():
        cell = table.setdefault(override.student, {}).setdefault(override.assignment, Cell())
        cell.override = override
        if override.points is not None:
            cell.points = override.points
        elif cell.points is not None:  # extra credit is added to a grade; without one there is none yet
            cell.points += override.extra_credit or 0.0
    return table


def course_deadlines(path: Path, course: Path) -> Deadlines:
    """[assignments.<id>] deadline and [late] of a course.toml, parsed as the service parses them (its
    other tables are not read), for `grader report gradebook --deadlines` and the LMS exports."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GraderError(f"--deadlines {path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise GraderError(f"--deadlines {path}: not valid TOML: {exc}") from None
    try:
        deadlines = _deadlines(path, data.get("assignments", {}), course)
        policy = _late(data.get("late", {}), path)
    except SpecError as exc:
        raise GraderError(str(exc)) from None
    return Deadlines({a: d.due for a, d in deadlines.items()}, policy, path)


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
    writer.writerow(["student", "name", *assignments, "late", "total", "overrides"])
    writer.writerow(["(max points)", "", *[_number(tops.get(a)) for a in assignments], "",
                     _number(sum(tops.get(a, 0.0) for a in assignments)), ""])
    for student in sorted(table):
        cells = [table[student].get(a) for a in assignments]
        points = [c.points for c in cells if c is not None and c.points is not None]
        late = [a for a, c in zip(assignments, cells) if c is not None and c.late]
        decided = "; ".join(f"{a}: {c.override.reason}" for a, c in zip(assignments, cells) if c and c.override)
        writer.writerow([_defuse(student), _defuse(names.get(student, "")),
                         *[_number(c.points if c else None) for c in cells], " ".join(late),
                         _number(sum(points)) if points else "", _defuse(decided)])
    return out.getvalue()


def _number(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x) == int(x) else f"{x:g}"


def _defuse(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def nbgrader_course(config: ServiceConfig, jobs: list[dict], assignment: str, report_of: Callable[[int], dict],
                    folder: Path) -> list[Path]:
    """`folder` made an nbgrader course for formgrader: gradebook.db with each student's counted report
    of `assignment`, and autograded/<student>/<assignment>/<notebook>.ipynb for each (what
    `grader nbgrader export` writes). Each submission's timestamp is when the service received it and
    its late penalty the points the course's policy took off, against the assignment's deadline, so
    formgrader flags the late ones. Returns the files written, relative to `folder`."""
    from grader.interop.nbgrader.gradebook import Arrival, export  # noqa: PLC0415 (nbgrader is heavy)

    counted = [cells[assignment] for cells in gradebook(config, jobs).values()
               if assignment in cells and cells[assignment].counted]
    reports, arrivals = [], {}
    for cell in counted:
        report = report_of(cell.counted["id"])
        reports.append(report)
        arrivals[report["submission"]["name"]] = Arrival(
            dt.datetime.fromtimestamp(cell.counted["received_at"], dt.timezone.utc),
            max(0.0, (cell.counted["score"] or 0.0) - (cell.points or 0.0)))
    summary = export(reports, f"sqlite:///{folder / 'gradebook.db'}", assignment, folder,
                     due=config.deadlines[assignment].due, arrivals=arrivals)
    return [Path("gradebook.db"), *(p.relative_to(folder) for p in summary.notebooks)]


def nbgrader_zip(config: ServiceConfig, jobs: list[dict], assignment: str,
                 report_of: Callable[[int], dict]) -> bytes:
    """The nbgrader course folder of `nbgrader_course` as a zip: unpacked, `nbgrader formgrader` (or
    Jupyter with nbgrader's extension) run in it shows each submission's page with its scores."""
    with tempfile.TemporaryDirectory(prefix="grader-nbgrader-") as tmp:
        folder = Path(tmp)
        files = nbgrader_course(config, jobs, assignment, report_of, folder)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in files:
                archive.write(folder / name, name.as_posix())
        return out.getvalue()
