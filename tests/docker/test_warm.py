"""Warm containers (grader.sandbox.warm): started ahead of need, each used for one submission, graded
exactly as a cold container grades, and never left behind; a pool the engine refuses means cold starts."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import docker
import pytest

from grader.authoring.examples import cases_for
from grader.pipeline.batch import grade_batch
from grader.runtime import wire
from grader.sandbox import RunnerConfig
from grader.sandbox import warm as warm_module
from grader.sandbox.docker import LABEL, DockerBackend
from grader.sandbox.warm import WarmPool, WarmPools
from grader.spec import find_assignment
from tests.conftest import COURSE, quickest_mistakes, reports_by_case, uploads_in_turn
from tests.docker.conftest import ours

pytestmark = pytest.mark.docker

PROBE = '''
import os
def look():
    """What this runner can see of its workspace and its /tmp, then leaves a file in /tmp."""
    seen = (sorted(os.listdir(os.path.dirname(__file__))), sorted(os.listdir("/tmp")))
    open("/tmp/left-by-" + os.path.basename(os.path.dirname(__file__) or "x"), "w").close()
    return seen
'''


@pytest.fixture(scope="module")
def spec():
    return find_assignment(COURSE, "backprop")


def _workspace(folder: Path, source: str, extra: str) -> Path:
    folder.mkdir(mode=0o755)
    for name, text in (("m.py", source), (extra, "")):
        (folder / name).write_text(text)
        (folder / name).chmod(0o644)
    return folder


def _first_call(backend: DockerBackend, name: str):
    process = backend.start()
    for _ in range(2):  # "started", then the import's hello
        reply, _ = process.channel.receive(deadline=time.monotonic() + 30)
        assert reply["ok"], reply
    tree, blobs = wire.encode([])
    process.channel.send({"op": "call", "name": name, "args": tree}, blobs, deadline=time.monotonic() + 10)
    reply, out = process.channel.receive(deadline=time.monotonic() + 10)
    assert reply["ok"], reply
    return wire.decode(reply["value"], out)


def test_each_warm_container_serves_one_submission_and_sees_only_its_files(engine, spec, tmp_path):
    with WarmPool(spec, 2) as pool:
        first, second = pool.take(), pool.take()
        assert first and second and first["container"] != second["container"] and first["slot"] != second["slot"]
        assert list(Path(first["slot"]).iterdir()) == []  # nothing in a slot before its judge fills it
        seen = []
        for warm, extra in ((first, "alice.txt"), (second, "bob.txt")):
            config = RunnerConfig(_workspace(tmp_path / extra.split(".")[0], PROBE, extra), {"m.py": ["look"]}, 1)
            backend = DockerBackend(config, spec.limits, warm=lambda w=warm: w)
            seen.append(_first_call(backend, "look"))
            assert backend.warm_runners == 1 and backend.environment()["warm_runners"] == 1
            backend.close()
            assert not Path(warm["slot"]).exists(), "the judge removes its warm container's slot"
            with pytest.raises(docker.errors.NotFound):
                engine.containers.get(warm["container"])
    (alice_files, alice_tmp), (bob_files, bob_tmp) = seen
    assert "alice.txt" in alice_files and "bob.txt" not in alice_files
    assert "bob.txt" in bob_files and "alice.txt" not in bob_files
    assert bob_tmp == [], "the second submission's /tmp holds nothing of the first"
    assert engine.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}.pool={pool.id}"}) == []
    assert not pool._tmp.exists(), "the pool removes its folder (runtime, slots) when it closes"


def test_a_warm_container_lost_before_its_judge_adopts_it_means_a_cold_start(engine, spec, tmp_path):
    with WarmPool(spec, 1) as pool:
        warm = pool.take()
        engine.containers.get(warm["container"]).remove(force=True)
        config = RunnerConfig(_workspace(tmp_path / "w", PROBE, "carol.txt"), {"m.py": ["look"]}, 1)
        backend = DockerBackend(config, spec.limits, warm=lambda w=warm: w)
        files, _ = _first_call(backend, "look")
        assert "carol.txt" in files and backend.warm_runners == 0
        backend.close()


def test_a_warm_container_no_judge_takes_ends_after_its_wait_not_its_lifetime_cap(engine, spec, tmp_path):
    """Its runner waits its idle time and a margin (here 2 + 2 s) for a config, then ends, and the
    container with it: a shelf's or pool's unused container holds no memory until its cap (minutes)."""
    from grader.sandbox import write_runtime
    from grader.sandbox.docker import container_lifetime
    from grader.sandbox.image import ensure_image
    from grader.sandbox.warm import start_warm_container

    started = time.monotonic()
    container = engine.containers.get(start_warm_container(
        engine, spec.needs, spec.limits, image=ensure_image(engine), runtime=write_runtime(tmp_path / "runtime"),
        slot=tmp_path / "slot", pool=f"test-wait-{os.getpid()}", idle_seconds=2))
    try:
        while container.status in ("created", "running") and time.monotonic() - started < 60:
            time.sleep(0.25)
            container.reload()
        assert container.status == "exited", f"still {container.status} after 60 s"
        assert container.attrs["State"]["ExitCode"] == 0, container.logs()[-2000:]
        assert 4 <= time.monotonic() - started < container_lifetime(spec.limits)
    finally:
        container.remove(force=True)


def test_a_batchs_pool_starts_no_more_containers_than_the_batch_has_jobs(engine, spec):
    with WarmPool(spec, 1, limit=2) as pool:
        taken = [pool.take()]
        deadline = time.monotonic() + 30
        while len(taken) < 2 and time.monotonic() < deadline:  # the refill starts once the first is taken
            taken += [warm for warm in [pool.take()] if warm]
        assert len(taken) == 2 and all(taken) and taken[0]["container"] != taken[1]["container"]
        started = time.monotonic()
        assert pool.take() is None and time.monotonic() - started < 1, "no third container, and no wait"
        time.sleep(0.5)  # a refill would have begun by now
        assert pool.made == 2
        assert [c.id for c in engine.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}.pool={pool.id}"})
                if c.id not in {w["container"] for w in taken}] == []
        for warm in taken:
            pool._remove(warm)


def test_a_pool_the_engine_refuses_hands_out_nothing_and_the_batch_grades_cold(engine, spec, tmp_path,
                                                                               monkeypatch):
    real = warm_module.warm_container_options

    def missing_image(*args, **kwargs):
        return {**real(*args, **kwargs), "image": "dl-grader-no-such-image:none"}

    monkeypatch.setattr(warm_module, "warm_container_options", missing_image)
    monkeypatch.setenv("GRADER_SHELF_SECONDS", "0")  # no warm container from the shelf for the batch of one
    with WarmPool(spec, 1) as pool:
        assert pool.take() is None
        assert pool.failures >= 1 and pool.made == 0
    case = next(c for c in cases_for(spec) if c.name == "starter")
    reports = grade_batch(spec, [case.path], tmp_path / "out", sandbox="docker", jobs=1, warm=1, progress=None)
    (report,) = reports.values()
    assert report["status"] == "graded" and report["environment"]["warm_runners"] == 0


def test_a_warm_batch_grades_as_the_local_sandbox_and_leaves_nothing(engine, spec, tmp_path,
                                                                    local_example_reports):
    cases, reports = local_example_reports(spec)
    local = reports_by_case(cases, reports)
    picked = [c for c in cases if c.name in ("reference", "starter")] + quickest_mistakes(cases, local, 4)
    warm = grade_batch(spec, [c.path for c in picked], tmp_path / "out", sandbox="docker", jobs=2, warm=2,
                       progress=None, names=[c.name for c in picked])
    for case in picked:
        got, want = warm[case.name], local[case.name]
        assert (got["status"], got["score"]) == (want["status"], want["score"]), case.name
        assert [(t["name"], t["status"]) for t in got["tests"]] == [(t["name"], t["status"]) for t in want["tests"]]
    used = [r["environment"]["warm_runners"] for r in warm.values()]
    # The pool starts with the batch: at most the first judges (one per job) may find it still empty.
    assert sum(used) >= len(picked) - 2, used
    # The pool's containers carry this process as their grader, as the judges' containers do.
    assert ours(engine, grader=os.getpid()) == [], "a container of the batch was left behind"


def test_the_service_keeps_a_pool_per_step_with_pushes_and_closes_a_quiet_one(engine, spec):
    other = find_assignment(COURSE, "softmax")
    pools = WarmPools(1, idle_seconds=3)
    try:
        assert pools.taker(find_assignment(COURSE, "pytorch")) is None  # a GPU step ("optional") starts cold
        take = pools.taker(spec)
        warm = take()
        assert warm, "the step's first job waits for the container its new pool is starting"
        engine.containers.get(warm["container"]).remove(force=True)  # as its judge would, once done
        assert pools.taker(spec).__self__ is take.__self__, "one pool per step"
        time.sleep(3.5)
        pools.taker(other)  # a job of another step: backprop's pool, quiet for 3 s, is closed
        assert engine.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}.pool={take.__self__.id}"}) == []
        assert not take.__self__._tmp.exists()
    finally:
        pools.close()
    assert ours(engine, grader=os.getpid()) == []


def test_service_jobs_under_docker_take_warm_containers_and_score_as_ever(engine, spec, tmp_path):
    import shutil

    from grader.service.config import load_config
    from grader.service.store import Store
    from grader.service.worker import Worker

    (tmp_path / "roster.csv").write_text("student,name,repository\nalice,Alice,course/alice\n")
    (tmp_path / "course.toml").write_text('[service]\nclone_url = "file:///srv/git/{repo}.git"\n'
                                          'roster = "roster.csv"\nsandbox = "docker"\nwarm = 1\n'
                                          f'[assignments.{spec.id}]\nbranch = "main"\n')
    config = load_config(tmp_path / "course.toml", course=COURSE, environ={
        "GRADER_WEBHOOK_SECRET": "s" * 20, "GRADER_INSTRUCTOR_TOKEN": "t" * 20})
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    cases = {c.name: c for c in cases_for(spec)}
    uploads = [Path(shutil.make_archive(str(tmp_path / name), "zip", cases[name].path)).read_bytes()
               for name in ("starter", "reference", "no-bias-sum")]
    reports = uploads_in_turn(Worker(config, store), store, spec.id, uploads)
    assert [r["score"] for r in reports] == [0, spec.points, cases["no-bias-sum"].score]
    assert [r["environment"]["warm_runners"] for r in reports] == [1, 1, 1]
    assert ours(engine, grader=os.getpid()) == [], "the service's pools are closed with its worker"
