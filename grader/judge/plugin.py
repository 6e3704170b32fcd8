"""The pytest plugin the judge runs the instructor's tests with.

It provides the fixtures tests ask for (`submission`, `reference`, `rng`, `mnist`, `data_dir`,
`figures`, `measured`, `sandbox_gpu`),
requires a `points` marker on every test, takes visibility from the folder (tests/public, tests/hidden),
and turns each test's phases into one outcome: status, score, message, duration. Verdicts the
submission earned (a timeout, a crash) win over whatever the test did with them. It never imports
the submission: tests reach it only through the `submission` proxy.
"""

from __future__ import annotations

import importlib.util
import resource
import signal
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from grader.errors import InfrastructureError, SpecError
from grader.judge.checks import CheckFailed, Measured
from grader.judge.figures import Figures
from grader.judge.proxy import RunnerSession, SubmissionProxy, derive_seed
from grader.judge.verdicts import JudgeLimit, Verdict
from grader.spec import AssignmentSpec

MAX_MESSAGE = 2000
# CPU seconds the judge itself may spend in one test (waiting on the runner costs none), and in all
# tests together: a submission whose values make the judge's checks slow fails those tests instead of
# holding the machine until the judge is killed (an infra_error). The references need under 2 s a test.
JUDGE_TEST_CPU_SECONDS = 30
JUDGE_TOTAL_CPU_SECONDS = 150
# The running judge's plugin, for its session-scoped fixtures: pytest 9 deprecates those as methods of
# an instance (pytest 10 drops them), so they are static methods that find the plugin here.
_JUDGE = pytest.StashKey["JudgePlugin"]()


class JudgePlugin:
    def __init__(self, spec: AssignmentSpec, session: RunnerSession) -> None:
        self.spec, self.session = spec, session
        self.tests: dict[str, dict] = {}  # nodeid -> outcome, in collection order
        self.spec_errors: list[str] = []
        self.infra_error: str | None = None
        self.cpu_spent = 0.0  # judge CPU seconds spent inside tests, against JUDGE_TOTAL_CPU_SECONDS

    # -- configuration and collection ----------------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[_JUDGE] = self
        config.addinivalue_line("markers", "points(n): what the test is worth; required on every test")
        config.addinivalue_line("markers", "call_seconds(s): per-call time limit for this test")
        config.addinivalue_line("markers", "judge_cpu_seconds(s): CPU seconds the judge's own work in this "
                                           f"test may take (default {JUDGE_TEST_CPU_SECONDS})")
        config.addinivalue_line("markers", "group_points(n): on a class or module, n points shared "
                                           "equally by its tests (instead of points per test)")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.spec_errors.append(f"cannot collect {report.nodeid}: {_text(report.longrepr)}")
        elif report.skipped:
            self.spec_errors.append(f"{report.nodeid} skips at module level, which hides its tests from "
                                    "the report; skip inside the tests instead")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        shares = _group_shares(items)
        for item in items:
            self.tests[item.nodeid] = self._blank(item, shares.get(item.nodeid))

    def _blank(self, item: pytest.Item, share: float | None) -> dict:
        path = Path(str(item.path))
        marker = item.get_closest_marker("points")
        points = share if share is not None else marker.args[0] if marker and marker.args else None
        where = f"{path.name}::{item.name}"
        if not isinstance(points, (int, float)) or isinstance(points, bool) or points < 0:
            self.spec_errors.append(f"{where}: needs @pytest.mark.points(N) with N >= 0")
            points = 0
        visibility = "hidden" if "hidden" in path.parts else "visible"
        if visibility == "visible" and "reference" in getattr(item, "fixturenames", ()):
            self.spec_errors.append(f"{where}: a public test cannot use the `reference` fixture "
                                    "(students run public tests without the solution)")
        name = str(path.relative_to(self.spec.root / "tests")) + "::" + item.name
        return {"name": name, "visibility": visibility, "max_score": points, "score": 0,
                "status": "not_run", "message": "not run", "duration": 0.0}

    # -- running ---------------------------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        outcome = yield
        report = outcome.get_result()
        entry = self.tests.get(item.nodeid)
        if entry is None:
            return
        entry["duration"] = round(entry["duration"] + call.duration, 4)
        if call.when == "setup":
            entry.update(status="passed", message="")
        if entry["status"] == "passed":  # the first phase that went wrong tells the story
            status, message = self._judge(call, report)
            if status != "passed":
                entry.update(status=status, message=message[:MAX_MESSAGE])
            if self.infra_error:  # no later test runs: its report would only repeat or bury the cause
                item.session.shouldstop = "infrastructure error"
        if call.when == "teardown":
            entry["score"] = entry["max_score"] if entry["status"] == "passed" else 0
            self.session.verdict = None

    def _judge(self, call: pytest.CallInfo, report: pytest.TestReport) -> tuple[str, str]:
        verdict = self.session.verdict
        excinfo = call.excinfo
        if excinfo is not None and isinstance(excinfo.value, (InfrastructureError, SpecError)):
            self.infra_error = self.infra_error or str(excinfo.value)  # the first cause is the one
            return "error", str(excinfo.value)
        if verdict is not None:  # also when the test caught the verdict and carried on: it stands
            return verdict.status, verdict.message
        if excinfo is not None and isinstance(excinfo.value, Verdict):
            return excinfo.value.status, excinfo.value.message
        if excinfo is None:
            return "passed", ""
        if isinstance(excinfo.value, MemoryError):
            return "error", ("checking what your code returned needed more memory than the grader allows "
                             f"({judge_memory_text()}): are the shapes and sizes of your results right?")
        if report.skipped:
            return "not_run", f"skipped: {_skip_reason(report)}"
        if isinstance(excinfo.value, CheckFailed):
            return "failed", str(excinfo.value)
        if isinstance(excinfo.value, AssertionError):
            return "failed", _crash_message(report) or "assertion failed"
        return "error", f"{excinfo.typename}: {_first_line(excinfo.value)}"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        if self.infra_error:
            item.session.shouldstop = "infrastructure error"

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        """The test body under the judge's own CPU limit (SIGPROF counts this process's CPU time only)."""
        marker = item.get_closest_marker("judge_cpu_seconds")
        per_test = float(marker.args[0]) if marker and marker.args else JUDGE_TEST_CPU_SECONDS
        total_left = JUDGE_TOTAL_CPU_SECONDS - self.cpu_spent
        left = max(0.05, min(per_test, total_left))

        def over(signum: int, frame: Any) -> None:
            if total_left < per_test:
                text = (f"the grader's checks of what your code returned used up their "
                        f"{JUDGE_TOTAL_CPU_SECONDS} s of computing in earlier tests, so this one was stopped")
            else:
                text = (f"checking what your code returned took the grader more than {left:g} s of "
                        "computing (its limit per test)")
            verdict = JudgeLimit(f"{text}: are the shapes of your results right? Arrays that broadcast "
                                 "into something huge cost the check, not your code")
            self.session.verdict = verdict
            self.session.close()  # the signal may have cut a frame in half: the next test starts afresh
            raise verdict

        if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
            yield
            return
        previous = signal.signal(signal.SIGPROF, over)
        started = time.process_time()
        signal.setitimer(signal.ITIMER_PROF, left)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, previous)
            self.cpu_spent += time.process_time() - started

    # -- fixtures --------------------------------------------------------------------------------------
    @pytest.fixture
    def submission(self, request: pytest.FixtureRequest) -> SubmissionProxy:
        marker = request.node.get_closest_marker("call_seconds")
        try:
            self.session.begin_test(request.node.nodeid, marker.args[0] if marker else None)
        except Verdict as verdict:
            # pytest's fixture cache mishandles BaseException; the session keeps the verdict anyway.
            raise RuntimeError(verdict.message) from None
        return SubmissionProxy(self.session)

    @pytest.fixture
    def figures(self, request: pytest.FixtureRequest) -> Figures:
        collected = Figures()
        self._attach(request, "figures", collected.items)
        return collected

    @pytest.fixture
    def measured(self, request: pytest.FixtureRequest) -> Measured:
        """What the test measured of the submission (an accuracy reached), kept in its result."""
        collected = Measured()
        self._attach(request, "measured", collected.values)
        return collected

    def _attach(self, request: pytest.FixtureRequest, key: str, value: object) -> None:
        """Keep `value` (filled in as the test runs) in the running test's result under `key`."""
        entry = self.tests.get(request.node.nodeid)
        if entry is not None:
            entry[key] = value

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> np.random.Generator:
        return np.random.default_rng(derive_seed(self.spec.seed, request.node.nodeid))

    @pytest.fixture(scope="session")
    @staticmethod
    def reference(request: pytest.FixtureRequest) -> ModuleType:
        return load_reference(request.config.stash[_JUDGE].spec)

    @pytest.fixture(scope="session")
    @staticmethod
    def sandbox_gpu(request: pytest.FixtureRequest) -> dict | None:
        """The GPU the sandbox holds for this submission, as the grader measured it there (name, memory,
        driver, torch_cuda), or None: what a test believes about the GPU instead of the student's word."""
        backend = request.config.stash[_JUDGE].session.backend
        gpu = backend.environment().get("gpu") if backend else None
        return gpu if isinstance(gpu, dict) else None

    @pytest.fixture(scope="session")
    @staticmethod
    def data_dir(request: pytest.FixtureRequest) -> Path:
        return request.config.stash[_JUDGE].spec.root / "data"

    @pytest.fixture(scope="session")
    @staticmethod
    def mnist(request: pytest.FixtureRequest) -> dict[str, np.ndarray]:
        from grader.judge.datasets import load_mnist

        return load_mnist(request.config.stash[_JUDGE].spec.course / "data" / "mnist")


def judge_memory_text() -> str:
    soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
    return "no limit set" if soft == resource.RLIM_INFINITY else f"{soft >> 20} MB"


def _group_shares(items: list[pytest.Item]) -> dict[str, float]:
    """nodeid -> points for tests under a `group_points(N)` class or module: N split equally."""
    members: dict[int, list[pytest.Item]] = {}
    totals: dict[int, float] = {}
    for item in items:
        for node in item.listchain():
            marker = next((m for m in node.own_markers if m.name == "group_points"), None)
            if marker is not None and marker.args:
                members.setdefault(id(node), []).append(item)
                totals[id(node)] = marker.args[0]
                break
    return {item.nodeid: round(totals[key] / len(group), 6)
            for key, group in members.items() for item in group}


def load_reference(spec: AssignmentSpec) -> ModuleType:
    """The reference solution as one namespace (trusted code, imported here on the judge's side)."""
    if not spec.solution.is_dir():
        raise SpecError(f"{spec.id}: the reference solution {spec.solution} is not here")
    namespace = ModuleType(f"reference_{spec.short.replace('-', '_')}")
    sys.path.insert(0, str(spec.solution))
    try:
        for filename, names in spec.api.items():
            module_spec = importlib.util.spec_from_file_location(
                f"_reference_{Path(filename).stem}", spec.solution / filename)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            for name in dir(module):
                if not name.startswith("__"):
                    setattr(namespace, name, getattr(module, name))
    finally:
        sys.path.remove(str(spec.solution))
    return namespace


def _text(longrepr: Any) -> str:
    return str(longrepr)[-MAX_MESSAGE:]


def _crash_message(report: pytest.TestReport) -> str:
    """The author's assertion message, without pytest's introspection lines (which hold addresses)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = (getattr(crash, "message", "") or "").removeprefix("AssertionError: ")
    lines = message.splitlines()
    kept = [line for line in lines if not line.startswith(("assert ", " +"))]
    return "\n".join(kept).strip() or (lines[0] if lines else "")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else ""
