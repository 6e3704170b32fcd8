"""PrairieLearn's external grader: grade `/grade/student` into `/grade/results/results.json`.

PrairieLearn copies the student's files to /grade/student, the question's tests/ to /grade/tests and
serverFilesCourse/ to /grade/serverFilesCourse, runs the question's entrypoint in the image, and
reads /grade/results/results.json (a directory it does not create). This module grades with the
local sandbox (grader.interop.container) and writes that file through the PrairieLearn view; a
report without a score writes none, so PrairieLearn shows a grading failure, never a zero.
"""

from __future__ import annotations

from pathlib import Path

from grader.spec import AssignmentSpec

GRADE_ROOT = Path("/grade")


def run_in_prairielearn(spec: AssignmentSpec, root: Path = GRADE_ROOT, *,
                        reap: bool = True) -> tuple[dict, bool]:
    """Grade `root`/student; write `root`/results/results.json unless the report has no score."""
    from grader.interop.container import grade_in_container, write_json
    from grader.report.views.prairielearn import to_prairielearn

    report, _sandbox = grade_in_container(spec, root / "student", reap=reap)
    if report["score"] is None:
        return report, False
    write_json(to_prairielearn(report), root / "results" / "results.json")
    return report, True
