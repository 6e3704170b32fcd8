"""What a judge leaves behind is its grader's to clean (grader.judge.launch, grader.jobdirs): a judge starts
no janitor of its own, and the grader sweeps after a judge that did not end cleanly."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

import grader.judge.plugin
from grader import jobdirs
from grader.ingest.workspace import ingest
from grader.judge.launch import Judge, run_judge
from grader.spec import find_assignment
from tests.conftest import COURSE
from tests.judge.test_spares import numpy_basics  # noqa: F401  (the fixture)


def _janitors_of_our_judges() -> set[int]:
    """The pids watched by janitors running now (`python -m grader.janitor PID`) where PID is a child of
    this process (a judge it started): other graders on the machine start janitors of their own."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if b"grader.janitor" in argv:
                watched = int(argv[argv.index(b"grader.janitor") + 1])
                if Path(f"/proc/{watched}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(os.getpid()):
                    found.add(watched)
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_a_judge_that_makes_folders_starts_no_janitor(numpy_basics):  # noqa: F811
    """An unjailed local runner's judge makes a folder for its runtime, as a docker judge does; the
    grader's janitor covers both, so the judge starts none (it was a Python process per docker judge)."""
    spec, workspace = numpy_basics
    seen, done = set(), threading.Event()

    def watch() -> None:
        while not done.is_set():  # a judge's janitor would live from its first folder to its exit
            seen.update(_janitors_of_our_judges())
            done.wait(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = run_judge(spec, workspace, invalid=None, sandbox="local", isolate=False, visibility="all")
    finally:
        done.set()
        watcher.join()
    assert sum(t["score"] for t in result["tests"]) == spec.points
    assert seen == set(), f"janitors started during the grading: {seen}"


def test_the_grader_sweeps_after_a_judge_killed_mid_job():
    judge = Judge()
    left = Path(tempfile.mkdtemp(prefix="grader-local-"))  # as the judge's backend would make it
    (left / jobdirs.OWNER_FILE).write_text(json.dumps(jobdirs.owner_record(judge.proc.pid)))
    judge.ran = True  # it had a job, and was killed before it could close its sandbox
    judge.proc.kill()
    judge.discard()
    assert not left.exists() and not judge.tmp.exists()


def test_a_spare_discarded_unused_sweeps_nothing(monkeypatch):
    """A spare that never had a job made no folder of its own: discarding it costs no sweep of the temp
    folder (a batch discards its spares at the end)."""
    sweeps = []
    monkeypatch.setattr(jobdirs, "remove_stale", lambda *a, **k: sweeps.append(a) or [])
    judge = Judge()
    judge.discard()
    assert sweeps == [] and not judge.tmp.exists()


def test_a_judge_keeps_the_grader_s_bytecode_and_writes_none_beside_the_course(tmp_path):
    """The grader's modules are cached like an installed package's (a judge compiled them afresh every
    time: about 50 ms); the course's tests and reference, imported by the same process, get none."""
    for part in ("assignments", "solutions"):
        shutil.copytree(COURSE / part / "01-numpy-basics", tmp_path / part / "01-numpy-basics")
    spec = find_assignment(tmp_path, "01-numpy-basics")
    workspace = ingest(spec.solution, spec)
    cached = Path(importlib.util.cache_from_source(grader.judge.plugin.__file__))
    cached.unlink(missing_ok=True)
    try:
        result = run_judge(spec, workspace.path, invalid=None, sandbox="local", isolate=False, visibility="all")
    finally:
        workspace.remove()
    assert sum(t["score"] for t in result["tests"]) == spec.points
    assert cached.is_file()
    assert list(tmp_path.rglob("__pycache__")) == [] and list(tmp_path.rglob("*.pyc")) == []
