"""A report as Gradescope's autograder `results.json`: a pure function, it writes nothing.

Visible tests keep their message; hidden tests show their name (without a parametrize id) and score
once grades are published, and of their message only the hint that names the mistake, never the values
(grader.report.views.hidden). What the student's code printed is
left out: hidden tests call that code too, so its prints can echo hidden inputs. A report without a
score (infra_error: the grader failed; skipped: the sandbox lacks a module) must never become a zero on
Gradescope, so it is refused here. Students read every string here, so the grading machine's paths
are cut to their last part (grader.report.views.redact).
"""

from __future__ import annotations

from grader.errors import InfrastructureError
from grader.report.views.hidden import student_message, student_names
from grader.report.views.redact import strip_paths

# Our visibilities -> Gradescope's ("visible", "hidden", "after_due_date", "after_published").
VISIBILITY = {"visible": "visible", "hidden": "after_published"}


def to_gradescope(report: dict) -> dict:
    """The results.json object for `report`."""
    if report["score"] is None:
        raise InfrastructureError(f"{report['submission']['name']}: not graded ({report['status']}: "
                                  f"{report['reason']}); no Gradescope result is written so that nobody "
                                  "receives a zero")
    return {
        "score": report["score"],
        "execution_time": round(report["timings"]["seconds"]),
        "output": _summary(report),
        "output_format": "text",
        "test_output_format": "text",
        "stdout_visibility": "hidden",
        "visibility": "visible",
        # Gradescope takes the total from `score`; the maximum is the sum of the tests' max_score.
        "extra_data": {"max_score": report["max_score"], "status": report["status"],
                       "grader_version": report["grader_version"]},
        "tests": [_test(t, number, name) for number, (t, name)
                  in enumerate(zip(report["tests"], student_names(report["tests"])), 1)],
    }


def _summary(report: dict) -> str:
    lines = [f"{report['assignment']['title']}: {report['score']:g}/{report['max_score']:g}"]
    if report["status"] != "graded":
        lines.append(f"Not graded normally: {strip_paths(report['reason'])}")
    return "\n".join(lines)


def _test(test: dict, number: int, name: str) -> dict:
    hidden = test["visibility"] == "hidden"
    output = student_message(test) if hidden else (strip_paths(test["message"]) or "passed")
    return {
        "name": name,
        "number": str(number),
        "score": test["score"],
        "max_score": test["max_score"],
        "status": "passed" if test["status"] == "passed" else "failed",
        "visibility": VISIBILITY[test["visibility"]],
        "output": output,
        "tags": [test["status"]],
    }
