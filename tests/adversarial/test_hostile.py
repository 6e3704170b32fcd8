"""The attack corpus (examples/hostile): each attack scores zero on what it touches, with a valid report.

The corpus is graded as one parallel batch with the reference solution in it: an attacker must never
disturb a neighbour's grade, and nothing it started may outlive its grading.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from grader.pipeline.batch import grade_batch
from grader.authoring.examples import hostile_cases, problems
from grader.jobdirs import process_start
from grader.report.write import validate_report
from grader.sandbox import BOOTSTRAP
from grader.spec import find_assignment
from tests.conftest import COURSE

# The cases against 05-backprop, graded as one batch here; those against other steps are graded by
# test_hostile_other_steps.py.
CASES = [c for c in hostile_cases(COURSE) if c.assignment == "05-backprop"]


# A warm runner's configuration (grader.sandbox.warm, grader.sandbox.shelf): only docker starts these,
# and a shelved one waits minutes for its submission by design. A docker grading beside this local batch
# (another test's `grader grade`, restocking the shelf) must not read as this batch's leak.
WARM_RUNNER = b'{"warm": true'


def _runner_pids() -> set[tuple[int, str]]:
    """(pid, start time) of processes running the local runner's bootstrap (forked children keep their
    parent's command line); the start time tells a reused pid apart."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read()
                if BOOTSTRAP.encode() in cmdline and WARM_RUNNER not in cmdline:
                    found.add((int(entry), process_start(int(entry))))
            except OSError:  # gone meanwhile, or not ours to read
                pass
    return found


def _outlived(suspects: set[tuple[int, str]], seconds: float) -> set[tuple[int, str]]:
    """Those of `suspects` still running after up to `seconds`: a neighbour's runner ends within its
    limits, a leaked one stays."""
    deadline = time.monotonic() + seconds
    while (left := suspects & _runner_pids()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


# What memory-and-processes does, minus the 10,000: fork a child that sleeps, and leave it behind
# when the process that forked it ends. The marker argument stands for the runner's command line.
LEAKER = """
import os, sys, time
child = os.fork()
if child == 0:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    time.sleep(60)
    os._exit(0)
print(child, flush=True)
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile")
    spec = find_assignment(COURSE, "05-backprop")
    sources = [c.path for c in CASES] + [spec.solution]
    before = _runner_pids()  # another grader on this machine may have runners of its own
    reports = grade_batch(spec, sources, out, jobs=2, progress=None)
    # Runners alive once the batch is done that were not there before it: this batch's leaks, or a
    # neighbour grader's runners started meanwhile (those end within their time limits).
    return reports, out, _runner_pids() - before


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_attack_scores_as_expected(graded, case):
    reports = graded[0]
    report = reports[case.name]
    validate_report(report)
    assert report["status"] == "graded"
    assert problems(case, report) == []


@pytest.mark.slow
def test_reference_in_the_same_batch_keeps_full_marks(graded):
    reports = graded[0]
    assert reports["05-backprop"]["score"] == reports["05-backprop"]["max_score"]


@pytest.mark.slow
def test_nothing_was_left_behind(graded):
    _, out, suspects = graded
    expected = sorted(f"{c.name}.json" for c in CASES) + ["05-backprop.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)  # no temporary files either
    # memory-and-processes forks children that sleep for an hour: they must have died with their
    # runner. (The old check looked for "sleep(3600)" in `ps`, which a forked child never shows;
    # test_the_leftover_check_sees_a_leaked_fork proves this one can fail.)
    left = _outlived(suspects, seconds=60)
    assert not left, f"runner processes outlived the batch: {sorted(left)}"


def test_the_leftover_check_sees_a_leaked_fork():
    """The positive control of test_nothing_was_left_behind: an orphaned fork of a process whose
    command line holds the runner's bootstrap is found, outlives the wait, and is gone once killed."""
    before = _runner_pids()
    parent = subprocess.run([sys.executable, "-c", LEAKER, BOOTSTRAP], capture_output=True, text=True,
                            timeout=30, check=True)
    child = int(parent.stdout)
    try:
        suspects = _runner_pids() - before
        assert child in {pid for pid, _ in suspects}, f"the leaked fork {child} was not seen: {suspects}"
        assert child in {pid for pid, _ in _outlived(suspects, seconds=1)}
    finally:
        os.kill(child, signal.SIGKILL)
    assert child not in {pid for pid, _ in _outlived(suspects, seconds=10)}


@pytest.mark.slow
def test_forged_output_is_only_shown_as_output(graded):
    report = graded[0]["forged-results"]
    assert "PASSED 66/66" in report["output"]["text"]
    assert report["score"] == 0
