"""Start the judge: `grader.judge.session` in a fresh process, for one job folder, with a time limit.

The pipeline reaches the trusted side only through `run_judge`, so the hop from a workspace to a
verdict is one import. The judge's crash or hang becomes an infra_error outcome here; this module never
reads a submission's files and never builds a report.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from grader import jobdirs
from grader.sandbox import ONE_BLAS_THREAD
from grader.spec import AssignmentSpec

SESSION_MODULE = f"{__package__}.session"
# The judge's argument: read the job's path from stdin (see Judge).
WAIT_FOR_JOB = "--job-on-stdin"
# The judge gets the submission's whole budget plus this much for pytest, imports and reference work.
JUDGE_GRACE_SECONDS = 300
MAX_JUDGE_LOG = 4000
# The judge loads its one plugin explicitly; autoloading every installed pytest plugin (anyio,
# platformdirs' hooks...) cost 0.2 s per submission and lets a stray plugin change how tests run.
# One BLAS thread, as the runner has: a judge's reference computations are small, and in a -j 2 batch
# two judges with a thread per core each spun against the runners (11's judge: 2.2 -> 1.65 CPU-s).
JUDGE_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", **ONE_BLAS_THREAD}
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
    """Run `grader.judge.session` in a fresh process (a spare one when `SPARES` holds one); its crash or
    hang is an infra_error outcome. `warm` (grader.sandbox.warm.WarmPool.take) is called once the
    judge has its job, so the pool's container starts while the judge does; the judge adopts what it
    returns for its first runner."""
    if USER_INTERRUPT.is_set():  # Ctrl-C while this job waited for its turn: start nothing new
        raise KeyboardInterrupt
    if sandbox == "docker":  # its containers carry this process's pid: the janitor is to look for them
        jobdirs.expect_containers()
    judge = SPARES.take() or Judge()
    try:
        return _judge_in(judge, spec, workspace, invalid=invalid, sandbox=sandbox, isolate=isolate,
                         visibility=visibility, warm=warm)
    finally:
        judge.discard()


class Judge:
    """One judge process. It starts before it has a job: Python, pytest, numpy and the judge's own
    modules load while the grader is still busy (parsing its command line, ingesting, waiting on the
    judge before); `run` then hands it the job's path through its stdin."""

    def __init__(self, sandbox: str | None = None) -> None:
        """`sandbox`, if known: the judge also imports that sandbox's modules while it waits."""
        self.tmp = jobdirs.make_job_dir("grader-job-")
        self.ran = False  # handed a job (a spare discarded unused made no folders of its own)
        try:
            self.log = open(self.tmp / "judge.log", "w+b")
            argv = [*_DIE_WITH_GRADER, sys.executable, "-m", SESSION_MODULE, WAIT_FOR_JOB,
                    *filter(None, [sandbox])]
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=self.log, stderr=subprocess.STDOUT,
                                         cwd=self.tmp, env=judge_environment())
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise

    def alive(self) -> bool:
        return self.proc.poll() is None

    def run(self, job: dict, *, timeout: float, meanwhile: Callable[[], None] | None) -> int:
        """The judge's exit code for `job`, with `meanwhile` done while it starts; killed on a timeout
        or an exception."""
        path = self.tmp / "job.json"
        path.write_text(json.dumps(job))
        self.ran = True
        try:
            try:
                self.proc.stdin.write(f"{path}\n".encode())
                self.proc.stdin.close()
            except BrokenPipeError:  # it died waiting; its exit code and log say how
                pass
            if meanwhile:
                meanwhile()
            return _wait(self.proc, timeout)
        except BaseException:
            self.proc.kill()
            self.proc.wait()
            raise

    def log_tail(self) -> str:
        self.log.seek(0, os.SEEK_END)
        self.log.seek(max(0, self.log.tell() - MAX_JUDGE_LOG))
        return self.log.read().decode("utf-8", "replace")

    def discard(self) -> None:
        """Kill it if it still runs, and remove its folder; after a judge that did not end cleanly (killed
        on a timeout, crashed), also the folders it made for its sandbox (it has no janitor of its own:
        grader.jobdirs.leave_sweeping_to_parent)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.ran and self.proc.returncode != 0:
            jobdirs.remove_stale()


class Spares:
    """Judges started ahead of their jobs, for a grader that knows jobs are coming (`plan`): a single
    `grader grade` or `grader check` starts one before it even reads the assignment, and a batch keeps
    one per job slot ready while more jobs are to come, so a judge's start (about 0.2 s of imports)
    overlaps the grader's own work or the judge before it. The grading service and cluster workers
    plan none: their judges start cold, as each job arrives.

    A spare dies with the thread that started it (PR_SET_PDEATHSIG): the command's main thread, or a
    batch's worker thread, which lives until the batch ends."""

    def __init__(self) -> None:
        self._ready: list[Judge] = []
        self._coming = 0  # jobs still to be handed to a judge
        self._at_once = 0
        self._sandbox: str | None = None
        self._lock = threading.Lock()

    def plan(self, jobs: int, *, at_once: int = 1, sandbox: str | None = None) -> None:
        """`jobs` more jobs will come, `at_once` at a time, in `sandbox` if known: start spares for them
        (never more)."""
        with self._lock:
            self._coming, self._at_once, self._sandbox = jobs, at_once, sandbox
            self._fill()

    def take(self) -> Judge | None:
        """A spare that is still alive, or None (start a judge now)."""
        with self._lock:
            self._coming = max(0, self._coming - 1)
            judge = None
            while self._ready and judge is None:
                candidate = self._ready.pop(0)
                judge = candidate if candidate.alive() else candidate.discard()
            self._fill()
            return judge

    def discard(self) -> None:
        """Stop the spares nobody took (the batch ended, or its reports were current)."""
        with self._lock:
            ready, self._ready, self._coming = self._ready, [], 0
        for judge in ready:
            judge.discard()

    def _fill(self) -> None:
        while len(self._ready) < min(self._coming, self._at_once) and not USER_INTERRUPT.is_set():
            try:
                self._ready.append(Judge(self._sandbox))
            except Exception:  # noqa: BLE001  (no spare: the job starts its judge itself, and meets the fault)
                return


SPARES = Spares()


def _judge_in(judge: Judge, spec: AssignmentSpec, workspace: Path | None, *, invalid: str | None,
              sandbox: str, isolate: bool, visibility: str, warm: Callable[[], dict | None] | None) -> dict:
    tmp = judge.tmp
    handover = tmp / "warm.json"
    job = {"assignment": str(spec.root), "course": str(spec.course), "sandbox": sandbox,
           "isolate": isolate, "visibility": visibility, "invalid": invalid,
           "warm_file": str(handover) if warm else None,
           "workspace": str(workspace) if workspace else None,
           "progress_file": os.environ.get(PROGRESS_FILE_ENV),
           "result": str(tmp / "result.json")}
    limit = spec.limits.total_seconds + JUDGE_GRACE_SECONDS
    try:
        code = judge.run(job, timeout=limit, meanwhile=warm and (lambda: _hand_over(handover, warm)))
    except subprocess.TimeoutExpired:
        return {"infra_error": f"the judge did not finish within {limit:g} s"}
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
        return {"infra_error": f"the judge failed (exit code {code}): {judge.log_tail().strip()}"}
    return json.loads(result.read_text())


def _wait(proc: subprocess.Popen, timeout: float) -> int:
    """The judge's exit code. A Ctrl-C reaches a judge with the rest of the terminal's process group,
    but one started just after it (its thread was ingesting when it came) never saw it and would grade
    on for a minute, and one may lose it (see watch_for_ctrl_c): a judge still running
    FORWARD_AFTER_SECONDS after the Ctrl-C gets it from the grader (once in its cleanup, it only
    notes it)."""
    deadline, noticed, forwarded = time.monotonic() + timeout, None, False
    pidfd = _pidfd(proc)
    try:
        while not _ended(proc, pidfd, max(0.0, min(INTERRUPT_POLL_SECONDS, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(proc.args, timeout)
            if USER_INTERRUPT.is_set() and not forwarded:
                noticed = noticed or time.monotonic()
                if time.monotonic() - noticed >= FORWARD_AFTER_SECONDS:
                    forwarded = True
                    proc.send_signal(signal.SIGINT)
        return proc.returncode
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _pidfd(proc: subprocess.Popen) -> int | None:
    """A descriptor that becomes readable when the judge exits (Linux 5.3+), or None."""
    try:
        return os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        return None


def _ended(proc: subprocess.Popen, pidfd: int | None, seconds: float) -> bool:
    """Whether the judge ended within `seconds`. With a pidfd the wait wakes the moment it exits;
    Popen.wait's own timeout polls in sleeps of up to 50 ms, a twentieth of a small grading."""
    if pidfd is not None:
        select.select([pidfd], [], [], seconds)
    try:
        proc.wait(timeout=0 if pidfd is not None else seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


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
