"""The docker backend end to end: a real container answers calls, and shows the student nothing."""

from __future__ import annotations

import time

import numpy as np
import pytest

from grader.errors import InfrastructureError
from grader.sandbox import RunnerConfig
from grader.spec import Limits
from grader.sandbox.docker import LABEL, HOST, DockerBackend, remove_stale_containers
from grader.judge.proxy import ENDING_GRACE_SECONDS
from tests.docker.conftest import ours

pytestmark = pytest.mark.docker

ECHO = '''
import sys
print("printed at import")
def double(x):
    print("printed in a call")
    sys.stderr.write("written to stderr\\n")
    return x * 2
class Counter:
    def __init__(self):
        self.n = 0
def counter():
    return Counter()
'''


def test_calls_round_trip_through_a_container(runner):
    r = runner(ECHO, ["double", "counter"])
    assert r.hello["ok"] and r.hello["value"]["missing"] == []
    assert r.hello["value"]["python"].startswith("3.11")  # Debian's Python, not the host's
    assert r.call("double", 21) == 42
    big = np.random.default_rng(0).random(10 << 17)  # 10 MB of float64
    assert np.array_equal(r.call("double", big), big * 2)
    handle = r.call("counter")
    assert handle["type"] == "Counter" and "$h" in handle
    time.sleep(0.2)
    text, truncated = r.backend.output.text()
    assert "printed at import" in text and "printed in a call" in text and "written to stderr" in text
    assert not truncated


def test_environment_names_the_image(runner, engine):
    r = runner(ECHO, ["double"])
    facts = r.backend.environment()
    assert facts["backend"] == "docker" and facts["image"].startswith("dl-grader:")
    assert facts["image_id"] == engine.images.get(facts["image"]).id
    assert facts["gpu"] is None


def test_a_judges_close_after_its_last_test_asks_the_engine_only_to_kill_and_remove(runner, engine):
    """The close on the critical path of every docker grading: the report's image id and engine version
    are known since the backend was made, an ending nobody reads is not asked for, the container is
    not killed twice, and nothing removed is swept for again."""
    r = runner(ECHO, ["double"])
    assert r.call("double", 2) == 4
    asked: list[str] = []
    r.backend.client.api.hooks["response"].append(
        lambda response, *args, **kwargs: asked.append(f"{response.request.method} {response.request.path_url}"))
    r.process.kill()  # as grader.judge.proxy.RunnerSession.close does it: kill, close, then the backend
    r.process.close()
    facts = r.backend.environment()
    r.backend.close()
    container = r.process.container.id
    assert [(a.split()[0], a.split("?")[0].rsplit("/", 2)[-2:]) for a in asked] == \
        [("POST", [container, "kill"]), ("DELETE", ["containers", container])], asked
    assert facts["image_id"] == engine.images.get(facts["image"]).id
    assert facts["engine"] == engine.version()["Version"]


def test_a_runner_that_exits_says_so(runner):
    r = runner("import os\ndef bye():\n    os._exit(3)\n", ["bye"])
    with pytest.raises(Exception):
        r.request("bye")
    assert r.stop(ended=True) == "the runner exited with code 3"


def test_the_submission_is_imported_only_once_the_judge_accepted_its_runner(engine, tmp_path, monkeypatch):
    """The judge checks who connected to the channel (its pid namespace) before the runner imports the
    submission. A judge slowed by pytest's hold on the GIL once checked only after a submission that
    ends its process at import had done so, and refused its runner as a stranger: an infra_error
    instead of the submission's own failure (1 of 23 in the hostile batch under docker at -j 2)."""
    from grader.runtime import wire
    from grader.sandbox import docker as docker_sandbox

    checked = docker_sandbox._peer_in
    monkeypatch.setattr(docker_sandbox, "_peer_in", lambda conn, pid: time.sleep(1.0) or checked(conn, pid))
    tmp_path.chmod(0o755)
    (tmp_path / "m.py").write_text("import os\nos._exit(3)\n")
    (tmp_path / "m.py").chmod(0o644)
    backend = DockerBackend(RunnerConfig(tmp_path, {"m.py": ["f"]}, 1), Limits())
    try:
        process = backend.start()
        started, _ = process.channel.receive(deadline=time.monotonic() + 30)
        assert started["phase"] == "started"
        with pytest.raises(wire.ChannelClosed):
            process.channel.receive(deadline=time.monotonic() + 30)
        # As the judge does on a closed channel: a kill racing the exit would read "stopped by the grader".
        assert process.ended(within=ENDING_GRACE_SECONDS)
        process.kill()
        assert process.ending() == "the runner exited with code 3"
    finally:
        backend.close()


def test_every_container_is_removed_on_close(engine, tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    return 1\n")
    tmp_path.chmod(0o755)
    backend = DockerBackend(RunnerConfig(tmp_path, {"m.py": ["f"]}, 1), Limits())
    for _ in range(3):
        backend.start()  # restarts after deaths: each is a container of its own
    assert len(ours(engine, backend.job)) == 3
    backend.close()
    assert ours(engine, backend.job) == []


def test_containers_of_a_dead_grader_are_swept(engine, tmp_path):
    """A grader killed with SIGKILL cleans nothing; the next one removes what it left."""
    from grader.sandbox.image import ensure_image

    dead = 2**22 + 12345  # above the default pid_max, so no live process has it
    orphan = engine.containers.create(ensure_image(engine), ["sleep", "600"], network_mode="none",
                                      labels={LABEL: "1", f"{LABEL}.owner": f"{HOST}:{dead}"})
    alive = engine.containers.create(ensure_image(engine), ["sleep", "600"], network_mode="none",
                                     labels={LABEL: "1", f"{LABEL}.owner": f"{HOST}:1"})
    try:
        assert remove_stale_containers(engine) >= 1
        names = {c.id for c in engine.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}=1"})}
        assert orphan.id not in names and alive.id in names
    finally:
        alive.remove(force=True)


def test_no_engine_is_an_infrastructure_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(InfrastructureError, match="no Docker engine answers"):
        DockerBackend(RunnerConfig(tmp_path, {"m.py": ["f"]}, 1), Limits())


def test_a_grading_whose_sandbox_cannot_be_made_names_the_cause(monkeypatch, tmp_path, backprop):
    """The judge makes its sandbox while pytest collects: the first test meets the fault, the report is
    an infra_error that says why (not what a later test tripped over), and no test scores."""
    from grader.pipeline.grade import grade

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    report = grade(backprop, backprop.solution, sandbox="docker")
    assert report["status"] == "infra_error" and report["score"] is None
    assert report["reason"].startswith("no Docker engine answers"), report["reason"]
    assert {t["status"] for t in report["tests"]} <= {"not_run", "error"}


def test_a_missing_image_that_cannot_be_built_is_an_infrastructure_error(engine, monkeypatch, tmp_path):
    monkeypatch.setenv("DL_GRADER_BASE", "dl-grader-no-such-base:0")
    with pytest.raises(InfrastructureError, match="DL_GRADER_BASE"):
        DockerBackend(RunnerConfig(tmp_path, {"m.py": ["f"]}, 1), Limits())


def test_doctor_reports_engine_and_image(engine):
    from grader.sandbox.image import doctor, image_tag

    facts = doctor()
    assert facts["engine"]["version"] and facts["image"]["tag"] == image_tag()
    assert facts["image"]["present"] and facts["image"]["size_mb"] < 250
    assert isinstance(facts["gpus"], list)


def test_frames_travel_over_the_containers_own_socket(runner):
    """As root, the frames leave docker's attach stream: a socket in a folder only this container
    mounts, gone once its runner connected; prints still reach the output through the stream."""
    r = runner(ECHO, ["double"])
    assert r.process.channel.read_fd != r.process._pipe_r  # the channel is not the attach stream's pipe
    assert r.call("double", np.arange(3.0)).tolist() == [0.0, 2.0, 4.0]
    folders = list(r.backend._tmp.glob("channel-*"))
    assert len(folders) == 1 and list(folders[0].iterdir()) == []  # the socket was removed on connect
    time.sleep(0.2)
    assert "printed in a call" in r.backend.output.text()[0]


def test_the_attach_stream_still_carries_frames_where_asked(runner, monkeypatch):
    monkeypatch.setenv("GRADER_DOCKER_CHANNEL", "attach")
    r = runner(ECHO, ["double"])
    assert r.process.channel.read_fd == r.process._pipe_r
    big = np.random.default_rng(1).random(1 << 17)
    assert np.array_equal(r.call("double", big), big * 2)
    assert not list(r.backend._tmp.glob("channel-*"))


def test_a_channel_socket_accepts_no_process_outside_its_container(engine):
    """A process of the host that connects first (here as nobody, the runner's uid) is turned away,
    and the judge keeps waiting for the container's own runner, failing as the sandbox's fault."""
    import os
    import shutil
    import socket
    import tempfile
    from pathlib import Path

    from grader.sandbox.docker import NOBODY, ChannelListener

    container = engine.containers.run(
        image_tag_of(engine), ["sleep", "30"], entrypoint=[], detach=True, network_mode="none",
        labels={LABEL: "1"}, remove=True)
    try:
        container.reload()
        reachable = Path(tempfile.mkdtemp())
        reachable.chmod(0o755)
        listener = ChannelListener(reachable / "channel")
        pid = os.fork()
        if pid == 0:  # the impostor: the host's nobody
            code = 1
            try:
                os.chdir(listener.path.parent.parent)  # from here, whatever the folders above it allow
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.connect(f"{listener.path.parent.name}/{listener.path.name}")
                    code = 0 if sock.recv(1) == b"" else 2  # connected, then closed by the judge unread
            except BaseException as exc:  # shown in the test's captured stderr
                os.write(2, f"impostor: {exc!r}\n".encode())
            finally:
                os._exit(code)
        with pytest.raises(InfrastructureError, match="did not connect to its channel"):
            listener.accept(container.attrs["State"]["Pid"], alive=lambda: True, deadline=time.monotonic() + 1.5)
        assert os.waitpid(pid, 0)[1] == 0  # it connected (got in line), and was closed unread
        assert not listener.path.exists()
        shutil.rmtree(reachable)
    finally:
        container.kill()


def test_a_channel_socket_binds_under_a_folder_deeper_than_a_socket_path_may_be(tmp_path):
    """A job folder under a deep TMPDIR: the socket's own path is over the 107 bytes bind() takes."""
    from grader.sandbox.docker import ChannelListener

    deep = tmp_path / ("d" * 100) / ("e" * 100)
    deep.mkdir(parents=True)
    listener = ChannelListener(deep / "channel")
    try:
        assert len(str(listener.path)) > 200 and listener.path.is_socket()
    finally:
        listener.close()
    assert not listener.path.exists()


def image_tag_of(engine) -> str:
    from grader.sandbox.image import ensure_image

    return ensure_image(engine)
