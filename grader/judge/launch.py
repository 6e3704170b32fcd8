"""Start the judge: `grader.judge.session` in a fresh process, for one job folder, with a time limit.

The pipeline reaches the trusted side only through `run_judge`, so the hop from a workspace to a
verdict is one import. The judge's crash or hang becomes an infra_error outcome here; this module never
reads a submission's files and never builds a report.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Callable

from grader import jobdirs
from grader.spec import AssignmentSpec

SESSION_MODULE = f"{__package__}.session"
# The judge gets the submission's whole budget plus this much for pytest, imports and reference work.
JUDGE_GRACE_SECONDS = 300
MAX_JUDGE_LOG = 4000
# The judge loads its one plugin explicitly; autoloading every installed pytest plugin (anyio,
# platformdirs' hooks...) cost 0.2 s per submission and lets a stray plugin change how tests run.
JUDGE_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
# What of the grader's own environment must not reach the judge's pytest: a developer's
# PYTEST_ADDOPTS=-x stopped every judge at its first failing test (05's example mistakes scored 3-57
# where they score 34-104), PYTEST_PLUGINS loads plugins into it, PYTHONWARNINGS=error fails tests.
JUDGE_ENV_CLEARED = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONWARNINGS")
# Where the judge notes each test as it starts, for `grader check`'s live line (grader.pipeline.progress).
PROGRESS_FILE_ENV = "GRADER_PROGRESS_FILE"


USER_INTERRUPT = threading.Event()
# The judge's exit code when a SIGINT stopped it: it wrote no result, since its tests did not all run.
INTERRUPTED_EXIT = 130
# How long a process stopped by Ctrl-C waits for a thread still making a sandbox or a warm pool before it
# leaves without it (what that thread makes then dies with the process, or the janitor removes it).
INTERRUPTED_PATIENCE_SECONDS = 2.0
# How often a waiting grader looks for a Ctrl-C that a judge it started afterwards never saw, and how
# long after it that judge gets it from the grader (one that saw it is closing its sandbox by then).
INTERRUPT_POLL_SECONDS = 0.25
FORWARD_AFTER_SECONDS = 1.0


def watch_for_ctrl_c(*, unless: threading.Event | None = None) -> None:
    """Note a SIGINT to this process (main thread only) before raising KeyboardInterrupt as usual.
    `unless` (the judge's cleanup): while it is set a SIGINT is only noted, so the grader's forwarded
    one cannot cut short the removal of a container after the terminal's reached the judge. Until
    then each SIGINT raises: the first may be lost (raised inside a weakref callback of the import
    system, where exceptions are printed and dropped) and the grader's then stops the judge."""
    def handler(signum: int, frame: object) -> None:
        USER_INTERRUPT.set()
        if unless is None or not unless.is_set():
            signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, handler)


# The judge dies with the grader that started it (kill -9 of the grader alone, a SIGTERM): without
# this it went on grading for up to total_seconds + JUDGE_GRACE_SECONDS with nobody to read it.
# util-linux's setpriv sets the parent-death signal and execs, so no preexec_fn runs in a threaded
# batch. (The signal follows the thread that started the judge, which waits for it to end.)
_DIE_WITH_GRADER = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []


def run_judge(spec: AssignmentSpec, workspace: Path | None, *, invalid: str | None,
              sandbox: str, isolate: bool, visibility: str,
              warm: Callable[[], dict | None] | None = None) -> dict:
    """Run `grader.judge.session` in a fresh process; its crash or hang is an infra_error outcome.
    `warm` (grader.sandbox.warm.WarmPool.take) is called once the judge is starting, so the pool's
    container starts while the judge does; the judge adopts what it returns for its first runner."""
    if USER_INTERRUPT.is_set():  # Ctrl-C while this job waited for its turn: start nothing new
        raise KeyboardInterrupt
    tmp = jobdirs.make_job_dir("grader-job-")
    try:
        return _judge_in(tmp, spec, workspace, invalid=invalid, sandbox=sandbox, isolate=isolate,
                         visibility=visibility, warm=warm)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _judge_in(tmp: Path, spec: AssignmentSpec, workspace: Path | None, *, invalid: str | None,
              sandbox: str, isolate: bool, visibility: str, warm: Callable[[], dict | None] | None) -> dict:
    handover = Path(tmp) / "warm.json"
    job = {"assignment": str(spec.root), "course": str(spec.course), "sandbox": sandbox,
           "isolate": isolate, "visibility": visibility, "invalid": invalid,
           "warm_file": str(handover) if warm else None,
           "workspace": str(workspace) if workspace else None,
           "result": str(Path(tmp) / "result.json")}
    (Path(tmp) / "job.json").write_text(json.dumps(job))
    limit = spec.limits.total_seconds + JUDGE_GRACE_SECONDS
    with open(Path(tmp) / "judge.log", "w+b") as log:
        try:
            code = _run([*_DIE_WITH_GRADER, sys.executable, "-m", SESSION_MODULE, str(Path(tmp) / "job.json")],
                        log=log, cwd=tmp, timeout=limit, meanwhile=warm and (lambda: _hand_over(handover, warm)))
        except subprocess.TimeoutExpired:
            return {"infra_error": f"the judge did not finish within {limit:g} s"}
        log.seek(0)
        tail = log.read()[-MAX_JUDGE_LOG:].decode("utf-8", "replace")
    result = Path(job["result"])
    if code != 0 and USER_INTERRUPT.wait(timeout=2):
        # Ctrl-C reached the judge with the rest of the terminal's process group: the user stopped
        # the batch. That is no grade and no fault of ours: write nothing, so a rerun grades it.
        # (Any exit code: a judge hit while Python starts exits 1, not -SIGINT. A SIGINT from
        # anywhere else, the grader itself not interrupted, stays an infra_error.)
        raise KeyboardInterrupt
    if code == INTERRUPTED_EXIT:
        return {"infra_error": "the judge was stopped by a SIGINT from outside the grader before its "
                               "tests had all run"}
    if code != 0 or not result.exists():
        return {"infra_error": f"the judge failed (exit code {code}): {tail.strip()}"}
    return json.loads(result.read_text())


def _run(argv: list[str], *, log: IO[bytes], cwd: Path, timeout: float,
         meanwhile: Callable[[], None] | None) -> int:
    """The judge's exit code, with `meanwhile` done while it starts; killed on a timeout or an exception."""
    with subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                          env=judge_environment()) as proc:
        try:
            if meanwhile:
                meanwhile()
            return _wait(proc, timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise


def _wait(proc: subprocess.Popen, timeout: float) -> int:
    """The judge's exit code. A Ctrl-C reaches a judge with the rest of the terminal's process group,
    but one started just after it (its thread was ingesting when it came) never saw it and would grade
    on for a minute, and one may lose it (see watch_for_ctrl_c): a judge still running
    FORWARD_AFTER_SECONDS after the Ctrl-C gets it from the grader (once in its cleanup, it only
    notes it)."""
    deadline, noticed, forwarded = time.monotonic() + timeout, None, False
    while True:
        try:
            return proc.wait(timeout=max(0.0, min(INTERRUPT_POLL_SECONDS, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                raise
        if USER_INTERRUPT.is_set() and not forwarded:
            noticed = noticed or time.monotonic()
            if time.monotonic() - noticed >= FORWARD_AFTER_SECONDS:
                forwarded = True
                proc.send_signal(signal.SIGINT)


def judge_environment() -> dict[str, str]:
    """The grader's environment as the judge gets it: JUDGE_ENV set, JUDGE_ENV_CLEARED removed."""
    kept = {key: value for key, value in os.environ.items() if key not in JUDGE_ENV_CLEARED}
    return {**kept, **JUDGE_ENV}


def _hand_over(path: Path, take: Callable[[], dict | None]) -> None:
    """The warm container (or null) for the judge, renamed into place so it never reads half of it."""
    try:
        warm = take()
    except Exception:  # noqa: BLE001  (a pool's fault means a cold start, never a failed grading)
        warm = None
    part = path.with_suffix(".part")
    part.write_text(json.dumps(warm))
    part.rename(path)
