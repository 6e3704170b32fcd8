"""Grade one submission: ingest -> judge (a subprocess, with its sandbox) -> report. Keyword-only, no printing.

This is the function every front end shares: `grader check`, `grader grade`, the batch runner, the
examples table and the project's own tests. Faults are sorted by whose they are: a bad submission is
`invalid_submission` with a score of 0 and a reason; anything wrong on our side (the sandbox, the
judge, a broken assignment) is `infra_error` with no score.
"""

from __future__ import annotations

import functools
import hashlib
import time
from pathlib import Path
from typing import Callable

import grader
from grader import jobdirs
from grader.errors import SubmissionError
from grader.ingest.workspace import Workspace, ingest, submission_name
from grader.judge.launch import run_judge
from grader.report.build import build_report, fingerprint
from grader.report.write import read_report
from grader.spec import AssignmentSpec


def grade(spec: AssignmentSpec, source: Path, *, sandbox: str = "local", isolate: bool = True,
          visibility: str = "all", name: str | None = None, previous: Path | None = None,
          warm: Callable[[], dict | None] | None = None) -> dict:
    """The report for `source`. With `previous` (a report path) a current report there is reused.
    `warm` (docker): hands out a warm container (grader.sandbox.warm.WarmPool.take) for the judge."""
    started = time.time()
    jobdirs.sweep_once()  # residue of graders that were killed: their job folders and workspaces
    name = name or submission_name(source)
    workspace, invalid = None, None
    try:
        workspace = ingest(source, spec)
    except SubmissionError as exc:
        invalid = str(exc)
    except Exception as exc:  # ingest's own bug, not the submission's fault: this one is an infra_error
        return failure_report(spec, name, f"ingest failed: {type(exc).__name__}: {exc}", started=started)
    try:
        key = report_key(spec, workspace.sha256 if workspace else None, invalid, sandbox, visibility)
        if previous is not None and (cached := current_report(previous, key)):
            return cached
        outcome = run_judge(spec, workspace.path if workspace else None, invalid=invalid, sandbox=sandbox,
                            isolate=isolate, visibility=visibility,
                            warm=warm if workspace and sandbox == "docker" else None)
    finally:
        if workspace:
            workspace.remove()
    return finish_report(spec, name=name, workspace=workspace, invalid=invalid, outcome=outcome,
                         started=started, key=key)


def report_key(spec: AssignmentSpec, content_sha: str | None, invalid: str | None, sandbox: str,
               visibility: str) -> str:
    """The fingerprint that makes a report current: submission, assignment, grader, sandbox, view."""
    content = content_sha or hashlib.sha256(invalid.encode()).hexdigest()
    return fingerprint(content, assignment_hash(spec), grader.__version__, grader_hash(), sandbox,
                       visibility)


def finish_report(spec: AssignmentSpec, *, name: str, workspace: Workspace | None, invalid: str | None,
                  outcome: dict, started: float, key: str) -> dict:
    """The report for the judge's `outcome` (used by `grade` and by a cluster's jobs alike)."""
    status, reason = _status(outcome, invalid)
    return build_report(
        assignment={"id": spec.id, "title": spec.title, "sha256": assignment_hash(spec)},
        submission={"name": name, "sha256": workspace.sha256 if workspace else None,
                    "files": list(workspace.files) if workspace else []},
        outcome=outcome, started=started, finished=time.time(), fingerprint=key,
        status=status, reason=reason)


def failure_report(spec: AssignmentSpec, name: str, reason: str, *, started: float | None = None) -> dict:
    """An infra_error report for a submission the grader could not handle: the batch's last resort."""
    now = time.time()
    reason = reason.encode("utf-8", "backslashreplace").decode("utf-8")[:4000]
    try:
        assignment_sha = assignment_hash(spec)
    except OSError:
        assignment_sha = "0" * 64
    return build_report(
        assignment={"id": spec.id, "title": spec.title, "sha256": assignment_sha},
        submission={"name": name or "unnamed", "sha256": None, "files": []},
        outcome={}, started=started or now, finished=now,
        fingerprint=fingerprint(reason, assignment_sha, grader.__version__), status="infra_error",
        reason=f"the grader failed on this submission: {reason}")


def _status(outcome: dict, invalid: str | None) -> tuple[str, str | None]:
    if outcome.get("infra_error"):
        return "infra_error", outcome["infra_error"]
    if outcome.get("skipped"):
        return "skipped", outcome["skipped"]
    if outcome.get("spec_errors"):
        return "infra_error", "the assignment itself is broken: " + "; ".join(outcome["spec_errors"])
    if invalid:
        return "invalid_submission", invalid
    return "graded", None


def current_report(path: Path, key: str) -> dict | None:
    """The report at `path` when its fingerprint is `key` and it is a grade (not infra/skip)."""
    try:
        report = read_report(path)
    except Exception:  # missing, half-written by a killed run, or an older schema: grade again
        return None
    # Infra errors and skips say something about the machine, not the submission: never reused.
    if report.get("fingerprint") == key and report["status"] not in ("infra_error", "skipped"):
        return report
    return None


@functools.cache
def grader_hash() -> str:
    """Hash of the grader's own code: a changed check or judge makes every old report stale."""
    digest = hashlib.sha256()
    package = Path(grader.__file__).parent
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".json", ".sh") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def assignment_hash(spec: AssignmentSpec) -> str:
    """Hash of everything that decides a grade besides the submission: spec, tests, data, solution."""
    digest = hashlib.sha256()
    for folder in (spec.root, spec.solution):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(spec.course)).encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
