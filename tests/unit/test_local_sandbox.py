"""The local sandbox: the runner sees only its workspace, as nobody, without network or course files."""

import os
import time
from pathlib import Path

import numpy as np
import pytest

from grader import wire
from grader.sandbox import Limits, RunnerConfig, make_backend

PROBE = '''
import os, socket
def probe():
    facts = {"uid": os.getuid(), "root": sorted(os.listdir("/")), "cwd": os.getcwd()}
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2)
        facts["network"] = "open"
    except OSError as exc:
        facts["network"] = type(exc).__name__
    for path in ("/submission/x", "/etc/x", "/tmp/x"):
        try:
            open(path, "w").write("x")
            facts[path] = "written"
        except OSError as exc:
            facts[path] = type(exc).__name__
    facts["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    facts["course_visible"] = os.path.exists(COURSE)
    return facts
def double(x):
    return x * 2
'''


def start(tmp_path, isolate=True, source=PROBE):
    (tmp_path / "m.py").write_text(source.replace("COURSE", repr(str(Path(__file__).parent))))
    tmp_path.chmod(0o755)  # as ingest leaves a workspace: readable by the runner's uid, nothing more
    (tmp_path / "m.py").chmod(0o644)
    backend = make_backend("local", RunnerConfig(tmp_path, {"m.py": ["probe", "double"]}, 1), Limits(),
                           isolate=isolate)
    process = backend.start()
    started, _ = process.channel.receive(deadline=time.monotonic() + 10)
    assert started == {"ok": True, "phase": "started", "missing_needs": []}
    hello, _ = process.channel.receive(deadline=time.monotonic() + 10)
    assert hello["ok"], hello
    return backend, process


def call(process, name, *args):
    tree, blobs = wire.encode(list(args))
    process.channel.send({"op": "call", "name": name, "args": tree}, blobs, deadline=time.monotonic() + 10)
    reply, out = process.channel.receive(deadline=time.monotonic() + 10)
    assert reply["ok"], reply
    return wire.decode(reply["value"], out)


def test_jailed_runner_sees_nothing_of_the_host(tmp_path):
    backend, process = start(tmp_path)
    try:
        facts = call(process, "probe")
        assert np.array_equal(call(process, "double", np.arange(3)), [0, 2, 4])
    finally:
        backend.close()
    if os.geteuid() == 0:
        assert facts["uid"] == 65534
    assert facts["network"] != "open"
    assert facts["/submission/x"] != "written" and facts["/etc/x"] != "written"
    assert facts["/tmp/x"] == "written" and facts["cwd"] == "/tmp"
    assert not facts["course_visible"]
    assert facts["pids"] == [1]


def test_runner_is_killed_with_everything_it_started(tmp_path):
    source = PROBE + "\nimport subprocess\nsubprocess.Popen(['sleep', '300'])\n"
    backend, process = start(tmp_path, source=source)
    backend.close()
    time.sleep(0.2)
    assert "sleep 300" not in os.popen("ps -eo args").read()


def test_unjailed_runner_still_has_rlimits(tmp_path):
    source = "import numpy as np\ndef probe():\n    return np.ones(1 << 31).sum()\ndef double(x):\n    return x\n"
    backend, process = start(tmp_path, isolate=False, source=source)
    try:
        tree, _ = wire.encode([])
        process.channel.send({"op": "call", "name": "probe", "args": tree}, [], deadline=time.monotonic() + 10)
        reply, _ = process.channel.receive(deadline=time.monotonic() + 10)
    finally:
        backend.close()
    assert not reply["ok"] and reply["error"]["type"] == "MemoryError"


@pytest.mark.parametrize("isolate", [True, False])
def test_output_is_captured_and_capped(tmp_path, isolate):
    source = "import sys\nsys.stdout.write('x' * 200000)\nprint('end')\ndef probe():\n    return 1\ndef double(x):\n    return x\n"
    backend, process = start(tmp_path, isolate=isolate, source=source)
    try:
        assert call(process, "probe") == 1  # the flood never reached the protocol stream
        time.sleep(0.2)
        text, truncated = backend.output.text()
    finally:
        backend.close()
    assert truncated and len(text) == Limits().output_kb << 10


def test_a_sandbox_that_cannot_start_python_is_an_infra_error(tmp_path, backprop, monkeypatch):
    from grader.errors import InfrastructureError
    from grader.judge.proxy import RunnerSession
    from grader.sandbox import local

    (tmp_path / "layers.py").write_text("def affine_forward(x, w, b):\n    return x\n")
    monkeypatch.setattr(local, "BOOTSTRAP", "import sys; sys.exit(3)")  # dies before its first frame

    backend = make_backend("local", RunnerConfig(tmp_path, {"layers.py": ["affine_forward"]}, 1), Limits(),
                           isolate=False)
    session = RunnerSession(backend, Limits(), {"layers.py": ["affine_forward"]}, seed=1)
    with pytest.raises(InfrastructureError, match="could not start a runner"):
        session.begin_test("t", None)
    backend.close()
