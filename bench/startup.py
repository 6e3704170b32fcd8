"""How fast the commands that do not grade answer: CPU seconds of `grader --version`, `list`, `show`.

Each command runs N times as a fresh process (as a user types it); the figure is the median of user +
system CPU time of the child, beside `python -c pass` as the floor, with the ratio to it. A command
over the budget (0.3 s of CPU) makes the script exit 1, so `make bench-startup` fails loudly.

Run from the course root: `python bench/startup.py [--runs N]`. It grades nothing and writes only one
small report (to a temporary folder) for `show` to read.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BUDGET_CPU_SECONDS = 0.3
ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds(command: list[str]) -> float:
    """User + system CPU of one run of `command` (a child process, waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def sample_report(folder: Path) -> Path:
    """A valid report for `show`, built by the report builder (nothing is graded)."""
    sys.path.insert(0, str(ROOT))
    from grader.report.build import build_report
    from grader.report.write import write_report

    report = build_report(
        assignment={"id": "05-backprop", "title": "bench", "sha256": "0" * 64},
        submission={"name": "bench", "sha256": None, "files": []},
        outcome={"tests": [{"name": f"public/test_layers.py::test_{i}", "max_score": 2, "duration": 0.1,
                            "status": "passed" if i % 3 else "failed", "visibility": "visible",
                            "message": "" if i % 3 else "db: shape (3, 5), expected (5,)"}
                           for i in range(20)]},
        started=0.0, finished=1.0, fingerprint="0" * 64,
        status="graded", reason=None)
    target = folder / "bench.json"
    write_report(report, target)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (the median counts)")
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "grader --version": [python, "-m", "grader", "--version"],
            "grader list": [python, "-m", "grader", "list"],
            "grader show REPORT": [python, "-m", "grader", "show", str(sample_report(Path(tmp)))],
        }
        figures = {name: statistics.median(cpu_seconds(cmd) for _ in range(args.runs))
                   for name, cmd in commands.items()}
    floor = max(figures["python -c pass"], 1e-3)
    print(f"| command (median of {args.runs} runs) | CPU seconds | x python -c pass | budget |")
    print("| --- | ---: | ---: | --- |")
    over = []
    for name, seconds in figures.items():
        within = name == "python -c pass" or seconds <= BUDGET_CPU_SECONDS
        over += [] if within else [name]
        budget = "" if name == "python -c pass" else ("ok" if within else f"OVER {BUDGET_CPU_SECONDS} s")
        print(f"| {name} | {seconds:.3f} | x{seconds / floor:.1f} | {budget} |")
    if over:
        print(f"over the {BUDGET_CPU_SECONDS} s CPU budget: {', '.join(over)}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
