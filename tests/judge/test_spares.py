"""Judges started before their jobs (grader.judge.launch.Spares): a spare waits with its imports done,
grades its job as a judge started for it would, is replaced only while jobs are to come, and leaves
neither a process nor a folder behind when nobody takes it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from grader import cli
from grader.ingest.workspace import ingest
from grader.judge import launch
from grader.judge.launch import SPARES, USER_INTERRUPT, Judge, Spares, run_judge
from grader.spec import find_assignment
from tests.conftest import COURSE, own_grader_folders
from tests.judge.test_interrupt import judge_pids


def waiting(judge: Judge) -> bool:
    """Whether the judge is alive and blocked reading its job from stdin (its imports done)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert judge.alive(), judge.log_tail()
        if "pipe_read" in Path(f"/proc/{judge.proc.pid}/wchan").read_text():
            return True
        time.sleep(0.05)
    return False


def test_a_spare_is_replaced_only_while_jobs_are_to_come_and_the_rest_leave_nothing():
    spares = Spares()
    spares.plan(3, at_once=2)
    assert len(spares._ready) == 2
    first = spares.take()  # 2 jobs still to come: a new spare replaces it
    assert first is not None and len(spares._ready) == 2
    second = spares.take()  # 1 to come, and one spare ready for it: no new one
    assert second is not None and len(spares._ready) == 1
    left = spares._ready[0]
    assert waiting(left) and left.tmp.is_dir()
    spares.discard()
    for judge in (first, second):
        judge.discard()
    assert not left.alive() and not left.tmp.exists()
    assert judge_pids() == []


@pytest.fixture
def numpy_basics():
    """01's reference as a workspace of its own (a runner must never write into the course's folder)."""
    spec = find_assignment(COURSE, "01-numpy-basics")
    workspace = ingest(spec.solution, spec)
    yield spec, workspace.path
    workspace.remove()


def test_a_spare_grades_its_job_as_a_judge_started_for_it(numpy_basics):
    spec, workspace = numpy_basics
    cold = run_judge(spec, workspace, invalid=None, sandbox="local", isolate=False, visibility="all")
    SPARES.plan(1)
    spare = SPARES._ready[0]
    assert waiting(spare)
    warm = run_judge(spec, workspace, invalid=None, sandbox="local", isolate=False, visibility="all")
    assert not spare.alive() and not spare.tmp.exists()  # it was the one used, and is gone
    strip = [{k: v for k, v in test.items() if k != "duration"} for test in warm["tests"]]
    assert strip == [{k: v for k, v in test.items() if k != "duration"} for test in cold["tests"]]
    assert sum(t["score"] for t in warm["tests"]) == spec.points


def test_a_spare_that_died_waiting_is_not_handed_a_job():
    spares = Spares()
    spares.plan(2, at_once=1)
    dead = spares._ready[0]
    dead.proc.kill()
    dead.proc.wait()
    assert spares.take() is None  # the job starts its own judge
    assert not dead.tmp.exists()
    assert len(spares._ready) == 1 and spares._ready[0].alive()  # for the job still to come
    spares.discard()


def test_no_spare_starts_once_the_user_pressed_ctrl_c():
    spares = Spares()
    USER_INTERRUPT.set()
    try:
        spares.plan(4, at_once=2)
        assert spares._ready == [] and spares.take() is None
    finally:
        USER_INTERRUPT.clear()


def test_a_check_that_stops_before_grading_leaves_no_judge_and_no_folder(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "layers.py").write_text("def affine_forward(x, w, b):\n    return x @ w +\n")
    before = set(own_grader_folders("grader-job-"))
    assert cli.main(["--course", str(COURSE), "check", "backprop", str(work)]) == cli.FAILED
    after = set(own_grader_folders("grader-job-"))
    assert after <= before and judge_pids() == [] and SPARES._ready == []


def test_the_progress_file_reaches_a_judge_started_before_it_was_set(numpy_basics, tmp_path, monkeypatch):
    """`grader check` sets the progress file after its judge started: the job carries it."""
    spec, workspace = numpy_basics
    SPARES.plan(1)
    notes = tmp_path / "notes"
    monkeypatch.setenv(launch.PROGRESS_FILE_ENV, str(notes))
    run_judge(spec, workspace, invalid=None, sandbox="local", isolate=False, visibility="public")
    assert notes.read_text().splitlines()[0].startswith("public/")
    assert SPARES._ready == []


@pytest.mark.parametrize("argv, grades", [
    (["grade", "backprop", "subs", "--out", "r"], True),
    (["--course", "grade", "check", "."], True),  # a course folder named `grade`, then the command
    (["--course=here", "check"], True),
    (["grade", "backprop", "subs", "--cluster", "tcp://h:8786"], False),  # the judges run on the workers
    (["examples", "--only", "grade"], False),
    (["--version"], False),
    ([], False),
])
def test_the_commands_that_start_their_judge_before_the_parser(argv, grades):
    assert cli._grades_here(argv) is grades


def test_a_usage_error_after_the_early_judge_leaves_no_judge():
    with pytest.raises(SystemExit):
        cli.main(["grade", "backprop", "--no-such-option"])
    assert judge_pids() == [] and SPARES._ready == []


def test_a_spare_for_a_docker_batch_imports_the_docker_backend_while_it_waits():
    """The docker SDK brings Python's ssl module (its urllib3): loaded in a docker batch's spare, and
    not in one that does not know its sandbox (the control)."""
    spares, plain = Spares(), Spares()
    spares.plan(1, sandbox="docker")
    plain.plan(1)
    try:
        judge, control = spares._ready[0], plain._ready[0]
        assert judge.proc.args[-2:] == [launch.WAIT_FOR_JOB, "docker"]
        assert waiting(judge) and waiting(control)
        assert "_ssl" in Path(f"/proc/{judge.proc.pid}/maps").read_text()
        assert "_ssl" not in Path(f"/proc/{control.proc.pid}/maps").read_text()
    finally:
        spares.discard()
        plain.discard()
