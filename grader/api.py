"""Grade one submission: ingest -> sandbox + judge (a subprocess) -> report. Keyword-only, no printing.

This is the function every front end shares: `grader check`, `grader grade`, the batch runner, the
examples table and the project's own tests. Faults are sorted by whose they are: a bad submission is
`invalid_submission` with a score of 0 and a reason; anything wrong on our side (the sandbox, the
judge, a broken assignment) is `infra_error` with no score.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grader
from grader import jobdirs
from grader.errors import SubmissionError
from grader.ingest import Workspace, ingest, submission_name
from grader.report.build import build_report, fingerprint
from grader.report.write import read_report
from grader.spec import AssignmentSpec

# The judge gets the submission's whole budget plus this much for pytest, imports and reference work.
JUDGE_GRACE_SECONDS = 300
MAX_JUDGE_LOG = 4000
# The judge loads its one plugin explicitly; autoloading every installed pytest plugin (anyio,
# platformdirs' hooks...) cost 0.2 s per submission and lets a stray plugin change how tests run.
JUDGE_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def grade(spec: AssignmentSpec, source: Path, *, sandbox: str = "local", isolate: bool = True,
          visibility: str = "all", name: str | None = None, previous: Path | None = None) -> dict:
    """The report for `source`. With `previous` (a report path) a current report there is reused."""
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
        outcome = run_judge(spec, workspace, invalid=invalid, sandbox=sandbox, isolate=isolate,
                            visibility=visibility)
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


USER_INTERRUPT = threading.Event()


def watch_for_ctrl_c() -> None:
    """Note a SIGINT to this process (main thread only) before raising KeyboardInterrupt as usual."""
    def handler(signum: int, frame: object) -> None:
        USER_INTERRUPT.set()
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, handler)


# The judge dies with the grader that started it (kill -9 of the grader alone, a SIGTERM): without
# this it went on grading for up to total_seconds + JUDGE_GRACE_SECONDS with nobody to read it.
# util-linux's setpriv sets the parent-death signal and execs, so no preexec_fn runs in a threaded
# batch. (The signal follows the thread that started the judge, which waits for it to end.)
_DIE_WITH_GRADER = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []


def run_judge(spec: AssignmentSpec, workspace: Workspace | None, *, invalid: str | None,
              sandbox: str, isolate: bool, visibility: str) -> dict:
    """Run `grader.judge.session` in a fresh process; its crash or hang is an infra_error outcome."""
    tmp = jobdirs.make_job_dir("grader-job-")
    try:
        return _judge_in(tmp, spec, workspace, invalid=invalid, sandbox=sandbox, isolate=isolate,
                         visibility=visibility)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _judge_in(tmp: Path, spec: AssignmentSpec, workspace: Workspace | None, *, invalid: str | None,
              sandbox: str, isolate: bool, visibility: str) -> dict:
    job = {"assignment": str(spec.root), "course": str(spec.course), "sandbox": sandbox,
           "isolate": isolate, "visibility": visibility, "invalid": invalid,
           "workspace": str(workspace.path) if workspace else None,
           "result": str(Path(tmp) / "result.json")}
    (Path(tmp) / "job.json").write_text(json.dumps(job))
    limit = spec.limits.total_seconds + JUDGE_GRACE_SECONDS
    with open(Path(tmp) / "judge.log", "w+b") as log:
        try:
            proc = subprocess.run([*_DIE_WITH_GRADER, sys.executable, "-m", "grader.judge.session",
                                   str(Path(tmp) / "job.json")],
                                  stdout=log, stderr=subprocess.STDOUT, cwd=tmp, timeout=limit,
                                  env={**os.environ, **JUDGE_ENV})
        except subprocess.TimeoutExpired:
            return {"infra_error": f"the judge did not finish within {limit:g} s"}
        log.seek(0)
        tail = log.read()[-MAX_JUDGE_LOG:].decode("utf-8", "replace")
    result = Path(job["result"])
    if proc.returncode != 0 and USER_INTERRUPT.wait(timeout=2):
        # Ctrl-C reached the judge with the rest of the terminal's process group: the user stopped
        # the batch. That is no grade and no fault of ours: write nothing, so a rerun grades it.
        # (Any exit code: a judge hit while Python starts exits 1, not -SIGINT. A SIGINT from
        # anywhere else, the grader itself not interrupted, stays an infra_error.)
        raise KeyboardInterrupt
    if proc.returncode != 0 or not result.exists():
        return {"infra_error": f"the judge failed (exit code {proc.returncode}): {tail.strip()}"}
    return json.loads(result.read_text())


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
