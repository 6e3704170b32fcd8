"""Shared fixtures of the framework's own tests."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

from grader import jobdirs
from grader.errors import InfrastructureError
from grader.spec import AssignmentSpec, Limits, find_assignment

if TYPE_CHECKING:
    from grader.judge.proxy import RunnerSession

COURSE = Path(__file__).resolve().parent.parent


# `make test` runs the suite on two pytest-xdist workers (`--dist loadscope`). Its unit of work here is
# a whole module, so a module-scoped fixture (a graded batch, a service) is made once, and the modules
# that use the shared graded examples are one unit, so that `local_example_reports` grades them once.
SHARED_EXAMPLES = "local_example_reports"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        """xdist's scope scheduling with a module as the scope (not a class of it: that would make the
        module's fixtures twice), and every module that uses SHARED_EXAMPLES as one scope. The
        controller sees only node ids, so a module's use is read from its source."""

        uses: dict[str, bool] = {}

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::")[0]
            if module not in self.uses:
                source = config.rootpath / module
                self.uses[module] = source.is_file() and SHARED_EXAMPLES in source.read_text()
            return SHARED_EXAMPLES if self.uses[module] else module

    return ModuleScheduling(config, log)


@pytest.fixture(scope="session")
def course() -> Path:
    return COURSE


@pytest.fixture(scope="session")
def backprop() -> AssignmentSpec:
    return find_assignment(COURSE, "backprop")


@pytest.fixture(scope="session")
def engine():
    """The Docker client, with the sandbox image built. No engine is a failure here, never a skip:
    a CI run that silently skipped every container test would claim a hardening it never checked."""
    from grader.sandbox.image import connect, ensure_image

    try:
        client = connect()
        ensure_image(client)
    except InfrastructureError as exc:
        pytest.fail(f"docker tests need a Docker engine and the sandbox image: {exc}",
                    pytrace=False)
    return client


@pytest.fixture(scope="session")
def local_example_reports(tmp_path_factory):
    """`(cases, reports)` of one step's examples graded once under the local sandbox per test run.

    Grading every example is the suite's largest cost; the examples test, the docker-vs-local test
    and the notebook-vs-py test all compare against the same local reports, so they share one batch.
    """
    from grader.pipeline.batch import grade_batch
    from grader.authoring.examples import cases_for

    graded: dict[str, tuple] = {}

    def get(spec: AssignmentSpec) -> tuple[list, dict]:
        if spec.id not in graded:
            cases = cases_for(spec)
            out = tmp_path_factory.mktemp(f"local-{spec.id}")
            graded[spec.id] = cases, grade_batch(spec, [c.path for c in cases], out, jobs=2, progress=None)
        return graded[spec.id]

    return get


def reports_by_case(cases: list, reports: dict[str, dict]) -> dict[str, dict]:
    """Case name -> its report, for `local_example_reports`' (cases, reports by report name) pair."""
    return dict(zip((case.name for case in cases), reports.values()))


# A mistake that took longer than this to grade under local trains a network (11's CNN: 25 s, 16's
# torch MLP: 12 s; every other step's mistakes grade in under 6 s on this 2-core machine).
TRAINS_SECONDS = 10.0


def quickest_mistakes(cases: list, by_case: dict[str, dict], count: int) -> list:
    """The `count` example mistakes (not the reference or starter) quickest to grade, by their reports'
    own times: what a test grades again elsewhere (docker, notebooks, a cluster) to compare the path, not
    the step. Mistakes that train a network (over TRAINS_SECONDS) are left out, so a training step may
    give none: grading its training once more tests the step's numbers, which are pinned under local,
    and took about 160 core-seconds a run across those three paths."""
    mistakes = [case for case in cases if case.name not in ("reference", "starter")
                and by_case[case.name]["timings"]["seconds"] <= TRAINS_SECONDS]
    return sorted(mistakes, key=lambda case: by_case[case.name]["timings"]["seconds"])[:count]


def uploads_in_turn(worker, store, assignment: str, uploads: list[bytes]) -> list[dict]:
    """Each upload enqueued as alice's next job once the one before is done (one worker thread, so each
    job sees the one before as done), then the worker stopped; the jobs' reports in order."""
    import json
    import time

    worker.threads = worker.threads[:1]
    worker.start()
    try:
        for number, upload in enumerate(uploads):
            store.enqueue(delivery=None, student="alice", repository="upload:alice", assignment=assignment,
                          commit=f"{number:064d}", branch=None, pusher="alice", late_seconds=0.0, upload=upload)
            worker.wake.set()
            deadline = time.monotonic() + 120
            while store.counts()["done"] <= number and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        worker.stop()
    return [json.loads(store.job(job["id"])["report"]) for job in store.jobs()]


def own_grader_folders(prefix: str = "grader-") -> list[str]:
    """Grader folders (`prefix`*) in the temp folder owned by this process: what its gradings may have
    left behind. Other graders on the machine (the other xdist worker's, say) make folders there too, so
    a test never counts theirs. (`grader-example-*` are the example mistakes this process materialised
    from their patches, kept while it lives: no grading makes one.)"""
    return sorted(folder.name for folder, owner in jobdirs.owned_folders(prefix)
                  if owner.get("pid") == os.getpid() and not folder.name.startswith("grader-example-"))


@contextlib.contextmanager
def runner_session(folder: Path, source: str, names: list[str], limits: Limits | None = None
                   ) -> Iterator[RunnerSession]:
    """A judge's session over a real, unjailed local runner whose submission is `source` (as `m.py`, its
    [api] `names`, in a workspace made in `folder`), closed with its sandbox on the way out."""
    from grader.judge.proxy import RunnerSession
    from grader.sandbox import RunnerConfig, make_backend

    workspace = folder / "ws"
    workspace.mkdir()
    (workspace / "m.py").write_text(source)
    api, limits = {"m.py": list(names)}, limits or Limits()
    backend = make_backend("local", RunnerConfig(workspace, api, 1), limits, isolate=False)
    session = RunnerSession(backend, limits, api, seed=1)
    try:
        yield session
    finally:
        session.close()
        backend.close()
