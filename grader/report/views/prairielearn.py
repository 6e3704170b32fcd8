"""A report as PrairieLearn's external-grader `results.json`: a pure function, it writes nothing.

PrairieLearn's documented fields: `gradable`, `score` in [0, 1], `message`, `output`, and `tests`
with name, description, points, max_points, message, output (and `images`), the whole file under
1 MB. The same student policy as the Gradescope view: hidden tests show their name (without a
parametrize id), points and hint, never the rest of their message (grader.report.views.hidden); what the code printed is left out (hidden tests call that code too); the grading
machine's paths are cut (grader.report.views.redact).

An `invalid_submission` is `gradable: false` with the reason in `format_errors`: PrairieLearn's own
"invalid, not gradable" (no points lost, no attempt charged), which is what a broken archive or a
missing file is. A report without a score (infra_error, skipped) is refused, as in the Gradescope
view: PrairieLearn then shows a grading failure, never a zero.
"""

from __future__ import annotations

import json

from grader.errors import InfrastructureError
from grader.report.views.hidden import student_message, student_names
from grader.report.views.redact import strip_paths

MAX_BYTES = 1_000_000  # PrairieLearn: "this file should be limited to 1 MB"
# Per-test text is cut to these lengths first, then dropped, until the file fits under MAX_BYTES.
TEXT_CAPS = (4000, 500, 0)


def to_prairielearn(report: dict) -> dict:
    """The results.json object for `report`, always under MAX_BYTES once serialised."""
    if report["score"] is None:
        raise InfrastructureError(f"{report['submission']['name']}: not graded ({report['status']}: "
                                  f"{report['reason']}); no PrairieLearn result is written so that "
                                  "nobody receives a zero")
    if report["status"] == "invalid_submission":
        reason = strip_paths(report["reason"])
        return {"gradable": False, "format_errors": [reason[:TEXT_CAPS[0]]],
                "message": f"{report['assignment']['title']}: not graded: {reason[:TEXT_CAPS[1]]}"}
    for cap in TEXT_CAPS:
        result = _results(report, cap)
        if len(json.dumps(result, allow_nan=False).encode()) <= MAX_BYTES:
            return result
    raise ValueError(f"{report['submission']['name']}: {len(report['tests'])} test names alone exceed "
                     f"PrairieLearn's {MAX_BYTES}-byte results.json")


def _results(report: dict, cap: int) -> dict:
    score = report["score"] / report["max_score"] if report["max_score"] else 0.0
    return {
        "gradable": True,
        "score": min(1.0, max(0.0, score)),
        "message": f"{report['assignment']['title']}: {report['score']:g}/{report['max_score']:g} points",
        "output": "",
        "tests": [_test(t, name, cap) for t, name in zip(report["tests"], student_names(report["tests"]))],
    }


def _test(test: dict, name: str, cap: int) -> dict:
    hidden = test["visibility"] == "hidden"
    text = student_message(test) if hidden else strip_paths(test["message"])
    first = text.splitlines()[0] if text.strip() else ("passed" if test["status"] == "passed" else test["status"])
    return {
        "name": name,
        "description": f"{test['status'].replace('_', ' ')} ({test['visibility']} test)",
        "points": test["score"],
        "max_points": test["max_score"],
        "message": first[:max(cap, 200)],
        "output": text[:cap],
    }
