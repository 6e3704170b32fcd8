"""The shelf (grader.sandbox.shelf) on a live engine: a single grading leaves one warm container for
the next command, which takes it, grades exactly as before and leaves the next; a container past its
wait is swept; the janitor leaves a waiting container alone, but removes one that a killed grader had
claimed, as it removes every other container of that grader."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import pytest

from grader import jobdirs
from grader.authoring.examples import materialise
from grader.janitor import CLAIMANT
from grader.pipeline.batch import grade_batch
from grader.sandbox import shelf
from grader.sandbox.docker import LABEL, remove_stale_containers
from grader.sandbox.image import doctor_lines
from grader.spec import find_assignment
from tests.conftest import COURSE
from tests.docker.conftest import ours

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def spec():
    return find_assignment(COURSE, "backprop")


@pytest.fixture
def private_shelf(engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A temp folder (and so a shelf) of this test's own, for it and the processes it starts; its
    containers are removed afterwards, whatever the test left."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.delenv("GRADER_SHELF_SECONDS", raising=False)
    yield tmp
    label = f"{LABEL}.pool={shelf.pool_label(shelf.location())}"
    for container in engine.containers.list(all=True, sparse=True, filters={"label": label}):
        container.remove(force=True)


def _waiting(spec, *, timeout: float = 60) -> tuple[Path, dict]:
    """The marker of the container a restocker left on the shelf, and its content (waits for it)."""
    deadline = time.monotonic() + timeout
    while True:
        folder = shelf.folder(make=False)
        for marker in folder.glob(f"{shelf.key_for(spec.needs, spec.limits)}.*.ready") if folder else []:
            return marker, json.loads(marker.read_text())
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    pytest.fail(f"no warm container on the shelf {timeout:g} s after a single grading")


def _grade(spec, out: Path) -> dict:
    (report,) = grade_batch(spec, [spec.solution], out, sandbox="docker", force=True, progress=None).values()
    assert (report["status"], report["score"]) == ("graded", report["max_score"]), report.get("reason")
    return report


def test_a_single_grading_leaves_a_warm_container_that_the_next_command_takes(engine, spec, private_shelf,
                                                                               tmp_path):
    _grade(spec, tmp_path / "out")
    marker, waiting = _waiting(spec)
    assert engine.containers.get(waiting["container"]).status == "running"
    assert list(Path(waiting["slot"]).iterdir()) == [], "nothing in its slot before a judge fills it"
    remove_stale_containers(engine)  # a judge's janitor: a container no grader owns yet is not residue
    engine.containers.get(waiting["container"])

    report = _grade(spec, tmp_path / "out")
    assert report["environment"]["warm_runners"] == 1
    with pytest.raises(docker.errors.NotFound):
        engine.containers.get(waiting["container"])  # used for this one submission, then removed
    assert not marker.parent.joinpath(marker.name.split(".")[1]).exists(), "its entry went with it"
    _, restocked = _waiting(spec)
    assert restocked["container"] != waiting["container"]
    facts = shelf.facts(engine)
    assert facts == {"folder": str(shelf.location()), "seconds": shelf.SHELF_SECONDS, "running": 1}
    assert f"shelf    {facts['folder']}: 1 warm container(s) there" in "\n".join(doctor_lines({"shelf": facts}))


def test_a_container_past_its_wait_is_swept_and_replaced(engine, spec, private_shelf):
    first = shelf.stock(spec.needs, spec.limits)
    assert first and shelf.stock(spec.needs, spec.limits) is None, "one waiting container per key"
    marker, waiting = _waiting(spec, timeout=0)
    marker.write_text(json.dumps({**waiting, "expires": time.time()}))
    assert shelf.claim(spec.needs, spec.limits) is None, "too near its end to be handed out"

    second = shelf.stock(spec.needs, spec.limits)
    assert second and second != first
    with pytest.raises(docker.errors.NotFound):
        engine.containers.get(first)
    assert not marker.exists() and not Path(waiting["slot"]).parent.exists()


def test_an_unclaimed_container_that_ended_is_removed_by_any_judge_s_janitor(engine, spec, private_shelf):
    container = engine.containers.get(shelf.stock(spec.needs, spec.limits))
    container.kill()  # as its lifetime cap ends it
    container.wait(timeout=30)
    assert remove_stale_containers(engine) >= 1
    with pytest.raises(docker.errors.NotFound):
        container.reload()


def test_a_claim_tells_the_janitor_before_the_container_is_the_grader_s(engine, spec, private_shelf, monkeypatch):
    """A claim makes no engine call (that would tell the janitor through connect()): without its own
    word, a grader killed right after claiming left the container behind (1 run of the suite in 3)."""
    shelf.stock(spec.needs, spec.limits)
    _, waiting = _waiting(spec, timeout=0)
    claimant = Path(waiting["slot"]).parent / CLAIMANT
    told = []
    monkeypatch.setattr(jobdirs, "expect_containers", lambda: told.append(claimant.exists()))
    claimed = shelf.claim(spec.needs, spec.limits)
    try:
        assert claimed and claimed["container"] == waiting["container"]
        assert told == [False]  # told once, before the claim
    finally:
        shelf.unclaim(claimed)


def test_a_killed_grader_s_claimed_container_is_removed_by_its_janitor(engine, spec, private_shelf, tmp_path):
    shelf.stock(spec.needs, spec.limits)
    _, waiting = _waiting(spec, timeout=0)
    hang = materialise(COURSE, "hostile", "hang-in-call")
    command = [sys.executable, "-m", "grader", "grade", spec.id, str(hang), "--out", str(tmp_path / "out"),
               "--sandbox", "docker"]
    grader = subprocess.Popen(command, cwd=COURSE, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not ours(engine, grader=grader.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [c.id for c in ours(engine, grader=grader.pid)] == [waiting["container"]]
        os.killpg(grader.pid, signal.SIGKILL)
        grader.wait(timeout=10)
        deadline = time.monotonic() + 30
        while ours(engine, grader=grader.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ours(engine, grader=grader.pid) == [], "the claimed container outlived its grader by 30 s"
    finally:
        if grader.poll() is None:
            os.killpg(grader.pid, signal.SIGKILL)
