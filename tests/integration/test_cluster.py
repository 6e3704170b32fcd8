"""Does grading on a Dask cluster give the very reports that `-j 2` gives, even when a worker dies?

Real processes on 127.0.0.1: a `dask scheduler` and `grader worker`s (which exec `dask worker`). One
step's examples keep it short (the engine is what is tested here, not the steps). Reports are compared
whole, less what is measured (timings, each test's duration).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.batch import grade_batch
from grader.ingest import submission_name
from grader.pipeline.executors import DaskExecutor
from grader.report.write import read_report
from grader.spec import find_assignment
from tests.conftest import COURSE

distributed = pytest.importorskip("distributed", reason="distributed is a declared dependency")
STEP = "01-numpy-basics"
GRADER = [sys.executable, "-m", "grader"]
START_TIMEOUT = 60


def comparable(report: dict) -> dict:
    """The report less what is measured rather than decided."""
    kept = {k: v for k, v in report.items() if k != "timings"}
    kept["tests"] = [{k: v for k, v in t.items() if k != "duration"} for t in report["tests"]]
    return kept


class Cluster:
    """A scheduler on a free loopback port and the workers started for it; stops only its own."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.workers, self.port = tmp, [], _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "2"}
        self.scheduler = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", str(self.port), "--dashboard-address", ":0"],
            env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / "scheduler.log", "wb"))

    def add_worker(self, course: Path = COURSE) -> subprocess.Popen:
        log = open(self.tmp / f"worker-{len(self.workers)}.log", "wb")
        proc = subprocess.Popen([*GRADER, "--course", str(course), "worker", "--scheduler", self.address,
                                 "--no-docker", "--no-nanny", "--nthreads", "1"],
                                stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(proc)
        return proc

    def client(self):
        return distributed.Client(self.address, timeout=START_TIMEOUT)

    def alive(self) -> list[subprocess.Popen]:
        return [w for w in self.workers if w.poll() is None]

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def spec():
    return find_assignment(COURSE, STEP)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two grading workers, shared by the tests of this module."""
    started = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        started.add_worker()
        started.add_worker()
        with started.client() as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT)
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def threads_reports(spec, local_example_reports):
    """The same examples graded with `-j 2` (shared with the examples test when both run), by name."""
    return local_example_reports(spec)


@pytest.mark.slow
def test_cluster_reports_equal_threads_reports(spec, cluster, threads_reports, tmp_path):
    """Graded by two workers over TCP, is every report the -j 2 report, written by the client?"""
    cases, expected = threads_reports
    with DaskExecutor(cluster.address) as executor:
        reports = grade_batch(spec, [c.path for c in cases], tmp_path, sandbox="local", progress=None,
                              executor=executor)
    assert {n: comparable(r) for n, r in reports.items()} == {n: comparable(r) for n, r in expected.items()}
    written = {p.stem: comparable(read_report(p)) for p in tmp_path.glob("*.json")}
    assert written == {n: comparable(r) for n, r in expected.items()}


@pytest.mark.slow
def test_a_worker_killed_mid_job_loses_no_report(spec, cluster, threads_reports, tmp_path):
    """SIGKILL the worker that is grading: is the job rescheduled and every report still the same?"""
    cases, expected = threads_reports
    for _ in range(2 - len(cluster.alive())):
        cluster.add_worker()
    ours = {w.pid: w for w in cluster.workers}
    with cluster.client() as client, DaskExecutor(cluster.address) as executor:
        client.wait_for_workers(2, timeout=START_TIMEOUT)
        result: dict = {}
        batch = threading.Thread(target=lambda: result.update(grade_batch(
            spec, [c.path for c in cases], tmp_path, sandbox="local", progress=None,
            executor=executor)))
        batch.start()
        victim = _busy_worker(client)
        pid = client.run(os.getpid, workers=[victim])[victim]
        assert pid in ours, "the busy worker is not one this test started"
        os.kill(pid, signal.SIGKILL)
        batch.join(timeout=300)
    assert not batch.is_alive(), "the batch did not finish after a worker was killed"
    assert ours[pid].wait(timeout=30) == -signal.SIGKILL
    assert {n: comparable(r) for n, r in result.items()} == {n: comparable(r) for n, r in expected.items()}
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == sorted(expected)


def _busy_worker(client, timeout: float = 60) -> str:
    """The address of a worker that is running a grading job right now."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for address, keys in client.processing().items():
            if any(str(k).startswith("grade-") for k in keys):
                return address
        time.sleep(0.05)
    raise AssertionError("no worker started a grading job within 60 s")


@pytest.mark.slow
def test_a_worker_with_another_course_refuses_with_both_hashes(spec, tmp_path):
    """A worker whose copy of the step differs: infra_error naming both hashes, never a grade."""
    course = tmp_path / "course"
    for part in ("assignments", "solutions"):
        shutil.copytree(COURSE / part / STEP, course / part / STEP)
    changed = next((course / "assignments" / STEP / "tests" / "hidden").glob("test_*.py"))
    changed.write_text(changed.read_text() + "\n# a later edit the client does not have\n")
    other = Cluster(tmp_path)
    try:
        other.add_worker(course)
        with other.client() as client:
            client.wait_for_workers(1, timeout=START_TIMEOUT)
        with DaskExecutor(other.address) as executor:
            reports = grade_batch(spec, [spec.solution], tmp_path / "out", sandbox="local", progress=None,
                                  executor=executor)
    finally:
        other.stop()
    (report,) = reports.values()
    assert report["status"] == "infra_error" and report["score"] is None
    from grader.api import assignment_hash
    from grader.spec import load_spec

    theirs = assignment_hash(load_spec(course / "assignments" / STEP, course=course))
    assert f"course hash of {STEP} is {theirs}" in report["reason"]
    assert f"the client's is {assignment_hash(spec)}" in report["reason"]


@pytest.mark.slow
def test_local_cluster_from_the_command_line(spec, threads_reports, tmp_path):
    """`grader grade ... --cluster local:2` with nothing else started: exit 0, the -j 2 reports."""
    cases, expected = threads_reports
    picked = [c for c in cases if c.name in ("reference", "starter")]
    proc = subprocess.run([*GRADER, "--course", str(COURSE), "grade", STEP, *[str(c.path) for c in picked],
                           "--out", str(tmp_path), "--sandbox", "local", "--cluster", "local:2"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "grading on the Dask cluster" in proc.stderr
    for case in picked:
        name = submission_name(case.path)
        assert comparable(read_report(tmp_path / f"{name}.json")) == comparable(expected[name])
