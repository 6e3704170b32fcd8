"""Progress of many gradings, shown to a person: one small object that any executor feeds with events.

Whoever grades (the batch's thread pool, a Dask executor, the mutants loop, `grader examples`) calls

    progress.begin(total)                  once, with the number of submissions
    progress.started(name)                 when one starts running (from any thread)
    progress.finished(name, summary, cached=False)   when its report exists (from any thread)
    progress.note(text)                    a message that must not tear the bar
    progress.close()                       at the end (also on Ctrl-C)

and `make_progress(stream)` picks the display: a live bar (rich) on a terminal, with done/total, rate,
ETA, what is running now and the reused (cached) reports counted apart; one plain line per finished
submission when the stream is not a terminal (CI logs, pipes); nothing for `None`.

This module only displays. It never decides a grade, never reads or writes a report, and a display
problem (no rich installed, a closed stream) never stops grading.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO


def describe(report: dict) -> str:
    """`12/20`, or the status when there is no score (`infra_error`, `skipped`)."""
    if report.get("score") is None:
        return str(report.get("status", "?"))
    return f"{report['score']:g}/{report['max_score']:g}"


class Progress:
    """The interface, and the silent display: counts what happened and shows nothing."""

    def __init__(self, label: str = "grading") -> None:
        self.label = label
        self.total = 0
        self.done = 0
        self.cached = 0
        self.running: dict[str, float] = {}
        self._lock = threading.Lock()
        self._first_start: float | None = None

    def begin(self, total: int) -> None:
        self.total = total

    def started(self, name: str) -> None:
        with self._lock:
            now = time.monotonic()
            self.running[name] = now
            if self._first_start is None:
                self._first_start = now
        self._show()

    def finished(self, name: str, summary: str, *, cached: bool = False) -> None:
        with self._lock:
            self.running.pop(name, None)
            self.done += 1
            self.cached += cached
        self._show(name, summary, cached)

    def note(self, text: str) -> None:
        """A message for the user; the silent display drops it."""

    def close(self) -> None:
        """Stop the display; what was shown stays."""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rate(self) -> float | None:
        """Submissions graded (not reused) per second since the first one started."""
        graded = self.done - self.cached
        if not graded or self._first_start is None:
            return None
        return graded / max(time.monotonic() - self._first_start, 1e-6)

    def eta(self) -> float | None:
        rate = self.rate()
        return None if rate is None else (self.total - self.done) / rate

    def running_text(self, limit: int = 3) -> str:
        names = list(self.running)
        if not names:
            return ""
        more = f" +{len(names) - limit}" if len(names) > limit else ""
        return "running: " + ", ".join(names[:limit]) + more

    def _show(self, name: str | None = None, summary: str = "", cached: bool = False) -> None:
        """Redraw after an event; `name` is set when one just finished."""


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    value = round(value)
    return f"{value // 60}m{value % 60:02d}s" if value >= 60 else f"{value}s"


class PlainProgress(Progress):
    """One line per finished submission: for logs, where a redrawn bar would be noise."""

    def __init__(self, stream: TextIO, label: str = "grading") -> None:
        super().__init__(label)
        self.stream = stream

    def begin(self, total: int) -> None:
        super().begin(total)
        self._write(f"{self.label}: {total} to grade")

    def finished(self, name: str, summary: str, *, cached: bool = False) -> None:
        super().finished(name, summary, cached=cached)
        rate = self.rate()
        parts = [f"[{self.done}/{self.total}] {name}: {summary}" + (" (cached)" if cached else "")]
        if self.cached:
            parts.append(f"{self.cached} cached")
        if rate is not None:
            parts.append(f"{rate * 60:.1f}/min, ETA {_seconds(self.eta())}")
        if self.running:
            parts.append(self.running_text())
        self._write("; ".join(parts))

    def note(self, text: str) -> None:
        self._write(text)

    def _write(self, line: str) -> None:
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed pipe must not stop grading
            pass


class LiveProgress(Progress):
    """A redrawn bar (rich) on a terminal: done/total, cached, rate, elapsed, ETA, running now."""

    def __init__(self, stream: TextIO, label: str = "grading") -> None:
        super().__init__(label)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[extra]}"), TimeElapsedColumn(),
            TextColumn("{task.fields[running]}", style="dim"),
            console=Console(file=stream), refresh_per_second=4, transient=False)
        self._task = None

    def begin(self, total: int) -> None:
        super().begin(total)
        self._bar.start()
        self._task = self._bar.add_task(self.label, total=total, extra="", running="")

    def note(self, text: str) -> None:
        self._bar.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self._show()
        self._bar.stop()

    def _show(self, name: str | None = None, summary: str = "", cached: bool = False) -> None:
        if self._task is None:
            return
        rate = self.rate()
        extra = [f"{self.cached} cached"] if self.cached else []
        if rate is not None:
            extra.append(f"{rate * 60:.1f}/min ETA {_seconds(self.eta())}")
        self._bar.update(self._task, completed=self.done, extra=" ".join(extra),
                         running=self.running_text())


def make_progress(stream: TextIO | None = sys.stderr, *, label: str = "grading",
                  live: bool | None = None) -> Progress:
    """The display for `stream`: live on a terminal (rich), plain lines elsewhere, silent for None."""
    if stream is None:
        return Progress(label)
    if live is None:
        live = _is_terminal(stream) and os.environ.get("TERM") != "dumb"
    if live:
        try:
            return LiveProgress(stream, label)
        except ImportError:  # the student install has no rich: plain lines still say everything
            pass
    return PlainProgress(stream, label)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# `grader check` shows which test runs while it runs. The judge is a separate process (a fresh one
# per submission), so it reports through a file: with PROGRESS_FILE_ENV set, the judge appends each
# test's id when it starts (grader.judge.session.ProgressNotes). Only the ids of the instructor's tests
# are written, on the trusted side; the student's code never sees the file.


class TestWatcher:
    """While in its `with` block, shows on `stream` the test the judge is running and for how long.

    On a terminal one line is redrawn ("running public/test_layers.py::test_train_xor  4 s"); in a log
    a line is written for each test that started."""

    def __init__(self, stream: TextIO = sys.stderr, *, interval: float = 0.25) -> None:
        self.stream = stream
        self.live = _is_terminal(stream) and os.environ.get("TERM") != "dumb"
        self.interval = interval
        self._stop = threading.Event()
        self._saved: dict[str, str | None] = {}

    def __enter__(self) -> TestWatcher:
        import tempfile

        from grader.judge.launch import PROGRESS_FILE_ENV

        fd, self.path = tempfile.mkstemp(prefix="grader-progress-", suffix=".txt")
        os.close(fd)
        self._set(PROGRESS_FILE_ENV, self.path)
        self._thread = threading.Thread(target=self._watch, name="grader-test-watcher", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if self.live:
            self._write("\r\x1b[2K")
        os.unlink(self.path)

    def _set(self, key: str, value: str) -> None:
        self._saved[key] = os.environ.get(key)
        os.environ[key] = value

    def _watch(self) -> None:
        seen, since = 0, time.monotonic()
        while True:
            stopping = self._stop.wait(self.interval)
            try:
                with open(self.path, encoding="utf-8") as f:
                    ids = f.read().splitlines()
            except OSError:
                ids = []
            if len(ids) > seen:
                if not self.live:  # a log gets every test, also those that started since the last look
                    self._write("".join(f"running {short_test_id(i)}\n" for i in ids[seen:]))
                seen, since = len(ids), time.monotonic()
            if stopping:
                return
            if self.live and ids:
                self._write(f"\r\x1b[2Krunning {short_test_id(ids[-1])}  {_seconds(time.monotonic() - since)}")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass


def short_test_id(nodeid: str) -> str:
    """`public/test_layers.py::test_x` for `.../tests/public/test_layers.py::test_x`."""
    path, sep, rest = nodeid.partition("::")
    parts = path.split("/")
    if "tests" in parts:
        parts = parts[len(parts) - parts[::-1].index("tests"):]
    return "/".join(parts) + sep + rest
