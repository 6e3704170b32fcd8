"""One judge run: the instructor's tests over one submission, in a process of its own.

`python -m grader.judge.session JOB.json` (or `--job-on-stdin`: a judge started before its job, see
grader.judge.launch.Judge) reads a job (assignment, workspace, sandbox, which tests),
runs pytest in-process with `JudgePlugin`, and writes the outcomes as JSON to the job's `result` path.
A fresh process per submission keeps pytest's module cache and any state a test leaves behind from
reaching the next submission, and lets a batch run several judges side by side. It never writes a
report: that is `grader.report`'s job, in the parent.
"""

from __future__ import annotations

import gc
import sys

if __name__ == "__main__":  # the judge's own process, from its first import to its tests (see GcAfterCollection)
    gc.disable()
    # The grader's own modules keep their bytecode, as an installed package's do (compiled afresh, they
    # cost every judge about 50 ms); the course's files never get any (see run_job).
    sys.dont_write_bytecode = False

import importlib
import json
import os
import resource
import select
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from grader import jobdirs
from grader.errors import GraderError, InfrastructureError
from grader.judge.launch import (INTERRUPTED_EXIT, INTERRUPTED_PATIENCE_SECONDS, PROGRESS_FILE_ENV, USER_INTERRUPT,
                                 WAIT_FOR_JOB, watch_for_ctrl_c)
from grader.judge.proxy import RunnerSession
from grader.sandbox import RunnerConfig, make_backend
from grader.spec import AssignmentSpec, load_spec

if TYPE_CHECKING:  # pytest and the plugin are imported once the first runner is starting (run_job)
    from grader.judge.plugin import JudgePlugin

# The judge's own memory: what the reference and the checks need (under 1 GB for every step) with room
# to spare, and far below what would starve a grading machine running several judges. Counted as
# RLIMIT_DATA (heap and private writable mappings: every numpy array), not as address space, which
# native libraries reserve in bulk. Soft only, so the runner this process starts can set its own.
JUDGE_MEMORY_MB = 3072
# Set once the judge closes its sandbox: a SIGINT then is only noted (grader.judge.launch.watch_for_ctrl_c).
CLOSING = threading.Event()
# What a judge waiting for its job imports meanwhile, as long as no job has come (what is needed to start
# a runner is imported before: with a job, the runner starts first and pytest loads while it does).
PRELOAD = ("grader.sandbox.local", "pytest", "grader.judge.plugin", "grader.judge.gradcheck",
           "_pytest.python", "_pytest.main")
# A sandbox's own modules, first in line when the grader says which sandbox the job will use (the
# docker SDK alone is 0.06 s, the docker backend with it 0.18 s, a GIL-bound import beside collection).
SANDBOX_PRELOAD = {"docker": ("docker", "grader.sandbox.docker")}
# The grader writes its warm container's handover within a pool's patience (2 s) of starting the judge.
HANDOVER_SECONDS = 10.0


def _handed_over(path: str | None) -> Callable[[], dict | None] | None:
    """What the grader hands over at `path` (grader.judge.launch): a warm container or null, read when
    the first runner starts; None after HANDOVER_SECONDS without it (a cold start)."""
    if not path:
        return None

    def wait() -> dict | None:
        deadline = time.monotonic() + HANDOVER_SECONDS
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)
        return json.loads(Path(path).read_text())

    return wait


def run_job(job: dict) -> dict:
    spec = load_spec(Path(job["assignment"]), course=Path(job["course"]))
    # A local runner inherits this soft limit; above its own memory_mb it never binds there.
    limit_judge_memory(max(JUDGE_MEMORY_MB, spec.limits.memory_mb + 512))
    started = time.time()
    session = RunnerSession(None, spec.limits, spec.api, seed=spec.seed, invalid=job.get("invalid"),
                            mutates=spec.mutates)
    try:
        if job.get("workspace"):  # the sandbox and its first runner are made while pytest loads and collects
            _prestart(session, spec, job)
        import pytest

        from grader.judge.plugin import JudgePlugin

        plugin = JudgePlugin(spec, session)
        args = _pytest_args(spec, job.get("visibility", "all"), Path(job["result"]).parent)
        for name in (m for m in PRELOAD if m.startswith("grader.")):  # what tests import, its bytecode kept
            importlib.import_module(name)
        sys.dont_write_bytecode = True  # nothing beside the tests, the reference or the datasets
        code = pytest.main(args, plugins=[plugin, GcAfterCollection(), *_progress_notes(job)])
    finally:
        output, environment = _close(session)
    if job.get("visibility", "all") == "all":
        _check_points(spec, plugin)
    infra = plugin.infra_error or session.unmet_fault or _pytest_trouble(code, plugin)
    return {
        "tests": list(plugin.tests.values()),
        "spec_errors": plugin.spec_errors,
        "skipped": session.skipped,
        "infra_error": infra,
        "output": {"text": output[0], "truncated": output[1]},
        "environment": {**environment, **session.info},
        "timings": {"judge_seconds": round(time.time() - started, 3),
                    "runner_seconds": round(session.spent, 3),
                    "judge_cpu_seconds": round(plugin.cpu_spent, 3), **session.timings},
    }


def _prestart(session: RunnerSession, spec: AssignmentSpec, job: dict) -> None:
    config = RunnerConfig(Path(job["workspace"]), spec.api, spec.seed, spec.gpu, spec.needs)
    session.prestart(lambda: make_backend(job["sandbox"], config, spec.limits, isolate=job.get("isolate", True),
                                          warm=_handed_over(job.get("warm_file"))))


def _close(session: RunnerSession) -> tuple[tuple[str, bool], dict]:
    """Stop the runner and close the sandbox; what the runners printed, and the sandbox's facts."""
    CLOSING.set()
    session.close(patience=INTERRUPTED_PATIENCE_SECONDS if USER_INTERRUPT.is_set() else None)
    backend = session.backend
    output = backend.output.text() if backend else ("", False)
    environment = backend.environment() if backend else {}
    if backend:
        backend.close()
    return output, environment


class GcAfterCollection:
    """Garbage collection, off while the judge imports, configures pytest and collects (tens of thousands
    of objects, few of them ever garbage: 30 ms of collections a grading), is back on for the tests, with
    everything made so far frozen out of its full passes."""

    def pytest_collection_finish(self, session: object) -> None:
        gc.freeze()
        gc.enable()


class ProgressNotes:
    """Appends each test's id to `path` as it starts: what `grader check` shows while it waits."""

    def __init__(self, path: str) -> None:
        self.path = path

    def pytest_runtest_logstart(self, nodeid: str, location: object) -> None:
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(nodeid + "\n")
        except OSError:
            pass


def _progress_notes(job: dict) -> list[ProgressNotes]:
    path = job.get("progress_file") or os.environ.get(PROGRESS_FILE_ENV)
    return [ProgressNotes(path)] if path else []


def _check_points(spec: AssignmentSpec, plugin: JudgePlugin) -> None:
    total = sum(t["max_score"] for t in plugin.tests.values())
    if abs(total - spec.points) > 1e-3:  # group shares are rounded to 6 decimals
        plugin.spec_errors.append(f"{spec.root / 'assignment.toml'}: points = {spec.points:g}, but the "
                                  f"tests' points markers add up to {total:g}")


def _pytest_trouble(code: int, plugin: JudgePlugin) -> str | None:
    import pytest

    if code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or plugin.spec_errors:
        return None
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        return "the assignment has no tests"
    return f"pytest stopped with exit code {int(code)}"


def _pytest_args(spec: AssignmentSpec, visibility: str, scratch: Path) -> list[str]:
    folders = [spec.public_tests] + ([spec.hidden_tests] if visibility == "all" else [])
    empty_ini = scratch / "pytest.ini"
    empty_ini.write_text("[pytest]\n")
    return [
        *[str(f) for f in folders if f.is_dir()],
        "-c", str(empty_ini),  # no configuration file from anywhere else applies
        "--rootdir", str(spec.root / "tests"),
        "--import-mode=importlib",
        "-p", "no:cacheprovider",
        # A grade reads outcomes, never warnings: these two only turn an exception in a __del__ or a
        # thread into a warning, and ran two full garbage collections after the last test (about 25 ms
        # of every grading, on its critical path).
        "-p", "no:unraisableexception", "-p", "no:threadexception",
        "--strict-markers",
        "-q", "--no-header", "-rN", "--tb=no",
    ]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    watch_for_ctrl_c(unless=CLOSING)
    jobdirs.leave_sweeping_to_parent()
    try:
        job = json.loads(Path(_job_path(argv)).read_text())
        result = run_job(job)
    except KeyboardInterrupt:  # outside pytest's run (which turns it into its exit code 2)
        return INTERRUPTED_EXIT
    except GraderError as exc:
        kind = "spec_errors" if not isinstance(exc, InfrastructureError) else "infra_error"
        result = {"tests": [], "spec_errors": [], "infra_error": None, kind: str(exc) if
                  kind == "infra_error" else [str(exc)]}
    if USER_INTERRUPT.is_set():  # not every test ran: no result, so the grader grades it again
        return INTERRUPTED_EXIT
    target = Path(job["result"])
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, target)
    return 0


def _job_path(argv: list[str]) -> str:
    """The job file: `argv[0]`, or with WAIT_FOR_JOB (and perhaps the sandbox's name) the line the
    grader writes to stdin once it has a job for this judge (grader.judge.launch.Judge), what every job
    needs being imported meanwhile."""
    if argv[0] != WAIT_FOR_JOB:
        return argv[0]
    for module in (*SANDBOX_PRELOAD.get(argv[1] if len(argv) > 1 else "", ()), *PRELOAD):
        if select.select([sys.stdin], [], [], 0)[0]:  # the job came: its runner starts first
            break
        importlib.import_module(module)
    line = sys.stdin.readline().strip()
    if not line:
        raise SystemExit(0)  # the grader went away, or discarded this spare judge
    return line


def limit_judge_memory(megabytes: int) -> None:
    """A soft RLIMIT_DATA on this process: an allocation past it is a MemoryError in the test that made
    it (see plugin), not a machine brought to swapping."""
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    want = megabytes << 20
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (want, hard))


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The result is on disk and the sandbox closed: tearing down pytest's, numpy's and the docker SDK's
    # modules would only keep the grader waiting (0.1-0.4 s a submission).
    os._exit(status)
