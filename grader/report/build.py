"""Turn the judge's outcomes into a report. The only place that does scoring arithmetic."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

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
    return {
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
    }


def _test(t: dict) -> dict:
    passed = t["status"] == "passed"
    test = {"name": t["name"], "score": t["max_score"] if passed else 0, "max_score": t["max_score"],
            "status": t["status"], "visibility": t["visibility"], "message": t["message"],
            "duration": t["duration"]}
    if t.get("figures"):
        test["figures"] = t["figures"]
    return test


def fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _round(x: float) -> float:
    return round(x, 6) if x != int(x) else int(x)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")
