"""What the sandboxes cost, measured side by side in one run (`make bench`).

1. Per submission: grading the reference solution of one assignment end to end (ingest, judge, report)
   under docker, the jailed local sandbox, and an unsandboxed runner (a plain subprocess: the same
   tests and protocol with no jail, the floor any out-of-process grader pays).
2. Per call: one proxied call through the judge's RunnerSession with a small value and a 10 MB array.
3. Per batch: N submissions (default 50; reference and example mistakes) at -j 1 and -j 2.

Prints a table with ratios against the unsandboxed runner, and writes the figures to out/bench.json.
It never grades anything the course does not ship, and removes every copy it makes.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COURSE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(COURSE))

from grader.api import grade  # noqa: E402  (after the path: runnable as a plain script)
from grader.batch import grade_batch  # noqa: E402
from grader.examples import cases_for  # noqa: E402
from grader.judge.proxy import RunnerSession  # noqa: E402
from grader.sandbox import Limits, RunnerConfig, make_backend  # noqa: E402
from grader.spec import find_assignment  # noqa: E402

SANDBOXES = {  # name -> (sandbox, isolate)
    "docker": ("docker", True),
    "local (jailed)": ("local", True),
    "unsandboxed": ("local", False),
}
ECHO = "def echo(x):\n    return x\n"


def per_submission(spec, repeats: int) -> dict[str, float]:
    """Median seconds to grade the reference once, per sandbox (after one warm-up run each)."""
    seconds = {}
    for name, (sandbox, isolate) in SANDBOXES.items():
        grade(spec, spec.solution, sandbox=sandbox, isolate=isolate)
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            report = grade(spec, spec.solution, sandbox=sandbox, isolate=isolate)
            runs.append(time.perf_counter() - started)
            assert report["score"] == report["max_score"], (name, report.get("reason"))
        seconds[name] = statistics.median(runs)
    return seconds


def per_call(calls: int) -> dict[str, dict[str, float]]:
    """Median round trip of one proxied call, small and 10 MB, per sandbox; and the runner's start."""
    figures = {}
    small, large = 1, np.random.default_rng(0).random(10 << 17)  # 10 MB of float64
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        workspace = Path(folder)
        (workspace / "m.py").write_text(ECHO)
        workspace.chmod(0o755)
        (workspace / "m.py").chmod(0o644)
        for name, (sandbox, isolate) in SANDBOXES.items():
            limits = Limits()
            api = {"m.py": ["echo"]}
            backend = make_backend(sandbox, RunnerConfig(workspace, api, 1), limits, isolate=isolate)
            session = RunnerSession(backend, limits, api, seed=1)
            try:
                started = time.perf_counter()
                session.call_function("echo", (small,), {})  # starts the runner
                start = time.perf_counter() - started
                figures[name] = {"start_s": start,
                                 "small_ms": 1e3 * _median_call(session, small, calls),
                                 "10MB_ms": 1e3 * _median_call(session, large, max(5, calls // 20))}
            finally:
                session.close()
                backend.close()
    return figures


def _median_call(session: RunnerSession, value, calls: int) -> float:
    runs = []
    for _ in range(calls):
        started = time.perf_counter()
        session.call_function("echo", (value,), {})
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def per_batch(spec, size: int, jobs: list[int]) -> dict[str, dict[int, float]]:
    """Seconds for a batch of `size` submissions (copies of the examples), per sandbox and -j."""
    figures: dict[str, dict[int, float]] = {}
    cases = cases_for(spec)
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as folder:
        sources = []
        for i in range(size):
            case = cases[i % len(cases)]
            target = Path(folder) / "in" / f"{i:03d}-{case.name}"
            shutil.copytree(case.path, target) if case.path.is_dir() else shutil.copy(case.path, target)
            sources.append(target)
        for name, (sandbox, isolate) in SANDBOXES.items():
            figures[name] = {}
            for j in jobs:
                out = Path(folder) / "out" / f"{sandbox}-{isolate}-{j}"
                started = time.perf_counter()
                reports = grade_batch(spec, sources, out, sandbox=sandbox, isolate=isolate, jobs=j,
                                      force=True, progress=None)
                figures[name][j] = time.perf_counter() - started
                assert all(r["status"] == "graded" for r in reports.values()), name
    return figures


def table(title: str, rows: dict[str, dict[str, float]], unit: str, base: str = "unsandboxed") -> str:
    columns = list(next(iter(rows.values())))
    lines = [f"\n{title}", f"  {'':16}" + "".join(f"{c:>22}" for c in columns)]
    for name, values in rows.items():
        cells = []
        for column in columns:
            ratio = values[column] / rows[base][column] if rows[base][column] else float("nan")
            cells.append(f"{values[column]:>10.3f} {unit:<2} x{ratio:<6.2f}")
        lines.append(f"  {name:16}" + "".join(f"{c:>22}" for c in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="05-backprop")
    parser.add_argument("--repeats", type=int, default=5, help="gradings per sandbox for the overhead")
    parser.add_argument("--calls", type=int, default=200, help="small calls per sandbox")
    parser.add_argument("--batch", type=int, default=50, help="submissions per batch (0: skip)")
    parser.add_argument("--out", type=Path, default=COURSE / "out" / "bench.json")
    args = parser.parse_args(argv)
    spec = find_assignment(COURSE, args.assignment)

    print(f"dl-grader sandbox benchmark: {args.assignment}, {platform.node()}, "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}", flush=True)
    results: dict = {"assignment": args.assignment}
    results["submission_s"] = per_submission(spec, args.repeats)
    print(table("one submission, end to end (median)", {k: {"seconds": v} for k, v in
                                                        results["submission_s"].items()}, "s"), flush=True)
    results["call"] = per_call(args.calls)
    print(table("one proxied call (median), and the runner's start", results["call"], ""), flush=True)
    if args.batch:
        results["batch_s"] = per_batch(spec, args.batch, [1, 2])
        rows = {k: {f"-j{j}": v for j, v in by_jobs.items()} for k, by_jobs in results["batch_s"].items()}
        print(table(f"a batch of {args.batch} submissions", rows, "s"), flush=True)
        for name, by_jobs in results["batch_s"].items():
            print(f"  {name}: -j2 is x{by_jobs[1] / by_jobs[2]:.2f} faster than -j1, "
                  f"{by_jobs[2] / args.batch:.2f} s per submission")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"\nfigures written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
