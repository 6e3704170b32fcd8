"""Grade many submissions of one assignment: in parallel, with progress, one atomic report each.

A submission whose report in the output folder is current (same fingerprint) is not graded again
unless `force` is set, so an interrupted batch is finished by running it again. One submission's
failure of any kind becomes its own report and never stops the others.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TextIO

from grader.errors import GraderError
from grader.ingest.workspace import submission_name
from grader.judge.launch import INTERRUPT_POLL_SECONDS, INTERRUPTED_PATIENCE_SECONDS, SPARES, USER_INTERRUPT
from grader.pipeline import grade as grading
from grader.pipeline.progress import Progress, describe, make_progress
from grader.report.write import prepare_in_background, write_report
from grader.spec import AssignmentSpec

if TYPE_CHECKING:
    from grader.pipeline.executors import DaskExecutor
    from grader.sandbox.warm import WarmPool


def plan(sources: list[Path], given: list[str] | None = None) -> dict[str, Path]:
    """Report name -> submission; two submissions that would overwrite one report are an error.

    Names come from the submissions' file or folder names unless `given`, one per source."""
    names: dict[str, Path] = {}
    for index, source in enumerate(sources):
        name = given[index] if given is not None else submission_name(source)
        if name in names:
            raise GraderError(f"{names[name]} and {source} would both be reported as {name}.json; "
                              "rename one of them")
        names[name] = source
    return names


def grade_batch(spec: AssignmentSpec, sources: list[Path], out: Path, *, sandbox: str = "local",
                jobs: int = 1, force: bool = False, isolate: bool = True,
                progress: TextIO | Progress | None = sys.stderr,
                on_report: Callable[[str, dict], None] | None = None,
                names: list[str] | None = None,
                executor: DaskExecutor | None = None, warm: int | None = None) -> dict[str, dict]:
    """name -> report for every submission, each also written to `out/<name>.json`.

    Under docker, up to `warm` containers (default: `default_warm(jobs)`; 0: none) are started ahead of
    need by a grader.sandbox.warm.WarmPool (not with a cluster, whose workers are elsewhere, nor for a
    GPU step).

    `progress`: a stream to show a bar on (live on a terminal, plain lines elsewhere), None for
    silence, or a `Progress` the caller began and will close (one bar over several batches)."""
    names = plan(sources, names)
    out.mkdir(parents=True, exist_ok=True)
    prepare_in_background()
    owned = not isinstance(progress, Progress)
    shown = make_progress(progress) if owned else progress
    if owned:
        shown.begin(len(names))
    pool = _start_ahead(spec, len(names), shown, sandbox=sandbox, jobs=jobs, warm=warm, cluster=executor is not None)
    try:
        grade = functools.partial(grading.grade, warm=pool.take) if pool else (executor or grading).grade
        one = functools.partial(_grade_one, spec, out, shown, sandbox=sandbox, isolate=isolate, force=force,
                                grade=grade)
        # With a cluster (`executor`), each thread waits on one job in flight there.
        reports = _run_all(one, names, executor.slots if executor else max(1, jobs), on_report,
                           cancel=executor.cancel if executor else None)
    finally:
        SPARES.discard()
        if pool:
            pool.close()
        if owned:
            shown.close()
    return {name: reports[name] for name in names}


def _start_ahead(spec: AssignmentSpec, count: int, shown: Progress, *, sandbox: str, jobs: int,
                 warm: int | None, cluster: bool) -> _OpeningPool | _SingleGrading | None:
    """What the batch starts before its jobs need it: spare judges (here, not on a cluster), and under
    docker the image check and the warm pool, or for a single grading the shelf's container (returned,
    to take from and close)."""
    if not cluster:
        SPARES.plan(count, at_once=max(1, jobs), sandbox=sandbox)
    warmable = sandbox == "docker" and not cluster and not spec.gpu  # containers started here, before need
    if warmable and count == 1 and warm != 0:
        return _SingleGrading(spec, shown)
    size = min(default_warm(jobs) if warm is None else warm, count)
    if warmable and size > 0:
        return _OpeningPool(spec, size, shown, limit=count)
    if sandbox == "docker":
        _prepare_image(shown)
    return None


def _grade_one(spec: AssignmentSpec, out: Path, shown: Progress, name: str, source: Path, *, sandbox: str,
               isolate: bool, force: bool, grade: Callable[..., dict]) -> dict:
    """One submission's report, written to `out/<name>.json` unless the current one there was reused."""
    target = out / f"{name}.json"
    shown.started(name)
    before = None if force else _timings(target)
    try:
        report = grade(spec, source, sandbox=sandbox, isolate=isolate, name=name,
                       previous=None if force else target)
        cached = before is not None and before == report.get("timings")
        if not cached:
            write_report(report, target)
    except Exception as exc:  # last resort: this submission's infra_error, and the batch goes on
        report, cached = grading.failure_report(spec, name, f"{type(exc).__name__}: {exc}"), False
        write_report(report, target)
    shown.finished(name, describe(report), cached=cached)
    return report


def _run_all(one: Callable[[str, Path], dict], names: dict[str, Path], workers: int,
             on_report: Callable[[str, dict], None] | None, *, cancel: Callable[[], None] | None) -> dict:
    """name -> one(name, source) for every submission, `workers` at a time, each reported as it ends."""
    reports: dict[str, dict] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(one, name, source): name for name, source in names.items()}
        try:
            for future in as_completed(futures):
                name = futures[future]
                reports[name] = future.result()
                if on_report:
                    on_report(name, reports[name])
        except BaseException:
            # Ctrl-C (or a bug): start nothing new; what is running finishes or dies with its judge.
            pool.shutdown(wait=False, cancel_futures=True)
            if cancel is not None:
                cancel()
            raise
    return reports


def _timings(target: Path) -> dict | None:
    """The timings of the report already at `target`: equal ones afterwards mean it was reused."""
    try:
        return json.loads(target.read_text(encoding="utf-8")).get("timings")
    except (OSError, ValueError, AttributeError):
        return None


def default_warm(jobs: int) -> int:
    """One warm container per job while a core is left over to start them; none once the jobs take
    every core. A pool moves a container's start off the critical path onto an idle core: on 2 cores,
    a batch of 12 of 05 took 18.7 s warm against 23.3 s cold at -j 1, but at -j 2 about 13.6 s warm
    against 12.9 s cold (medians of four), as the refill then competes with the judges."""
    return jobs if jobs < len(os.sched_getaffinity(0)) else 0


class _OpeningPool:
    """The image check and the warm pool, made in a thread: the first judge starts meanwhile (they cost
    0.15 s before it, the docker SDK's import included), and `take` waits for them. A judge that finds
    the image missing waits on the build's lock, as every judge of another grader would."""

    def __init__(self, spec: AssignmentSpec, size: int, progress: Progress, *, limit: int) -> None:
        self._pool: WarmPool | None = None
        self._thread = threading.Thread(target=self._open, args=(spec, size, progress, limit),
                                        name="warm-pool-opening", daemon=True)
        self._thread.start()

    def _open(self, spec: AssignmentSpec, size: int, progress: Progress, limit: int) -> None:
        from grader.sandbox.warm import WarmPool

        try:
            _prepare_image(progress)
            self._pool = WarmPool(spec, size, limit=limit)
        except Exception as exc:  # noqa: BLE001  (no pool means cold starts, never a stopped batch)
            progress.note(f"grader: no warm containers, each runner starts cold: {exc}")

    def take(self) -> dict | None:
        """A warm container, or None (a cold start) once Ctrl-C stopped the batch while it opened."""
        while self._thread.is_alive() and not USER_INTERRUPT.is_set():
            self._thread.join(timeout=INTERRUPT_POLL_SECONDS)
        return self._pool.take() if self._pool and not self._thread.is_alive() else None

    def close(self) -> None:
        """Wait for the opening (an image build may take minutes), then close the pool. After a Ctrl-C,
        wait only INTERRUPTED_PATIENCE_SECONDS: a pool opened later dies with this process, and the
        janitor removes its containers."""
        self._thread.join(timeout=INTERRUPTED_PATIENCE_SECONDS if USER_INTERRUPT.is_set() else None)
        if self._pool and not self._thread.is_alive():
            self._pool.close()


class _SingleGrading:
    """A single docker grading's warm container: the one waiting on the shelf (grader.sandbox.shelf)
    if there is one, else a pool of one opened now. Once it is graded, the shelf is restocked in a
    detached process, so the next command finds one waiting."""

    def __init__(self, spec: AssignmentSpec, progress: Progress) -> None:
        from grader.sandbox import shelf

        self.spec = spec
        try:
            self._claim = shelf.claim(spec.needs, spec.limits)
        except Exception:  # noqa: BLE001  (a shelf's fault means a cold start, never a failed grading)
            self._claim = None
        self._given = False
        self._pool = None if self._claim else _OpeningPool(spec, 1, progress, limit=1)

    def take(self) -> dict | None:
        if self._pool:
            return self._pool.take()
        if self._given:
            return None
        self._given = True
        return {key: self._claim[key] for key in ("container", "slot", "image")}

    def close(self) -> None:
        from grader.sandbox import shelf

        if self._pool:
            self._pool.close()
        elif self._given:
            shelf.done(self._claim)
        else:  # the submission never reached a judge (it was invalid, or its report current)
            shelf.unclaim(self._claim)
        if not USER_INTERRUPT.is_set():
            shelf.restock(self.spec.needs, self.spec.limits)


def _prepare_image(progress: Progress) -> None:
    """Build or find the image once, before parallel judges all ask for it."""
    from grader.sandbox.image import ensure_image

    try:
        ensure_image(log=None)
    except GraderError as exc:  # every submission will then get an infra_error report that says why
        progress.note(f"grader: the docker sandbox is not ready: {exc}")
