"""Does grading on a Dask cluster give the very reports that `-j 2` gives, even when a worker dies?

Real processes on 127.0.0.1: a `dask scheduler` and `grader worker`s (which exec `dask worker`). Some
examples of every step go through `grader examples --cluster` once; the fault tests (a killed worker,
a lost scheduler, Ctrl-C) use 01's examples, which are quick. Reports are compared whole, less what is
measured (timings, each test's duration).
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

from grader.pipeline.batch import grade_batch
from grader.authoring.examples import cases_for
from grader.ingest.workspace import submission_name
from grader.pipeline.executors import DaskExecutor
from grader.report.write import read_report
from grader.spec import find_assignment
from tests.conftest import COURSE, TRAINS_SECONDS, quickest_mistakes, reports_by_case

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
        tmp.mkdir(parents=True, exist_ok=True)
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
        try:
            return distributed.Client(self.address, timeout=START_TIMEOUT)
        except OSError as exc:
            raise AssertionError(f"{exc}; scheduler log: {self.log_tail('scheduler.log')}") from None

    def log_tail(self, name: str) -> str:
        return (self.tmp / name).read_text(errors="replace")[-2000:]

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
def test_every_steps_examples_through_the_cluster_option_equal_the_j2_reports(cluster, local_example_reports,
                                                                             tmp_path):
    """`grader examples <steps> --only ... --cluster ADDRESS`: every step's starter and quickest mistake,
    and the reference of every step whose reference does not train a network (over TRAINS_SECONDS under
    local: 11's CNN, 16's torch MLP), graded by the two workers, each report the -j 2 report of the same
    submission (less its name: -j 2 names the reference after its folder). 16's starter still shows that
    a worker's runner finds torch as the local sandbox does (without it the report would be `skipped`).
    Every example is pinned through the threads (tests/authoring/test_examples.py); this compares the
    cluster's path: all 142 examples through it again took 234 s of the suite, the two trainings 40 s."""
    from grader.spec import find_assignments

    steps = {step.id: step for step in find_assignments(COURSE)}
    chosen = {step_id: _cluster_examples(*local_example_reports(step)) for step_id, step in steps.items()}
    groups: dict[bool, list[str]] = {}
    for step_id, names in chosen.items():
        groups.setdefault("reference" in names, []).append(step_id)
    graded = 0
    for with_reference, step_ids in groups.items():
        names = set().union(*(chosen[step_id] for step_id in step_ids))
        out = tmp_path / ("with-reference" if with_reference else "without")
        _examples_on_the_cluster(cluster, step_ids, names, out)
        for step_id in step_ids:
            cases, reports = local_example_reports(steps[step_id])
            for case, expected in zip(cases, reports.values()):
                if case.name not in names:
                    assert not (out / step_id / f"{case.name}.json").exists(), "--only graded too much"
                    continue
                got, want = _unnamed(read_report(out / step_id / f"{case.name}.json")), _unnamed(expected)
                assert got == want, (step_id, case.name, {k: (got.get(k), want.get(k)) for k in {*got, *want}
                                                          if got.get(k) != want.get(k)})
                graded += 1
    assert graded > 2 * len(chosen)  # every starter, most references, and mistakes


def _cluster_examples(cases: list, reports: dict[str, dict]) -> set[str]:
    """The examples of one step that the cluster test grades: its starter, its quickest mistake, and its
    reference unless grading that trains a network."""
    by_case = reports_by_case(cases, reports)
    names = {"starter"} | {case.name for case in quickest_mistakes(cases, by_case, 1)}
    return names | ({"reference"} if by_case["reference"]["timings"]["seconds"] <= TRAINS_SECONDS else set())


def _examples_on_the_cluster(cluster, step_ids: list[str], names: set[str], out: Path) -> None:
    only = [arg for name in sorted(names) for arg in ("--only", name)]
    proc = subprocess.run([*GRADER, "--course", str(COURSE), "examples", *step_ids, *only, "--out", str(out),
                           "--sandbox", "local", "--cluster", cluster.address],
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "grading on the Dask cluster" in proc.stderr


def _unnamed(report: dict) -> dict:
    return {k: v for k, v in comparable(report).items() if k != "submission"}


@pytest.mark.slow
def test_the_cluster_can_be_named_by_the_environment(spec, cluster, threads_reports, tmp_path):
    """GRADER_CLUSTER in place of --cluster: the same cluster, the same report."""
    cases, expected = threads_reports
    starter = next(c for c in cases if c.name == "starter")
    proc = subprocess.run([*GRADER, "--course", str(COURSE), "grade", STEP, str(starter.path), "--out",
                           str(tmp_path), "--sandbox", "local"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "GRADER_CLUSTER": cluster.address})
    assert proc.returncode == 0, proc.stderr
    assert "grading on the Dask cluster" in proc.stderr
    name = submission_name(starter.path)
    assert comparable(read_report(tmp_path / f"{name}.json")) == comparable(expected[name])


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
        pid = _kill_busy_worker(client, set(ours))
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
    raise AssertionError(f"no worker started a grading job within {timeout} s")


def _kill_busy_worker(client, ours: set[int]) -> int:
    """SIGKILL the worker running a grading job (one this test started); wait until the scheduler knows."""
    victim = _busy_worker(client)
    pid = client.run(os.getpid, workers=[victim])[victim]
    assert pid in ours, "the busy worker is not one this test started"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + START_TIMEOUT
    while victim in client.scheduler_info(n_workers=-1)["workers"] and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid


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
    from grader.pipeline.grade import assignment_hash
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


@pytest.mark.slow
def test_a_submission_that_keeps_killing_workers_ends_as_infra_error(spec, tmp_path):
    """Three workers die in a row under one job: an infra_error saying so, not a batch stuck forever."""
    other = Cluster(tmp_path)  # its scheduler gives a job up after 3 deaths (allowed-failures 2)
    try:
        other.add_worker()
        other.add_worker()
        with other.client() as client, DaskExecutor(other.address) as executor:
            client.wait_for_workers(2, timeout=START_TIMEOUT)
            result: dict = {}
            batch = threading.Thread(target=lambda: result.update(grade_batch(
                spec, [spec.solution], tmp_path / "out", sandbox="local", progress=None, executor=executor)))
            batch.start()
            for _ in range(3):
                _kill_busy_worker(client, {w.pid for w in other.workers})
                other.add_worker()  # a fresh worker for the job to land on next
            batch.join(timeout=300)
    finally:
        other.stop()
    (report,) = result.values()
    assert report["status"] == "infra_error" and report["score"] is None
    assert "was running on 3 Dask workers when each of them died" in report["reason"]


@pytest.mark.slow
def test_a_lost_scheduler_stops_with_exit_3_and_a_rerun_finishes(spec, tmp_path):
    """Scheduler killed mid-batch: the client says so, exits 3; a rerun reuses what was graded."""
    cases = cases_for(spec)
    command = [*GRADER, "--course", str(COURSE), "grade", STEP, *[str(c.path) for c in cases],
               "--out", str(tmp_path / "out"), "--sandbox", "local", "--cluster"]
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"}
    first = Cluster(tmp_path)
    try:
        first.add_worker()
        with first.client() as client:
            client.wait_for_workers(1, timeout=START_TIMEOUT)
        batch = subprocess.Popen([*command, first.address], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not list((tmp_path / "out").glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.1)
        first.scheduler.kill()
        _, stderr = batch.communicate(timeout=300)
    finally:
        first.stop()
    assert batch.returncode == 3, stderr
    assert "lost the Dask scheduler" in stderr
    kept = {p.stem: read_report(p) for p in (tmp_path / "out").glob("*.json")}
    graded = {n: r for n, r in kept.items() if r["status"] == "graded"}
    assert graded and len(graded) < len(cases), {n: r["reason"] for n, r in kept.items()}
    second = Cluster(tmp_path / "again")
    try:
        second.add_worker()
        with second.client() as client:
            client.wait_for_workers(1, timeout=START_TIMEOUT)
        rerun = subprocess.run([*command, second.address], env=env, capture_output=True, text=True,
                               timeout=600)
    finally:
        second.stop()
    assert rerun.returncode == 0, rerun.stderr
    final = {p.stem: read_report(p) for p in (tmp_path / "out").glob("*.json")}
    assert len(final) == len(cases) and all(r["status"] == "graded" for r in final.values())
    redone = [n for n, r in graded.items() if final[n]["timings"] != r["timings"]]
    # (A fingerprint that changed means the grader's code changed between the runs: that regrades.)
    assert not redone, {n: (graded[n]["fingerprint"][:12], final[n]["fingerprint"][:12]) for n in redone}


def test_readme_slurm_config_builds_and_prints_its_job_script():
    """Does the README's dask-jobqueue config build a SLURMCluster whose job script asks for a GPU,
    declares the grading resources and points the worker at the course? (No Slurm needed.)"""
    pytest.importorskip("dask_jobqueue", reason="dask-jobqueue is a declared dependency")
    readme = (COURSE / "README.md").read_text()
    section = readme[readme.index("### Workers on Slurm GPU nodes"):]
    start = section.index("```python\n") + len("```python\n")
    block = section[start:section.index("\n```", start)]
    proc = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    script = proc.stdout
    assert script.startswith("#!/usr/bin/env bash") and "#SBATCH --gres=gpu:1" in script
    assert "distributed.cli.dask_worker tcp://" in script
    assert "--resources GPU=1,sandbox-docker=4" in script and "--nthreads 4" in script
    assert "export GRADER_COURSE=/shared/dl-course" in script


@pytest.mark.slow
def test_jobs_ask_for_what_their_step_needs(spec, cluster):
    """Docker jobs ask for sandbox-docker, gpu = true for a GPU; nobody offering it is said, not hidden."""
    import dataclasses
    import io

    log = io.StringIO()
    with DaskExecutor(cluster.address, log=log) as executor:  # its workers offer neither
        placement = executor._placement(dataclasses.replace(spec, gpu=True), "docker")
        assert placement["resources"] == {"sandbox-docker": 1, "GPU": 1}
        assert f"no worker offers sandbox-docker=1, GPU=1 yet; {spec.id}'s jobs wait" in log.getvalue()
        assert executor._placement(spec, "local")["resources"] is None
        optional = executor._placement(dataclasses.replace(spec, id="x-optional", gpu="optional"), "local")
        assert optional["resources"] is None and "workers" not in optional  # no GPU worker to prefer


def test_grader_worker_declares_its_resources_to_dask():
    """`grader worker` runs `dask worker` with one process, N threads and the resources it found."""
    from grader.pipeline.worker import worker_command

    command = worker_command("tcp://head:8786", nthreads=4, resources={"sandbox-docker": 4, "GPU": 2},
                             name="gpu-node-1")
    assert command[1:4] == ["-m", "distributed.cli.dask_worker", "tcp://head:8786"]
    assert command[command.index("--resources") + 1] == "GPU=2,sandbox-docker=4"
    assert command[command.index("--nthreads") + 1] == "4" and "--no-nanny" not in command
    proc = subprocess.run([*GRADER, "--course", str(COURSE), "worker", "--scheduler", "tcp://head:8786",
                           "--no-docker", "--print"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"GRADER_COURSE={COURSE} ") and "sandbox-docker" not in proc.stdout


@pytest.mark.slow
def test_ctrl_c_cancels_the_cluster_jobs_and_writes_nothing_half_done(spec, cluster, tmp_path):
    """Ctrl-C on `grader grade --cluster`: exit 130, only finished reports, no job left on the cluster."""
    cases = cases_for(spec)
    for _ in range(2 - len(cluster.alive())):
        cluster.add_worker()
    out = tmp_path / "out"
    proc = subprocess.Popen([*GRADER, "--course", str(COURSE), "grade", STEP, *[str(c.path) for c in cases],
                             "--out", str(out), "--sandbox", "local", "--cluster", cluster.address],
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    written = [read_report(p) for p in out.glob("*.json")]
    assert 1 <= len(written) < len(cases) and all(r["status"] == "graded" for r in written)
    with cluster.client() as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            left = client.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks])
            if not [k for k in left if k.startswith("grade-")]:
                break
            time.sleep(0.2)
        assert not [k for k in left if k.startswith("grade-")], f"jobs left on the cluster: {left}"
