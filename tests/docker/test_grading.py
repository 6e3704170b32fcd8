"""Whole submissions graded under Docker: the same scores as the local sandbox, and attacks contained.

Every example of every assignment is graded under both sandboxes (as one parallel batch each) and the
per-test outcomes compared; the hostile corpus is graded as one parallel batch with the reference in
it, under Docker, and must leave no container behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from grader.pipeline.batch import grade_batch
from grader.authoring.examples import hostile_cases, materialise, problems
from grader.report.write import validate_report
from grader.spec import find_assignment, find_assignments
from tests.conftest import COURSE, quickest_mistakes, reports_by_case
from tests.docker.conftest import ours

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SPECS = find_assignments(COURSE)


def outcomes(report: dict) -> dict[str, tuple]:
    return {t["name"]: (t["score"], t["status"]) for t in report["tests"]}


def under_docker(spec, cases: list, local: dict[str, dict]) -> list:
    """The cases graded again under docker: every one of 16-pytorch (its own image), and of the other
    steps the reference, the starter and the two mistakes quickest to grade that do not train a network
    (`local`: case name -> its local report; so 11 gives its reference and starter). The sandbox is
    what is compared here; every mistake of every step is pinned under local
    (tests/authoring/test_examples.py), and `make grade` grades them all under docker."""
    if spec.needs:
        return cases
    keep = {"reference", "starter", *(c.name for c in quickest_mistakes(cases, local, 2))}
    return [c for c in cases if c.name in keep]


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_docker_and_local_grade_the_examples_alike(spec, engine, tmp_path, local_example_reports):
    every, reports = local_example_reports(spec)
    local = reports_by_case(every, reports)
    cases = under_docker(spec, every, local)
    docker = grade_batch(spec, [c.path for c in cases], tmp_path / "docker", sandbox="docker", jobs=2,
                         progress=None)
    for case, report in zip(cases, docker.values()):
        validate_report(report)
        # Torch steps too: dl-grader-torch under docker, Debian's python3-torch under local; no skips.
        assert report["status"] == local[case.name]["status"] == "graded", (case.name, report.get("reason"))
        assert problems(case, report) == [], case.name
        assert report["score"] == local[case.name]["score"], case.name
        assert outcomes(report) == outcomes(local[case.name]), case.name
        assert report["environment"]["backend"] == "docker"


@pytest.fixture(scope="module")
def hostile_batch(engine, tmp_path_factory):
    spec = find_assignment(COURSE, "05-backprop")
    # The corpus aimed at 05 (as tests/adversarial/test_hostile.py grades it under local); the cases
    # aimed at other steps are graded against their own step in test_hostile_other_steps.py.
    cases = [c for c in hostile_cases(COURSE) if c.assignment == "05-backprop"]
    out = tmp_path_factory.mktemp("hostile-docker")
    before = labelled(engine)
    reports = grade_batch(spec, [c.path for c in cases] + [spec.solution], out, sandbox="docker", jobs=2,
                          progress=None)
    return cases, reports, before


def labelled(engine, grader: int | None = None) -> set[str]:
    """Containers of the batch run by `grader` (default: this test process)."""
    return {c.id for c in ours(engine, grader=grader or os.getpid())}


def test_hostile_submissions_score_as_expected_under_docker(hostile_batch):
    cases, reports, _ = hostile_batch
    found = {}
    for case in cases:
        validate_report(reports[case.name])
        if trouble := problems(case, reports[case.name]):
            found[case.name] = trouble
    assert not found


def test_reference_in_a_hostile_batch_keeps_full_marks(hostile_batch):
    _, reports, _ = hostile_batch
    assert reports["05-backprop"]["score"] == reports["05-backprop"]["max_score"]


def test_a_hostile_batch_leaves_no_container(hostile_batch, engine):
    *_, before = hostile_batch
    assert labelled(engine) - before == set()


def test_ctrl_c_during_a_docker_batch_removes_its_containers(engine, tmp_path):
    hang = materialise(COURSE, "hostile", "hang-in-call")
    command = [sys.executable, "-m", "grader", "grade", "05-backprop", str(hang), "--out", str(tmp_path),
               "--sandbox", "docker"]
    # A terminal's Ctrl-C: SIGINT to the whole process group (the batch and its judge), default handler.
    proc = subprocess.Popen(command, cwd=COURSE, start_new_session=True, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not labelled(engine, proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert labelled(engine, proc.pid), "the grader never started a container"
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=30) == 130, proc.stderr.read()
    # A Ctrl-C inside the engine's create call leaves a container the judge never learnt of; the
    # grader's janitor removes it once the grader is gone, within seconds (30 s at most).
    deadline = time.monotonic() + 30
    while labelled(engine, proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert labelled(engine, proc.pid) == set()
