"""bench/sandbox.py: its floor (in-process pytest on the reference) really runs the step's tests, and its
table gives ratios to the floor and judges the issue's targets on medians."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from grader.spec import find_assignment

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "sandbox.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_sandbox", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_floor_runs_public_and_hidden_tests_against_the_reference():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--run-floor", "05-backprop"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    passed = int(proc.stdout.strip().splitlines()[-1].split()[0])
    spec = find_assignment(ROOT, "05-backprop")
    collected = sum(path.read_text().count("\ndef test_")
                    for folder in (spec.public_tests, spec.hidden_tests) for path in folder.glob("test_*.py"))
    assert passed >= collected > 0  # parametrised tests may add more, never fewer


def test_table_ratios_and_targets():
    bench = _bench()
    results = {
        "whole_s": {"floor": [1.0, 1.1, 0.9], "unsandboxed": [1.2, 1.2, 1.2], "local": [1.25, 1.2, 1.3],
                    "docker": [2.0, 2.1, 1.9]},
        "calls_s": {name: {"start": [0.1], "small": [s], "large": [l]} for name, s, l in
                    (("unsandboxed", 1e-4, 0.010), ("local", 1e-4, 0.015), ("docker", 4e-4, 0.030))},
        "batch_s": {"local -j1": [6.0], "local -j2": [3.2]},
        "batch_cpu": {"local -j1": [9.0], "local -j2": [6.2]},
        "batch_size": 4,
        "cores": 2,
    }
    text = bench.render(results, ["floor", "unsandboxed", "local", "docker"])
    assert "2 s (1.9-2.1) x2.00" in text  # docker's whole command: median, min-max, ratio to the floor
    assert "+0.05 s (+0.00..+0.10)" in text  # local over unsandboxed, paired per round
    assert "+0.80 s (+0.70..+0.90)" in text
    assert "x1.88" in text  # -j2 speed-up
    assert "2.25" in text and "1.55" in text  # busy core-seconds per submission at -j1 and -j2
    assert "x1.33" in text  # -j1 kept 1.5 of the 2 cores busy: no -jN can gain more than 2 / 1.5
    assert "whole command, local: <= 1.3x floor: met" in text
    assert "whole command, docker: <= 1.3x floor: NOT met" in text
    assert "small-array call, docker: <= 0.2 ms: NOT met" in text
    assert "10 MB array call, local: <= 20 ms: met" in text
