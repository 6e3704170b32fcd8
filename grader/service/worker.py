"""Grade queued jobs in the background: fetch the pushed commit, grade it, store the report.

`grade_job` is the unit of work: a plain function of (config, job) that returns (report or None, error
or None) and touches no database. Where the grading itself runs is the `grade` callable it is given, the
executor seam: `grader.pipeline.grade.grade` on this machine (the default; `workers` threads grade at once), or
the `grade` method of `grader.pipeline.executors.DaskExecutor` (same signature, thread-safe) when
`grader serve --cluster ADDRESS` names a Dask cluster. The commit is fetched with `grader.ingest.git` (shallow, no
hooks, filters, submodules or LFS, nothing from the repository run) from the URL the course's config
and roster give, never from the webhook payload, into a per-job folder removed afterwards. A commit
that is not in the roster's repository is recorded as `fetch_error`: no grade, never a zero.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable

from grader.ingest import git
from grader.pipeline.grade import grade as grade_here
from grader.errors import SubmissionError
from grader.service.config import ServiceConfig
from grader.sandbox.warm import WarmPools
from grader.service.store import Store
from grader.spec import AssignmentSpec, find_assignment

LOG = logging.getLogger("grader.service")
NICE = 10   # the grading threads' nice value (see background_priority)


GradeFunction = Callable[..., dict]   # grade_here's signature: (spec, source, *, sandbox, name, previous) -> report


def grade_job(config: ServiceConfig, job: dict, *, grade: GradeFunction = grade_here,
              previous: dict | None = None) -> tuple[dict | None, str | None]:
    """(report, None) for a fetched and graded commit, (None, reason) when it could not be fetched.

    `previous` is the student's last report for this step: when the commit's graded files, the step
    and the grader are the same (its fingerprint, as `grader grade` checks a report it finds), that
    verdict is the commit's too and no judge runs. A push that changes only a README costs a fetch."""
    spec = find_assignment(config.course, job["assignment"])
    config.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"job-{job['id']}-", dir=config.work_dir))
    try:
        if job.get("upload") is not None:
            source = scratch / "submission.zip"
            source.write_bytes(job["upload"])
        else:
            student = config.student_for(job["repository"])[0]
            try:
                source = git.fetch(config.clone_url_for(student), job["commit_sha"], scratch)
                _check_commit(source, job["commit_sha"])
            except SubmissionError as exc:
                return None, f"commit {job['commit_sha'][:12]} of {student.repository}: {exc}"
            shutil.rmtree(source / ".git")   # what is graded is the commit's files, as a plain folder
        last = None
        if previous is not None:
            last = scratch / "previous.json"
            last.write_text(json.dumps(previous, allow_nan=False))
        return grade(spec, source, sandbox=config.sandbox, name=job["student"], previous=last), None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _check_commit(checkout: Path, commit: str) -> None:
    head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True,
                          timeout=30).stdout.strip()
    if head != commit:
        raise SubmissionError(f"fetched {head or 'nothing'} instead of the pushed commit")


def background_priority() -> None:
    """Make the calling thread, and every process it starts (git, the judge, the runners), yield the CPU.

    Grading is background work and answering a webhook is not: the forge waits for the answer (and
    redelivers when it is slow), while a grade a second later changes nothing. On Linux a nice value
    belongs to a thread and is inherited by the processes it starts, so the worker threads and their
    gradings run at NICE while the thread serving HTTP keeps its priority. Elsewhere, or where it is not
    allowed, nothing changes."""
    if sys.platform != "linux":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), max(NICE, os.getpriority(os.PRIO_PROCESS, 0)))
    except OSError as exc:
        LOG.warning("grading runs at the service's own priority", extra={"fields": {"error": str(exc)}})


class Worker:
    """`config.workers` threads that each claim a job, grade it with `grade` and store the result."""

    def __init__(self, config: ServiceConfig, store: Store, grade: GradeFunction = grade_here) -> None:
        self.config, self.store, self.grade = config, store, grade
        # Grading here under docker: warm containers per step with pushes (not for a cluster's grade).
        self.pools = WarmPools(config.warm) if grade is grade_here and config.sandbox == "docker" else None
        if self.pools:
            self.grade = self._grade_warm
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.finished: Callable[[], None] = lambda: None  # told after each job (the status poster's nudge)
        self.threads = [threading.Thread(target=self._loop, name=f"worker-{n}", daemon=True)
                        for n in range(max(1, config.workers))]

    def start(self) -> None:
        requeued = self.store.requeue_running()
        if requeued:
            LOG.warning("requeued jobs a stopped service left running", extra={"fields": {"jobs": requeued}})
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        for thread in self.threads:
            thread.join(timeout=5)
        if self.pools:
            self.pools.close()

    def _grade_warm(self, spec: AssignmentSpec, source: Path, **options) -> dict:
        """grade_here with a warm container of the step's pool where it has one ready."""
        return grade_here(spec, source, warm=self.pools.taker(spec), **options)

    def _loop(self) -> None:
        background_priority()
        while not self.stopping.is_set():
            job = self.store.claim()
            if job is None:
                self.wake.wait(timeout=1.0)
                self.wake.clear()
                continue
            self._run(job)

    def _run(self, job: dict) -> None:
        LOG.info("grading", extra={"fields": {"job": job["id"], "student": job["student"],
                                              "assignment": job["assignment"], "commit": job["commit_sha"]}})
        result = "fetch_error"
        try:
            previous = self.store.latest_report(job["student"], job["assignment"])
            report, error = grade_job(self.config, job, grade=self.grade, previous=previous)
        except Exception as exc:  # our fault (the judge, the sandbox, a bug): no grade, never a zero
            if self.stopping.is_set():
                return  # left `running`: the next start requeues it
            LOG.exception("grading raised", extra={"fields": {"job": job["id"]}})
            report, error, result = None, f"the grader failed: {type(exc).__name__}: {exc}", "infra_error"
        forge_knows = bool(self.config.forge_api) and job.get("upload") is None   # an upload has no commit
        self.store.finish(job["id"], report=report, error=error, post_status=forge_knows, result=result)
        self.finished()
        LOG.info("graded", extra={"fields": {"job": job["id"], "status": report and report["status"],
                                             "score": report and report["score"], "error": error}})
