"""One grading job as a value that can travel to another machine, and the function a worker runs on it.

The client ingests a submission (nothing of it is executed there), decides whether its report is
already current, and packs what a worker needs into a `Job`: the submission's files as bytes, named by
their content hash and capped in size, plus the hashes that pin what the grade depends on (the
assignment's tests and data, the grader's own code) and the sandbox's image tag. A worker checks all
three against its own copy of the course before it grades, and answers with a report (a plain dict).
A worker never writes into the client's output folder: the client is the only writer of reports.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import jobdirs
from grader.judge.launch import run_judge
from grader.pipeline import grade as grading
from grader.errors import GraderError, SubmissionError
from grader.ingest.workspace import Workspace, content_hash, ingest
from grader.spec import AssignmentSpec, find_assignment

# What one job may carry over the network. Ingest's own caps (files.max_kb per file, 200 files) keep
# real submissions far below this; a bigger one is graded with `-j` on the machine that holds it.
MAX_JOB_BYTES = 16 << 20
COURSE_ENV = "GRADER_COURSE"  # the course a worker grades against; `grader worker --course` sets it


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to grade one submission, and nothing that names the client's disk."""

    name: str
    assignment: str
    title: str
    course: str            # the client's course root: used by a worker on the same machine only
    assignment_sha: str
    grader_sha: str
    sandbox_tag: str
    sandbox: str
    isolate: bool
    visibility: str
    key: str               # the report's fingerprint, computed by the client
    content_sha: str | None
    files: dict[str, bytes] = field(repr=False, default_factory=dict)
    invalid: str | None = None

    @property
    def size(self) -> int:
        return sum(len(data) for data in self.files.values())


def sandbox_tag(sandbox: str, needs: tuple[str, ...] = ()) -> str:
    """What the runner's environment is for a step that `needs` these modules: the docker image's tag
    (dl-grader-torch for a torch step), or the local Python and numpy and the interpreter that runs it.

    A GPU worker may run a step's CUDA image where the client named the CPU one: the runner code and
    the tests are the same, and the device it ran on is in the report's environment."""
    if sandbox == "docker":
        from grader.sandbox.image import image_tag, variant_for

        return image_tag(variant_for(needs))
    import numpy

    from grader.sandbox.interpreter import runner_interpreter

    tag = f"local:python{platform.python_version()}-numpy{numpy.__version__}"
    runner = runner_interpreter(needs).executable
    return tag if runner == sys.executable else f"{tag}; {'+'.join(needs)} runner {runner}"


def prepare(spec: AssignmentSpec, source: Path, *, name: str, sandbox: str, isolate: bool = True,
            visibility: str = "all", previous: Path | None = None) -> Job | dict:
    """A `Job` for `source`, or the report at `previous` when that one is already current."""
    workspace, invalid = None, None
    try:
        workspace = ingest(source, spec)
    except SubmissionError as exc:
        invalid = str(exc)
    try:
        content_sha = workspace.sha256 if workspace else None
        key = grading.report_key(spec, content_sha, invalid, sandbox, visibility)
        if previous is not None and (cached := grading.current_report(previous, key)):
            return cached
        files = _read_workspace(workspace) if workspace else {}
    finally:
        if workspace:
            workspace.remove()
    return Job(name=name, assignment=spec.id, title=spec.title, course=str(spec.course),
               assignment_sha=grading.assignment_hash(spec), grader_sha=grading.grader_hash(),
               sandbox_tag=sandbox_tag(sandbox, spec.needs), sandbox=sandbox, isolate=isolate,
               visibility=visibility, key=key, content_sha=content_sha, files=files, invalid=invalid)


def _read_workspace(workspace: Workspace) -> dict[str, bytes]:
    return {rel: (workspace.path / rel).read_bytes() for rel in workspace.files}


def run_job(job: Job) -> dict:
    """The report for `job`, graded on this machine (a Dask worker). Never raises for a grading fault.

    A worker whose course or sandbox differs from the client's answers with an infra_error that names
    both sides' hashes: grading against other tests than the client's would be a wrong grade."""
    started = time.time()
    try:
        spec = find_assignment(worker_course(job), job.assignment)
    except GraderError as exc:
        return failure_report(job, f"{where()} cannot grade {job.assignment}: {exc}")
    if mismatch := _mismatch(job, spec):
        return failure_report(job, mismatch)
    workspace = None
    try:
        workspace = _unpack(job, spec) if job.invalid is None else None
        outcome = run_judge(spec, workspace.path if workspace else None, invalid=job.invalid, sandbox=job.sandbox,
                                isolate=job.isolate, visibility=job.visibility)
        return grading.finish_report(spec, name=job.name, workspace=workspace, invalid=job.invalid,
                                 outcome=outcome, started=started, key=job.key)
    except GraderError as exc:
        return failure_report(job, f"{where()}: {exc}")
    finally:
        if workspace:
            workspace.remove()


def worker_course(job: Job) -> Path:
    """This worker's course: $GRADER_COURSE when set (a grading machine), else the client's path."""
    return Path(os.environ.get(COURSE_ENV) or job.course)


def where() -> str:
    return f"worker {socket.gethostname()} (pid {os.getpid()})"


def _mismatch(job: Job, spec: AssignmentSpec) -> str | None:
    """Why this worker must not grade `job`, or None when its course and sandbox are the client's."""
    mine = {"course hash of " + job.assignment: grading.assignment_hash(spec),
            # Hashed afresh for each job: the judge it starts runs the code on disk now.
            "grader code hash": grading.grader_hash.__wrapped__(), "sandbox image tag": sandbox_tag(job.sandbox, spec.needs)}
    theirs = {"course hash of " + job.assignment: job.assignment_sha,
              "grader code hash": job.grader_sha, "sandbox image tag": job.sandbox_tag}
    for what, value in mine.items():
        if value != theirs[what]:
            return (f"{where()} refused the job: its {what} is {value}, the client's is {theirs[what]} "
                    f"(update the worker's course at {spec.course} to the client's and restart it)")
    return None


def _unpack(job: Job, spec: AssignmentSpec) -> Workspace:
    """A workspace of the job's files, ingested again (caps, paths) and checked against its hash."""
    if job.size > MAX_JOB_BYTES:
        raise GraderError(f"the job carries {job.size >> 20} MB, over MAX_JOB_BYTES={MAX_JOB_BYTES >> 20} MB")
    if content_hash(job.files) != job.content_sha:
        raise GraderError(f"the files of {job.name} arrived damaged (content hash differs from "
                          f"{job.content_sha})")
    owned = jobdirs.make_job_dir("grader-job-files-")  # a killed worker's is swept by the next one
    folder = owned / "files"
    try:
        for rel, data in job.files.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        workspace = ingest(folder, spec)
    except SubmissionError as exc:  # it passed the client's ingest: a difference of machines
        raise GraderError(f"the files of {job.name} do not ingest here: {exc}") from None
    finally:
        shutil.rmtree(owned, ignore_errors=True)
    if workspace.sha256 != job.content_sha:
        workspace.remove()
        raise GraderError(f"the files of {job.name} ingest to {workspace.sha256} here, "
                          f"{job.content_sha} on the client")
    return workspace


def failure_report(job: Job, reason: str) -> dict:
    """An infra_error report for `job` (no score): the job could not be graded, for `reason`."""
    from grader.report.build import build_report

    now = time.time()
    assignment = {"id": job.assignment, "title": job.title,
                  "sha256": job.assignment_sha}
    submission = {"name": job.name, "sha256": job.content_sha, "files": sorted(job.files)}
    return build_report(assignment=assignment, submission=submission, outcome={}, started=now,
                        finished=now, fingerprint=job.key, status="infra_error", reason=reason)


def oversized(job: Job) -> str | None:
    """Why `job` cannot be shipped, or None."""
    if job.size > MAX_JOB_BYTES:
        return (f"{job.name} holds {job.size / 2**20:.1f} MB of files, over the cluster's per-job cap "
                f"MAX_JOB_BYTES={MAX_JOB_BYTES >> 20} MB; grade it with -j on this machine")
    return None

