"""Ctrl-C and the judge (grader.judge.launch, grader.judge.session): an interrupted judge writes no
result, and a judge started just after the Ctrl-C (which it never saw) is stopped by the grader."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from grader.authoring.examples import materialise
from grader.ingest.workspace import ingest
from grader.judge import launch
from grader.judge.launch import PROGRESS_FILE_ENV, USER_INTERRUPT, run_judge
from grader.spec import find_assignment
from tests.conftest import COURSE

pytestmark = pytest.mark.slow


@pytest.fixture
def hanging(tmp_path, monkeypatch):
    """A workspace whose grading takes long (every call hangs to its limit), and the file in which its
    judge notes each test as it starts; USER_INTERRUPT is cleared again afterwards."""
    spec = find_assignment(COURSE, "05-backprop")
    workspace = ingest(materialise(COURSE, "hostile", "hang-in-call"), spec)
    notes = tmp_path / "progress"
    monkeypatch.setenv(PROGRESS_FILE_ENV, str(notes))
    yield spec, workspace.path, notes
    USER_INTERRUPT.clear()
    workspace.remove()


def judge_in_thread(spec, workspace: Path) -> tuple[threading.Thread, dict]:
    ended: dict = {}

    def run() -> None:
        try:
            ended["outcome"] = run_judge(spec, workspace, invalid=None, sandbox="local", isolate=True,
                                         visibility="all")
        except BaseException as exc:  # noqa: BLE001  (the test looks at what it was)
            ended["raised"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, ended


def wait_for_a_test(notes: Path, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 60
    while not (notes.exists() and notes.read_text().strip()) and thread.is_alive():
        assert time.monotonic() < deadline, "the judge never started a test"
        time.sleep(0.05)


def judge_pids() -> list[int]:
    """This process's judges (`-m grader.judge.session`), found by their command lines."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            parent = (proc / "stat").read_text().split(") ")[1].split()[1]
            if parent == str(os.getpid()) and launch.SESSION_MODULE.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except (OSError, IndexError):
            continue
    return found


def test_a_ctrl_c_before_the_judge_starts_starts_nothing(hanging):
    spec, workspace, _ = hanging
    USER_INTERRUPT.set()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_judge(spec, workspace, invalid=None, sandbox="local", isolate=True, visibility="all")
    assert time.monotonic() - started < 1 and judge_pids() == []


def test_a_judge_started_after_the_ctrl_c_is_stopped_and_grades_nothing(hanging):
    """The CI failure this fixes: Ctrl-C came while a batch's thread was still ingesting, the judge it
    then started never saw the SIGINT, and the grader waited for its whole grading (over 30 s)."""
    spec, workspace, notes = hanging
    thread, ended = judge_in_thread(spec, workspace)
    wait_for_a_test(notes, thread)
    USER_INTERRUPT.set()  # as the grader's own handler notes a Ctrl-C that this judge did not get
    thread.join(timeout=20)
    assert not thread.is_alive(), "the grader went on waiting for a judge the user had stopped"
    assert isinstance(ended.get("raised"), KeyboardInterrupt), ended


def test_a_judge_stopped_by_a_sigint_from_elsewhere_writes_no_result_and_is_an_infra_error(hanging):
    """Not the grader's Ctrl-C (its USER_INTERRUPT is not set): the judge stops, its tests did not all
    run, so it writes no result, exits INTERRUPTED_EXIT, and the grading is an infra_error, not a score."""
    spec, workspace, notes = hanging
    thread, ended = judge_in_thread(spec, workspace)
    wait_for_a_test(notes, thread)
    [pid] = judge_pids()
    os.kill(pid, signal.SIGINT)
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert "stopped by a SIGINT" in ended["outcome"]["infra_error"], ended
