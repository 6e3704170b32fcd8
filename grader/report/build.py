"""Turn the judge's outcomes into a report. The only place that does scoring arithmetic.

Much of a report is text and numbers that came, one way or another, from the submission (messages,
what it printed, file names) or from a judge that read them. The builder makes every value strict
JSON before the writer sees it: text that UTF-8 cannot hold (lone surrogates) is escaped, non-finite
numbers become null (0 for a test's duration), anything else becomes its text. So no content of a
submission can make the writer refuse its report.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timezone
from typing import Any

import grader
from grader.report import SCHEMA_VERSION


def build_report(*, assignment: dict, submission: dict, outcome: dict, started: float,
                 finished: float, fingerprint: str, status: str = "graded",
                 reason: str | None = None) -> dict:
    """`outcome` is the judge's result (tests, output, environment, timings).

    A test's score is its max_score when it passed and 0 otherwise; an infra_error (or a submission
    skipped because the sandbox lacks a module the assignment needs) carries no score at all, so a
    broken or incomplete grader can never hand out zeros.
    """
    tests = [_test(t) for t in outcome.get("tests", [])]
    if status != "graded":
        for test in tests:
            test.update(status="not_run", score=0, message=reason or "not run")
    score = None if status in ("infra_error", "skipped") else _round(sum(t["score"] for t in tests))
    return plain({
        "schema_version": SCHEMA_VERSION,
        "grader_version": grader.__version__,
        "assignment": assignment,
        "submission": submission,
        "status": status,
        "reason": reason,
        "score": score,
        "max_score": _round(sum(t["max_score"] for t in tests)),
        "tests": tests,
        "output": outcome.get("output") or {"text": "", "truncated": False},
        "environment": outcome.get("environment") or {},
        "timings": {**(outcome.get("timings") or {}), "started": _iso(started),
                    "finished": _iso(finished), "seconds": round(max(0.0, finished - started), 3)},
        "fingerprint": fingerprint,
    })


def _test(t: dict) -> dict:
    passed = t["status"] == "passed"
    duration = t["duration"] if isinstance(t["duration"], (int, float)) else 0.0
    duration = duration if math.isfinite(duration) else 0.0
    test = {"name": t["name"], "score": t["max_score"] if passed else 0, "max_score": t["max_score"],
            "status": t["status"], "visibility": t["visibility"], "message": t["message"],
            "duration": duration}
    if t.get("figures"):
        test["figures"] = t["figures"]
    if t.get("measured"):
        test["measured"] = t["measured"]
    return test


MAX_DEPTH = 64


def plain(value: Any, depth: int = 0) -> Any:
    """`value` as strict JSON data: what `json.dumps(allow_nan=False)` and UTF-8 always accept."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return text(value)
    if depth >= MAX_DEPTH:
        return "(nested too deep)"
    if isinstance(value, dict):
        return {text(str(k)): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value]
    return text(repr(value)[:200])


def text(value: str) -> str:
    """`value` with anything UTF-8 cannot encode (a lone surrogate) written as its escape."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


def fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(text(p) for p in parts).encode()).hexdigest()


def _round(x: float) -> float:
    return round(x, 6) if x != int(x) else int(x)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")
