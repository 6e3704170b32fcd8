"""Grade many submissions of one assignment: in parallel, with progress, one atomic report each.

A submission whose report in the output folder is current (same fingerprint) is not graded again
unless `force` is set, so an interrupted batch is finished by running it again. One submission's
failure of any kind becomes its own report and never stops the others.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, TextIO

from grader import api
from grader.errors import GraderError
from grader.ingest import submission_name
from grader.report.write import write_report
from grader.spec import AssignmentSpec


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
                progress: TextIO | None = sys.stderr,
                on_report: Callable[[str, dict], None] | None = None,
                names: list[str] | None = None) -> dict[str, dict]:
    """name -> report for every submission, each also written to `out/<name>.json`."""
    names = plan(sources, names)
    out.mkdir(parents=True, exist_ok=True)
    if sandbox == "docker":
        _prepare_image(progress)
    reports: dict[str, dict] = {}
    started = time.monotonic()

    def one(name: str, source: Path) -> dict:
        target = out / f"{name}.json"
        report = api.grade(spec, source, sandbox=sandbox, isolate=isolate, name=name,
                           previous=None if force else target)
        write_report(report, target)
        return report

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(one, name, source): name for name, source in names.items()}
        try:
            for done, future in enumerate(as_completed(futures), 1):
                name = futures[future]
                reports[name] = future.result()
                if progress is not None:
                    progress.write(_progress_line(done, len(names), name, reports[name], started))
                    progress.flush()
                if on_report:
                    on_report(name, reports[name])
        except BaseException:
            # Ctrl-C (or a bug): start nothing new; what is running finishes or dies with its judge.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return {name: reports[name] for name in names}


def _prepare_image(progress: TextIO | None) -> None:
    """Build or find the image once, before parallel judges all ask for it."""
    from grader.sandbox.image import ensure_image

    try:
        ensure_image(log=None)
    except GraderError as exc:  # every submission will then get an infra_error report that says why
        if progress is not None:
            progress.write(f"grader: the docker sandbox is not ready: {exc}\n")


def _progress_line(done: int, total: int, name: str, report: dict, started: float) -> str:
    width = 20
    filled = width * done // total
    bar = "#" * filled + "." * (width - filled)
    score = report["status"] if report["score"] is None else f"{report['score']:g}/{report['max_score']:g}"
    return f"[{bar}] {done}/{total} {name}: {score} ({time.monotonic() - started:.0f} s)\n"
