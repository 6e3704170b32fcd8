"""What grading on a Dask cluster costs against `-j 2` on the same machine (`make bench-cluster`).

N copies (default 40) of one step's example submissions (reference, starter, mistakes) are graded
twice, in the local sandbox: by the batch's own two threads (`-j 2`), and through a `dask scheduler`
and two `grader worker` processes (one job each) on 127.0.0.1, as `--cluster tcp://...` does. Both
runs keep two jobs running at once, so the difference is the engine: shipping each job, the
scheduler's round trips, the worker checking its course. With --rounds R the two runs alternate R
times and each keeps its median (a shared machine's load drifts). Prints each run's wall time, the
per-job cost, the overhead as a ratio, Dask's own per-task round trip, and checks the two runs'
reports are equal (less timings). Writes the figures to out/bench-cluster.json.

It starts and stops only its own processes and removes every copy it makes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COURSE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(COURSE))

import distributed  # noqa: E402  (after the path: runnable as a plain script)

from grader.pipeline import grade as grading  # noqa: E402
from grader.pipeline.batch import grade_batch  # noqa: E402
from grader.authoring.examples import cases_for  # noqa: E402
from grader.pipeline.executors import DaskExecutor  # noqa: E402
from grader.spec import find_assignment  # noqa: E402

WORKERS = 2
START_TIMEOUT = 120


def copies(spec, count: int, folder: Path) -> list[Path]:
    """`count` submissions: the step's example cases in turn, each copied under its own name."""
    cases = cases_for(spec)
    folder.mkdir(parents=True)
    made = []
    for index in range(count):
        case = cases[index % len(cases)]
        target = folder / f"s{index:03d}-{case.name}"
        if case.path.is_dir():
            shutil.copytree(case.path, target)
        else:  # keep the suffix: it says how the submission is read (.py, .zip, .ipynb)
            target = target.with_name(target.name + "".join(case.path.suffixes))
            shutil.copy(case.path, target)
        made.append(target)
    return made


def start_cluster(logs: Path) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler and WORKERS `grader worker`s (local sandbox only) on a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--dashboard-address", ":0"],
                              stdout=subprocess.DEVNULL, stderr=open(logs / "scheduler.log", "wb"))]
    for index in range(WORKERS):
        procs.append(subprocess.Popen([sys.executable, "-m", "grader", "--course", str(COURSE), "worker",
                                       "--scheduler", address, "--no-docker", "--nthreads", "1"],
                                      stdout=subprocess.DEVNULL,
                                      stderr=open(logs / f"worker{index}.log", "wb")))
    with distributed.Client(address, timeout=START_TIMEOUT) as client:
        client.wait_for_workers(WORKERS, timeout=START_TIMEOUT)
    return address, procs


def engine_round_trip(address: str, tasks: int) -> tuple[float, float]:
    """Seconds per empty task: one at a time (latency), and `tasks` at once (throughput)."""
    with distributed.Client(address) as client:
        started = time.perf_counter()
        for index in range(20):
            client.submit(abs, -index, pure=False).result()
        one = (time.perf_counter() - started) / 20
        started = time.perf_counter()
        client.gather(client.map(abs, range(-tasks, 0), pure=False))
        many = (time.perf_counter() - started) / tasks
    return one, many


def comparable(report: dict) -> dict:
    """The report less what is measured, and less the fingerprint (tests/integration compares that)."""
    kept = {k: v for k, v in report.items() if k not in ("timings", "fingerprint")}
    kept["tests"] = [{k: v for k, v in t.items() if k != "duration"} for t in report["tests"]]
    return kept


def timed_batch(spec, subs: list[Path], out: Path, **how) -> tuple[float, dict]:
    started = time.perf_counter()
    reports = grade_batch(spec, subs, out, sandbox="local", force=True, progress=None, **how)
    return time.perf_counter() - started, reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=40, metavar="N")
    parser.add_argument("--step", default="01-numpy-basics", help="the step whose examples are copied")
    parser.add_argument("--rounds", type=int, default=1, metavar="R",
                        help="alternate the two runs R times and keep each one's median (a busy machine)")
    args = parser.parse_args()
    spec = find_assignment(COURSE, args.step)
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    procs: list[subprocess.Popen] = []
    try:
        subs = copies(spec, args.submissions, tmp / "subs")
        started = time.perf_counter()
        address, procs = start_cluster(tmp)
        start_s = time.perf_counter() - started
        threads_runs, cluster_runs = [], []
        with DaskExecutor(address) as executor:
            for _ in range(args.rounds):
                seconds, threads = timed_batch(spec, subs, tmp / "threads", jobs=WORKERS)
                threads_runs.append(seconds)
                grading.grader_hash.cache_clear()  # a shared checkout may be edited while this runs
                seconds, cluster = timed_batch(spec, subs, tmp / "cluster", executor=executor)
                cluster_runs.append(seconds)
        threads_s, cluster_s = statistics.median(threads_runs), statistics.median(cluster_runs)
        one, many = engine_round_trip(address, 200)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    same = {n: comparable(r) for n, r in threads.items()} == {n: comparable(r) for n, r in cluster.items()}
    for name, report in cluster.items():
        if not same and report["status"] != threads[name]["status"]:
            print(f"{name}: {report['status']} on the cluster: {report['reason']}", file=sys.stderr)
    figures = print_table(args, spec, threads_s, cluster_s, start_s, one, many, same)
    out = COURSE / "out" / "bench-cluster.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if same else 1


def print_table(args, spec, threads_s: float, cluster_s: float, start_s: float, one: float, many: float,
                same: bool) -> dict:
    n = args.submissions
    figures = {"step": spec.id, "submissions": n, "workers": WORKERS, "threads_seconds": round(threads_s, 2),
               "cluster_seconds": round(cluster_s, 2), "cluster_start_seconds": round(start_s, 2),
               "per_job_threads_s": round(threads_s / n, 3), "per_job_cluster_s": round(cluster_s / n, 3),
               "overhead_ratio": round(cluster_s / threads_s, 3),
               "overhead_per_job_s": round((cluster_s - threads_s) / n, 3),
               "dask_task_latency_ms": round(one * 1e3, 2), "dask_task_throughput_ms": round(many * 1e3, 3),
               "rounds": args.rounds, "reports_equal": same, "cpus": os.cpu_count(),
               "python": platform.python_version(), "distributed": distributed.__version__,
               "load_average": [round(x, 2) for x in os.getloadavg()]}
    print(f"{n} submissions of {spec.id} (local sandbox), {WORKERS} at a time, on {os.cpu_count()} CPUs")
    print(f"  -j {WORKERS} threads             {threads_s:7.1f} s   {threads_s / n:6.2f} s per job")
    print(f"  dask, {WORKERS} grader workers    {cluster_s:7.1f} s   {cluster_s / n:6.2f} s per job"
          f"   (cluster start {start_s:.1f} s, not counted)")
    print(f"  engine overhead per job  {(cluster_s - threads_s) / n:+7.2f} s   "
          f"ratio dask / -j {WORKERS} = {cluster_s / threads_s:.2f}")
    print(f"  dask empty task          {one * 1e3:7.1f} ms one at a time, {many * 1e3:.2f} ms each "
          f"when 200 are queued")
    print(f"  reports equal (less timings): {'yes' if same else 'NO'}")
    return figures


if __name__ == "__main__":
    sys.exit(main())
