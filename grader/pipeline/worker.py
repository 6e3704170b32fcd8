"""`grader worker --scheduler tcp://HOST:8786`: join this machine to a Dask cluster as a grading worker.

It is `dask worker` with what a grading machine needs decided for you: the resources it declares
(`sandbox-docker` where a Docker engine answers, `GPU=<count>` where nvidia-smi finds GPUs, as
`grader doctor` finds them), one job per thread, and the course it grades against ($GRADER_COURSE, so
each job's course hash is checked against this copy). It never grades anything by itself and never
writes a report: jobs come from a client, reports go back to it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from grader.errors import GraderError, InfrastructureError

CLUSTER_ENV = "GRADER_CLUSTER"  # the default scheduler of `grader worker` and of --cluster
BATCH_COMMANDS = ("grade", "examples")  # the commands that grade a batch and so take --cluster


def register(sub: argparse._SubParsersAction) -> None:
    """Add `grader worker`, and `--cluster` to the batch commands (`grade`, `examples`)."""
    for command in BATCH_COMMANDS:
        if command in sub.choices:
            add_cluster_option(sub.choices[command])
    p = sub.add_parser(
        "worker", help="join this machine to a Dask cluster as a grading worker",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  grader worker --scheduler tcp://grader-head:8786             # docker/GPUs as found\n"
               "  grader worker --scheduler tcp://grader-head:8786 --nthreads 4\n"
               "  grader worker --scheduler tcp://127.0.0.1:8786 --no-docker --print   # show the command")
    p.add_argument("--scheduler", default=os.environ.get(CLUSTER_ENV),
                   help=f"the Dask scheduler's address (default: ${CLUSTER_ENV})")
    p.add_argument("--nthreads", type=int, default=1, metavar="N", help="grade N jobs at once (default: 1)")
    p.add_argument("--name", help="the worker's name on the dashboard (default: Dask's)")
    p.add_argument("--no-docker", action="store_true",
                   help="declare no sandbox-docker resource even where an engine answers")
    p.add_argument("--no-nanny", action="store_true",
                   help="no nanny process (a killed worker stays dead instead of being restarted)")
    p.add_argument("--print", action="store_true", dest="print_only",
                   help="print the `dask worker` command and its environment instead of running it")
    p.set_defaults(run=cmd_worker)


def add_cluster_option(parser: argparse.ArgumentParser) -> None:
    """`--cluster ADDRESS` for a command that grades a batch."""
    parser.add_argument("--cluster", metavar="ADDRESS", default=None,
                        help="grade on a Dask cluster instead of threads here: tcp://HOST:8786 (a "
                             "scheduler with `grader worker`s) or local:N (N worker processes started "
                             f"here); default ${CLUSTER_ENV}, else -j threads")


def worker_command(scheduler: str, *, nthreads: int = 1, resources: dict[str, float],
                   name: str | None = None, nanny: bool = True) -> list[str]:
    """The `dask worker` command line for one grading worker process with `nthreads` job slots."""
    if nthreads < 1:
        raise GraderError(f"--nthreads must be at least 1, got {nthreads}")
    command = [sys.executable, "-m", "distributed.cli.dask_worker", scheduler, "--nworkers", "1",
               "--nthreads", str(nthreads)]
    if resources:
        command += ["--resources", ",".join(f"{k}={v:g}" for k, v in sorted(resources.items()))]
    if name:
        command += ["--name", name]
    return command + ([] if nanny else ["--no-nanny"])


def cmd_worker(args: argparse.Namespace) -> int:
    from grader.pipeline.job import COURSE_ENV

    if not args.scheduler:
        raise GraderError(f"grader worker: give --scheduler tcp://HOST:8786 (or set ${CLUSTER_ENV})")
    course = Path(args.course).resolve()
    if not (course / "assignments").is_dir():
        raise GraderError(f"{course}: no assignments/ folder; a worker grades against a course (--course)")
    resources = machine_resources(jobs=args.nthreads, docker=not args.no_docker)
    command = worker_command(args.scheduler, nthreads=args.nthreads, resources=resources,
                             name=args.name, nanny=not args.no_nanny)
    print(f"grader worker: course {course}; resources {resources or 'none'} "
          "(a job needing one not listed is never sent here)", file=sys.stderr)
    if args.print_only:
        print(f"{COURSE_ENV}={shlex.quote(str(course))} {shlex.join(command)}")
        return 0
    sys.stderr.flush()
    os.execve(sys.executable, command, {**os.environ, COURSE_ENV: str(course)})
    return 0  # not reached: the process is now the Dask worker


def machine_resources(*, jobs: int, docker: bool = True) -> dict[str, float]:
    """What a worker running `jobs` jobs at once offers here: Docker and GPUs, as `grader doctor` finds.

    A GPU is offered once per device (the docker sandbox leases each to one job at a time)."""
    from grader.sandbox.image import connect, gpus

    resources: dict[str, float] = {}
    try:
        if docker:
            connect(timeout=5)
            resources["sandbox-docker"] = jobs
    except InfrastructureError:
        pass
    if found := gpus():
        resources["GPU"] = len(found)
    return resources
