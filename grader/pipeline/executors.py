"""Where a batch's grading jobs run: on this machine (threads, the default) or on a Dask cluster.

The batch calls `executor.grade(...)` from its threads exactly where it would call `grader.pipeline.grade.grade`, so the
progress it shows and the reports it writes (it is their only writer) are the same whichever engine
grades. The Dask executor ingests each submission here, ships its files with the hashes a worker must
match, asks the scheduler for the resources the job needs (a GPU, a Docker engine), and turns what can
go wrong on a cluster into reports: a job whose workers keep dying is an infra_error report, and once
the scheduler is lost it says so and every job left is an infra_error report (never reused, so the
same command run again grades exactly those). It never grades anything itself and never lets a
worker write a file on this machine.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path
from typing import ContextManager, TextIO

from grader.errors import GraderError, InfrastructureError
from grader.pipeline.job import Job, failure_report, oversized, prepare, run_job
from grader.pipeline.worker import CLUSTER_ENV, machine_resources
from grader.spec import AssignmentSpec

# A job whose worker died this many times in a row is the submission's doing (it is given up on with
# an infra_error); Dask's scheduler setting `distributed.scheduler.allowed-failures` counts the same.
WORKER_DEATHS = 3
# Jobs the batch keeps in flight per worker thread of the cluster, so no worker waits for the client,
# and at least this many (workers that join later, e.g. Slurm jobs still queued, find work waiting).
IN_FLIGHT_PER_THREAD = 2
IN_FLIGHT_MIN = 8


class DaskExecutor:
    """`--cluster tcp://HOST:8786` (a running scheduler) or `--cluster local:N` (started here)."""

    def __init__(self, address: str, *, log: TextIO | None = None) -> None:
        try:
            import distributed
        except ImportError:
            raise InfrastructureError("--cluster needs the `distributed` package (pip install distributed)"
                                      ) from None
        self.address, self.log, self.cluster = address, log, None
        self._futures: set = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._gone: str | None = None  # why the scheduler is lost, once it is
        self._placements: dict[tuple[str, str], dict] = {}
        if address.startswith("local:"):
            self.cluster = _local_cluster(address)
        try:
            # Connecting, and reconnecting after a loss, waits `distributed.comm.timeouts.connect`.
            self.client = distributed.Client(self.cluster or address)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise InfrastructureError(f"no Dask scheduler answers at {address}: {exc}") from None
        self._say(f"grader: grading on the Dask cluster {self.cluster_address}; dashboard: "
                  f"{self.client.dashboard_link}{_dashboard_note()}")

    @property
    def cluster_address(self) -> str:
        return self.client.scheduler.address if self.client.scheduler else self.address

    @property
    def slots(self) -> int:
        """How many jobs the batch should keep submitted at once (its thread count)."""
        try:
            workers = self.client.scheduler_info(n_workers=-1)["workers"].values()
        except Exception:  # noqa: BLE001 (a lost scheduler shows on the first job)
            return 1
        return max(IN_FLIGHT_MIN, IN_FLIGHT_PER_THREAD * sum(w.get("nthreads", 1) for w in workers))

    def grade(self, spec: AssignmentSpec, source: Path, *, sandbox: str = "local", isolate: bool = True,
              name: str, previous: Path | None = None) -> dict:
        """The report for `source`, graded by a worker (as `grader.pipeline.grade.grade` does here). Thread-safe."""
        job = prepare(spec, source, name=name, sandbox=sandbox, isolate=isolate, previous=previous)
        if isinstance(job, dict):  # its report is current: nothing to grade
            return job
        if why := oversized(job) or self._gone:
            return failure_report(job, why)
        try:
            future = self._submit(job, self._placement(spec, sandbox))
        except InfrastructureError as exc:  # no worker offers what the job needs
            return failure_report(job, str(exc))
        except Exception as exc:  # noqa: BLE001 (the client is closed once its scheduler is gone)
            return failure_report(job, self._lose(exc))
        try:
            self._await(future)
            return self._report(future, job)
        finally:
            with self._lock:
                self._futures.discard(future)

    def _await(self, future) -> None:
        from distributed import CancelledError, wait

        while True:
            try:
                return wait(future, timeout=1)
            except CancelledError:
                return
            except TimeoutError:
                if self._stopped.is_set():  # cancel() may not reach a scheduler that is gone
                    raise KeyboardInterrupt from None

    def cancel(self) -> None:
        """Cancel every job submitted and not finished (Ctrl-C, or the batch stopped)."""
        self._stopped.set()
        with self._lock:
            futures, self._futures = list(self._futures), set()
        if futures:
            with contextlib.suppress(Exception):
                self.client.cancel(futures)

    def _submit(self, job: Job, placement: dict):
        future = self.client.submit(run_job, job, key=f"grade-{job.assignment}-{job.name}-{job.key[:12]}",
                                    **placement)
        with self._lock:
            self._futures.add(future)
        return future

    def _report(self, future, job: Job) -> dict:
        from distributed import KilledWorker

        if future.status == "finished":
            return future.result()
        if future.status == "cancelled":
            if self._stopped.is_set():  # our own cancel(): the user stopped the batch; no report
                raise KeyboardInterrupt
            return failure_report(job, self._lose(_cancel_reason(future)))
        if future.status != "error":  # "lost": the scheduler dropped it
            return failure_report(job, f"the Dask scheduler reports the job as {future.status}")
        error = future.exception()
        if isinstance(error, KilledWorker):
            return failure_report(job, f"the submission was running on {WORKER_DEATHS} Dask workers when "
                                       f"each of them died (the last: {error.last_worker.address}); it "
                                       "is not graded, so that it stops taking workers down with it")
        return failure_report(job, f"the job failed on a Dask worker: {type(error).__name__}: {error}")

    def _lose(self, why: object) -> str:
        """Note (once, loudly) that the scheduler is gone; every job from now on is an infra_error.

        Those reports are never reused, so running the same command again grades exactly them."""
        with self._lock:
            if not self._gone:
                self._gone = (f"lost the Dask scheduler at {self.address} ({str(why).splitlines()[0]}); "
                              "not graded: run the same command again to finish the batch (the "
                              "reports graded so far are kept)")
                self._say(f"grader: {self._gone}")
        return self._gone

    def _placement(self, spec: AssignmentSpec, sandbox: str) -> dict:
        """The scheduler's restrictions for this assignment's jobs: resources and preferred workers."""
        with self._lock:
            if (spec.id, sandbox) not in self._placements:
                self._placements[spec.id, sandbox] = self._place(spec, sandbox)
            return self._placements[spec.id, sandbox]

    def _place(self, spec: AssignmentSpec, sandbox: str) -> dict:
        resources = {}
        if sandbox == "docker":
            resources["sandbox-docker"] = 1
        if spec.gpu is True:
            resources["GPU"] = 1
        offered = self._workers_offering(resources)
        if resources and not offered:
            what = ", ".join(f"{k}={v}" for k, v in resources.items())
            if self.cluster is not None:  # nobody will join a cluster we started ourselves
                raise InfrastructureError(f"no worker of {self.address} offers {what}, which "
                                          f"{spec.id} needs (sandbox {sandbox}, gpu = {spec.gpu})")
            self._say(f"grader: no worker offers {what} yet; {spec.id}'s jobs wait until one joins")
        placement: dict = {"resources": resources or None, "pure": False}
        if spec.gpu == "optional" and (gpu_workers := self._workers_offering({"GPU": 1})):
            placement.update(workers=gpu_workers, allow_other_workers=True)
        return placement

    def _workers_offering(self, resources: dict) -> list[str]:
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        return [address for address, info in workers.items()
                if all(info.get("resources", {}).get(k, 0) >= v for k, v in resources.items())]

    def _say(self, line: str) -> None:
        if self.log is not None:
            self.log.write(line + "\n")
            self.log.flush()

    def close(self) -> None:
        self.cancel()
        for thing in (getattr(self, "client", None), self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001 (closing after the scheduler is gone may fail)
                    pass

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _dashboard_note() -> str:
    try:
        import bokeh  # noqa: F401 (the dashboard is served only where it is installed)
    except ImportError:
        return " (served where bokeh is installed: pip install bokeh)"
    return ""


def _cancel_reason(future) -> str:
    try:
        future.result(timeout=0)
    except BaseException as exc:  # noqa: BLE001 (the cancellation carries the reason)
        return str(exc).strip() or type(exc).__name__
    return "cancelled"


def _local_cluster(address: str):
    """A LocalCluster of N worker processes, one job each, with this machine's resources."""
    from distributed import LocalCluster

    try:
        count = int(address.removeprefix("local:"))
        assert count >= 1
    except (ValueError, AssertionError):
        raise GraderError(f"--cluster {address}: expected local:N with N >= 1 worker processes") from None
    return LocalCluster(n_workers=count, threads_per_worker=1, processes=True, dashboard_address=":0",
                        silence_logs=logging.ERROR, resources=machine_resources(jobs=1),
                        scheduler_kwargs={"allowed_failures": WORKER_DEATHS - 1})


def open_executor(cluster: str | None, *, log: TextIO | None = None) -> ContextManager[DaskExecutor | None]:
    """A client of the Dask cluster `cluster` (or $GRADER_CLUSTER); None (threads here) without one."""
    cluster = cluster or os.environ.get(CLUSTER_ENV) or None
    return DaskExecutor(cluster, log=log) if cluster else contextlib.nullcontext()

