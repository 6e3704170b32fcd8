"""What grading costs against its floor, measured side by side in one run (`make bench`).

The floor is in-process pytest on the reference: the step's public and hidden tests in one pytest
process that imports the reference solution directly (no runner, no judge, no report), timed as a whole
command like everything else. Against it, for one assignment (05-backprop by default):

1. Whole command: `grader grade STEP SOLUTION --sandbox docker|local` as a subprocess (CLI start,
   ingest, judge, runner, report), and the same grading with an unsandboxed runner (a plain
   subprocess: the same protocol, no jail) started the same way (bench/unsandboxed.py).
2. Per call: a cold runner start (a new container under docker) and one proxied round trip of a small
   array and of a 10 MB array, per sandbox.
3. Per batch: N submissions (copies of the reference and the example mistakes) through `grader grade
   -j 1` and `-j 2`, per sandbox, against N runs of the floor; docker with a warm container per job (`--warm N`)
   and cold (`--warm 0`, every runner's container started when it is needed).

Every measurement is taken in interleaved rounds (each round visits every sandbox, in a rotating
order), so a busy neighbour on the machine slows all columns alike; each cell is the median with
min-max. Ratios are to the floor (commands) or to the unsandboxed runner (calls). Prints one table and
writes every sample to out/bench.json. It grades only what the course ships, and removes its copies.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

COURSE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(COURSE))

from grader.authoring.examples import cases_for  # noqa: E402  (after the path: runnable as a plain script)
from grader.judge.checks import Measured  # noqa: E402
from grader.judge.figures import Figures  # noqa: E402
from grader.judge.plugin import load_reference  # noqa: E402
from grader.judge.proxy import RunnerSession, derive_seed  # noqa: E402
from grader.sandbox import RunnerConfig, make_backend, shelf  # noqa: E402
from grader.spec import Limits  # noqa: E402
from grader.spec import AssignmentSpec, find_assignment  # noqa: E402

GRADER = [sys.executable, "-m", "grader"]
CALL_SANDBOXES = {"unsandboxed": ("local", False), "local": ("local", True), "docker": ("docker", True)}
SHELF_OFF = {"docker cold": {"GRADER_SHELF_SECONDS": "0"}}
ECHO = "def echo(x):\n    return x\n"
SMALL = np.arange(16, dtype=np.float64).reshape(4, 4)
LARGE = np.random.default_rng(0).random(10 << 17)  # 10 MB of float64
# The targets (17), beside the figures they judge: (row, column) -> (text, test on the median).
TARGETS = {
    ("whole command", "local"): ("<= 1.3x floor", lambda v, floor: v <= 1.3 * floor),
    ("whole command", "docker"): ("<= 1.3x floor", lambda v, floor: v <= 1.3 * floor),
    ("small-array call", "local"): ("<= 0.2 ms", lambda v, _: v <= 0.2e-3),
    ("small-array call", "docker"): ("<= 0.2 ms", lambda v, _: v <= 0.2e-3),
    ("10 MB array call", "local"): ("<= 20 ms", lambda v, _: v <= 20e-3),
    ("10 MB array call", "docker"): ("<= 20 ms", lambda v, _: v <= 20e-3),
}


# -- the floor (run as a subprocess of this script; the unsandboxed command is bench/unsandboxed.py) ---
class InProcess:
    """The reference as a test's `submission`: its functions called in this process, and
    `submission.lazy` calls (grader.judge.proxy.Lazy) made at once."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> object:
        return self if name == "lazy" else getattr(self._module, name)


class FloorPlugin:
    """The fixtures the course's tests ask for, served by the reference imported in this process."""

    def __init__(self, spec: AssignmentSpec) -> None:
        self.spec, self.module = spec, load_reference(spec)

    def pytest_configure(self, config) -> None:
        for marker in ("points(n)", "call_seconds(s)", "judge_cpu_seconds(s)", "group_points(n)"):
            config.addinivalue_line("markers", marker)

    @pytest.fixture
    def submission(self) -> InProcess:
        return InProcess(self.module)

    @pytest.fixture(scope="session")
    def reference(self) -> ModuleType:
        return self.module

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> np.random.Generator:
        return np.random.default_rng(derive_seed(self.spec.seed, request.node.nodeid))

    @pytest.fixture
    def figures(self) -> Figures:
        return Figures()

    @pytest.fixture
    def measured(self) -> Measured:
        return Measured()

    @pytest.fixture(scope="session")
    def data_dir(self) -> Path:
        return self.spec.root / "data"

    @pytest.fixture(scope="session")
    def sandbox_gpu(self) -> None:
        return None

    @pytest.fixture(scope="session")
    def mnist(self) -> dict[str, np.ndarray]:
        from grader.judge.datasets import load_mnist

        return load_mnist(self.spec.course / "data" / "mnist")


def run_floor(assignment: str) -> int:
    """pytest over the public and hidden tests against the reference, in this process; exit 0 = all pass."""
    spec = find_assignment(COURSE, assignment)
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as scratch:
        ini = Path(scratch) / "pytest.ini"
        ini.write_text("[pytest]\n")
        folders = [str(f) for f in (spec.public_tests, spec.hidden_tests) if f.is_dir()]
        code = pytest.main([*folders, "-c", str(ini), "--rootdir", str(spec.root / "tests"),
                            "--import-mode=importlib", "-p", "no:cacheprovider", "--strict-markers",
                            "-q", "--no-header", "-rN", "--tb=short"], plugins=[FloorPlugin(spec)])
    return int(code)


# -- measurements --------------------------------------------------------------------------------------
def rotated(names: list[str], round_: int) -> list[str]:
    shift = round_ % len(names)
    return names[shift:] + names[:shift]


def timed_command(argv: list[str], out: Path, expect_full: bool, env: dict | None = None) -> float:
    """Seconds for one command; it must succeed and, for a grading, give full marks."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=COURSE, capture_output=True, text=True,
                          env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", **(env or {})})
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)} exited {proc.returncode}:\n{proc.stdout[-2000:]}"
                         f"{proc.stderr[-2000:]}")
    if expect_full:
        for path in out.glob("*.json"):
            report = json.loads(path.read_text())
            if report.get("score") != report.get("max_score"):
                raise SystemExit(f"bench: {path.name}: {report.get('score')}/{report.get('max_score')} "
                                 f"({report.get('status')}: {report.get('reason')}); "
                                 "the reference must score full")
    return seconds


def whole_commands(spec: AssignmentSpec, sandboxes: list[str], rounds: int, scratch: Path) -> dict:
    """name -> seconds per round, for the floor and each way of grading the reference."""
    me = [sys.executable, str(Path(__file__).resolve())]
    commands = {"floor": (me + ["--run-floor", spec.id], False)}
    if "unsandboxed" in sandboxes:
        commands["unsandboxed"] = ([sys.executable, str(Path(__file__).resolve().parent / "unsandboxed.py"),
                                    spec.id, str(scratch / "unsandboxed")], True)
    for sandbox in ("local", "docker"):
        if sandbox in sandboxes:
            commands[sandbox] = (GRADER + ["grade", spec.id, str(spec.solution), "--out",
                                           str(scratch / sandbox), "--sandbox", sandbox, "--force"], True)
    if "docker" in sandboxes:  # the shelf off: the command starts its own container
        commands["docker cold"] = commands["docker"]
    samples: dict[str, list[float]] = {name: [] for name in commands}
    warm_up = [list(commands)]  # one each: page cache, image, bytecode, and the shelf's first container
    for round_, names in enumerate(warm_up + [rotated(list(commands), r) for r in range(rounds)]):
        for name in names:
            argv, full = commands[name]
            seconds = timed_command(argv, scratch / name, full, env=SHELF_OFF.get(name))
            if round_ >= len(warm_up):
                samples[name].append(seconds)
            if name == "docker":
                _shelf_settled(spec)
    return samples


def _shelf_settled(spec: AssignmentSpec) -> None:
    """Wait (untimed) until the shelf holds the container the last docker command's restocker is
    making, so its CPU never lands in the next command's time (up to 30 s)."""
    deadline = time.monotonic() + 30
    while not shelf.claimable(spec.needs, spec.limits) and time.monotonic() < deadline:
        time.sleep(0.1)


def calls(sandboxes: list[str], rounds: int, small_calls: int, large_calls: int, scratch: Path) -> dict:
    """sandbox -> {start, small, large: seconds per sample}: a cold runner per round, then its calls."""
    workspace = scratch / "echo"
    workspace.mkdir()
    (workspace / "m.py").write_text(ECHO)
    workspace.chmod(0o755)
    (workspace / "m.py").chmod(0o644)
    api = {"m.py": ["echo"]}
    names = [n for n in CALL_SANDBOXES if n in sandboxes]
    samples = {n: {"start": [], "small": [], "large": []} for n in names}
    for round_ in range(rounds + 1):  # round 0 warms up and is not counted
        for name in rotated(names, round_):
            sandbox, isolate = CALL_SANDBOXES[name]
            limits = Limits()
            backend = make_backend(sandbox, RunnerConfig(workspace, api, 1), limits, isolate=isolate)
            session = RunnerSession(backend, limits, api, seed=1)
            try:
                started = time.perf_counter()
                session.call_function("echo", (SMALL,), {})  # starts the runner
                start = time.perf_counter() - started
                small = _call_times(session, SMALL, small_calls)
                large = _call_times(session, LARGE, large_calls)
            finally:
                session.close()
                backend.close()
            if round_:
                samples[name]["start"].append(start)
                samples[name]["small"].append(statistics.median(small))
                samples[name]["large"].extend(large)
    return samples


def _call_times(session: RunnerSession, value: np.ndarray, count: int) -> list[float]:
    runs = []
    for _ in range(count):
        started = time.perf_counter()
        back = session.call_function("echo", (value,), {})
        runs.append(time.perf_counter() - started)
        if back.shape != value.shape:
            raise SystemExit(f"bench: echo returned shape {back.shape}, sent {value.shape}")
    return runs


def busy_core_seconds() -> float:
    """Core-seconds this machine has spent busy since boot (all processes: the engine's daemons too)."""
    with open("/proc/stat") as f:
        ticks = [int(t) for t in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait


def batches(spec: AssignmentSpec, sandboxes: list[str], size: int, jobs: list[int], rounds: int,
            scratch: Path) -> tuple[dict, dict]:
    """'sandbox -jN' -> seconds per round for `grader grade` over `size` submissions, and the same
    names -> the machine's busy core-seconds in each of those rounds."""
    cases = cases_for(spec)
    sources = []
    for i in range(size):
        case = cases[i % len(cases)]
        target = scratch / "in" / f"{i:03d}-{case.name}"
        shutil.copytree(case.path, target) if case.path.is_dir() else shutil.copy(case.path, target)
        sources.append(str(target))
    # docker with a warm container per job (the default only while a core is left over) and cold only
    variants = {"local": ("local", []), "docker": ("docker", ["--warm", "{j}"]),
                "docker cold": ("docker", ["--warm", "0"])}
    runs = {f"{name} -j{j}": GRADER + ["grade", spec.id, *sources, "--out", str(scratch / "batch"),
                                       "--sandbox", sandbox, "-j", str(j), "--force",
                                       *(x.format(j=j) for x in extra)]
            for name, (sandbox, extra) in variants.items() if sandbox in sandboxes for j in jobs}
    samples: dict[str, list[float]] = {name: [] for name in runs}
    busy: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(rounds):
        for name in rotated(list(runs), round_):
            before = busy_core_seconds()
            samples[name].append(timed_command(runs[name], scratch / "batch", expect_full=False))
            busy[name].append(busy_core_seconds() - before)
            reports = [json.loads(p.read_text()) for p in (scratch / "batch").glob("*.json")]
            bad = [r.get("reason") for r in reports if r.get("status") != "graded"]
            if len(reports) != size or bad:
                raise SystemExit(f"bench: {name}: {len(reports)} reports of {size}, not graded: {bad}")
    return samples, busy


# -- the table -----------------------------------------------------------------------------------------
def cell(values: list[float], scale: float, unit: str, base: float | None) -> str:
    med = statistics.median(values)
    text = f"{med * scale:.3g} {unit} ({min(values) * scale:.3g}-{max(values) * scale:.3g})"
    return text + (f" x{med / base:.2f}" if base else "")


def _paired(values: list[float], base: list[float]) -> str:
    """The median of the per-round differences (both measured in the same round), with min-max."""
    diffs = [v - b for v, b in zip(values, base)]
    return (f"{statistics.median(diffs):+.2f} s ({min(diffs):+.2f}..{max(diffs):+.2f})")


def render(results: dict, columns: list[str]) -> str:
    rows: list[tuple[str, dict[str, str], str]] = []
    whole = results["whole_s"]
    floor = statistics.median(whole["floor"])
    rows.append(("whole command", {c: cell(whole[c], 1, "s", floor) for c in whole}, "x: to the floor"))
    if "unsandboxed" in whole:
        rows.append(("overhead over unsandboxed", {c: _paired(whole[c], whole["unsandboxed"])
                                                   for c in ("local", "docker", "docker cold") if c in whole},
                     "paired in each round; target: docker <= 0.2 s, local <= 0.1 s"))
    call = results["calls_s"]
    base = call.get("unsandboxed")
    for key, label, scale, unit in (("start", "cold runner start", 1, "s"),
                                    ("small", "small-array call", 1e3, "ms"),
                                    ("large", "10 MB array call", 1e3, "ms")):
        ref = statistics.median(base[key]) if base else None
        rows.append((label, {c: cell(v[key], scale, unit, ref) for c, v in call.items()},
                     "x: to unsandboxed"))
    rows += _batch_rows(results, floor)
    verdicts = []
    for (row, column), (text, test) in TARGETS.items():
        if row == "whole command" and column in whole:
            value = statistics.median(whole[column])
        elif row != "whole command" and column in call:
            value = statistics.median(call[column]["small" if row.startswith("small") else "large"])
        else:
            continue
        verdicts.append(f"{row}, {column}: {text}: {'met' if test(value, floor) else 'NOT met'}")
    width = [max(len(r[0]) for r in rows)] + [34] * len(columns)
    lines = ["".join(h.ljust(w) for h, w in zip(["", *columns], width)) + "note"]
    for label, cells, note in rows:
        lines.append("".join(t.ljust(w) for t, w in zip([label, *[cells.get(c, "") for c in columns]],
                                                        width)) + note)
    return "\n".join(lines + ["", "targets (issue 17), on medians:", *["  " + v for v in verdicts]])


def _batch_rows(results: dict, floor: float) -> list[tuple[str, dict[str, str], str]]:
    """The batch rows: times against the floor, CPU per submission, -j2's speed-up and its ceiling."""
    rows: list[tuple[str, dict[str, str], str]] = []
    size, by_jobs = results.get("batch_size"), {}
    for name, values in results.get("batch_s", {}).items():
        sandbox, jobs = name.rsplit(" ", 1)
        by_jobs.setdefault(jobs, {})[sandbox] = cell(values, 1, "s", size * floor)
    for jobs, cells in by_jobs.items():
        rows.append((f"batch of {size}, {jobs}", cells, f"x: to {size} x floor"))
    for jobs in by_jobs:
        if cpu := _per_submission(results, jobs):
            rows.append((f"CPU per submission, {jobs}", cpu, "core-s, the whole machine's"))
    speedups, ceilings = {}, {}
    batch = results.get("batch_s", {})
    for sandbox in ("local", "docker", "docker cold"):
        one, two = batch.get(f"{sandbox} -j1"), batch.get(f"{sandbox} -j2")
        if one and two:
            speedups[sandbox] = f"x{statistics.median(one) / statistics.median(two):.2f}"
        if one and (ceiling := jobs_ceiling(one, results.get("batch_cpu", {}).get(f"{sandbox} -j1"),
                                            results.get("cores", os.cpu_count() or 1))):
            ceilings[sandbox] = f"x{ceiling:.2f}"
    if speedups:
        rows.append(("-j2 speed-up over -j1", speedups, "target: docker >= 1.8x"))
    if ceilings:
        rows.append(("-j2 ceiling on these cores", ceilings, "cores / cores busy at -j1"))
    return rows


def _per_submission(results: dict, jobs: str) -> dict[str, str]:
    """Column -> the median busy core-seconds per submission of the batch rows at `jobs` ('-j1')."""
    size = results.get("batch_size") or 1
    return {name.rsplit(" ", 1)[0]: f"{statistics.median(values) / size:.2f}"
            for name, values in results.get("batch_cpu", {}).items() if name.endswith(f" {jobs}")}


def jobs_ceiling(wall: list[float], busy: list[float] | None, cores: int) -> float | None:
    """The most any -jN can gain over -j1 on `cores` cores when the work per submission stays the same:
    the cores over the cores -j1 already keeps busy (its spare judges and warm containers use the core
    its one job leaves). None without a CPU measurement."""
    if not busy:
        return None
    return cores / (statistics.median(busy) / statistics.median(wall))


def _load(averages: tuple[float, float, float]) -> str:
    return "/".join(f"{a:.1f}" for a in averages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="05-backprop")
    parser.add_argument("--sandboxes", default="unsandboxed,local,docker",
                        help="comma-separated, of unsandboxed, local, docker (default: all three)")
    parser.add_argument("--rounds", type=int, default=5, 
                        help="interleaved rounds of whole commands and calls")
    parser.add_argument("--calls", type=int, default=200, help="small-array calls per runner")
    parser.add_argument("--large-calls", type=int, default=5, help="10 MB calls per runner")
    parser.add_argument("--batch", type=int, default=6, help="submissions per batch (0: no batch)")
    parser.add_argument("--batch-rounds", type=int, default=1, help="interleaved rounds of the batches")
    parser.add_argument("--out", type=Path, default=COURSE / "out" / "bench.json")
    parser.add_argument("--run-floor", metavar="STEP", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_floor:
        return run_floor(args.run_floor)
    sandboxes = [s.strip() for s in args.sandboxes.split(",") if s.strip()]
    unknown = sorted(set(sandboxes) - set(CALL_SANDBOXES))
    if unknown or args.rounds < 1:
        parser.error(f"--sandboxes: unknown {unknown}" if unknown else "--rounds must be at least 1")
    spec = find_assignment(COURSE, args.assignment)

    print(f"dl-grader bench: {spec.id}, {platform.node()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; {args.rounds} interleaved rounds, batch of {args.batch}", flush=True)
    results: dict = {"assignment": spec.id, "rounds": args.rounds, "batch_size": args.batch}
    began = time.perf_counter()
    results["load_before"] = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        scratch = Path(folder)
        print("  whole commands...", flush=True)
        results["whole_s"] = whole_commands(spec, sandboxes, args.rounds, scratch)
        print("  calls...", flush=True)
        results["calls_s"] = calls(sandboxes, args.rounds, args.calls, args.large_calls, scratch)
        if args.batch:
            print("  batches...", flush=True)
            results["batch_s"], results["batch_cpu"] = batches(spec, sandboxes, args.batch, [1, 2],
                                                               args.batch_rounds, scratch)
            results["cores"] = os.cpu_count()
    columns = ["floor", *[s for s in CALL_SANDBOXES if s in sandboxes]]
    if "docker" in sandboxes:
        columns.append("docker cold")  # the shelf off (whole command), --warm 0 (batches)
    print("\nmedian (min-max) and ratio, measured side by side in this run\n")
    print(render(results, columns))
    results["load_after"] = os.getloadavg()
    print(f"\nbench took {time.perf_counter() - began:.0f} s; load average (1, 5, 15 min) before "
          f"{_load(results['load_before'])}, after {_load(results['load_after'])} on {os.cpu_count()} CPUs")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"every sample written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
