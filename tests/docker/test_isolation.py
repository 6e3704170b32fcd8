"""What a student's code can see and do inside the container, and how each attack ends.

Each attack runs against the backend directly, with small limits so it ends fast; the judge's side
(timeouts, deaths) is played by the helper exactly as `RunnerSession` plays it: kill, then ask how it
ended. Every test's containers are checked gone by label when it closes.
"""

from __future__ import annotations

import time

import pytest

from grader.runtime import wire
from grader.spec import Limits
from grader.sandbox.docker import container_options
from tests.conftest import COURSE

pytestmark = pytest.mark.docker

PROBE = '''
import os, resource, socket
def probe():
    facts = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "cwd": os.getcwd(),
             "env": sorted(os.environ), "root": sorted(os.listdir("/"))}
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    facts["CapEff"], facts["NoNewPrivs"] = status["CapEff"].strip(), status["NoNewPrivs"].strip()
    facts["nofile"] = resource.getrlimit(resource.RLIMIT_NOFILE)
    facts["core"] = resource.getrlimit(resource.RLIMIT_CORE)
    facts["fsize"] = resource.getrlimit(resource.RLIMIT_FSIZE)
    facts["interfaces"] = sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:])
    for name, address in (("internet", ("1.1.1.1", 53)), ("docker_host", ("172.17.0.1", 2375))):
        try:
            socket.create_connection(address, timeout=2)
            facts[name] = "open"
        except OSError as exc:
            facts[name] = type(exc).__name__
    try:
        socket.getaddrinfo("deb.debian.org", 80)
        facts["dns"] = "resolves"
    except OSError as exc:
        facts["dns"] = type(exc).__name__
    for path in ("/submission/x", "/opt/runtime/x", "/etc/x", "/x", "/usr/x", "/var/tmp/x", "/dev/x",
                 "/dev/shm/x", "/tmp/x"):
        try:
            with open(path, "w") as handle:
                handle.write("x")
            facts[path] = "written"
        except OSError as exc:
            facts[path] = type(exc).__name__
    facts["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    facts["host_paths"] = [p for p in (COURSE, "/var/run/docker.sock", "/run/docker.sock", "/var/lib/docker",
                                       "/work") if os.path.exists(p)]
    for home in ("/root", "/home"):  # the image's own (empty) folders, nothing of the host's
        try:
            facts["host_paths"] += [os.path.join(home, name) for name in os.listdir(home)]
        except OSError:
            pass
    try:
        facts["shadow"] = open("/etc/shadow").read()[:10]
    except OSError as exc:
        facts["shadow"] = type(exc).__name__
    return facts
'''.replace("COURSE", repr(str(COURSE)))


@pytest.fixture(scope="module")
def facts(engine, tmp_path_factory):
    from tests.docker.conftest import Runner

    r = Runner(engine, tmp_path_factory.mktemp("probe"), PROBE, ["probe"], Limits(disk_mb=8, open_files=100))
    try:
        return r.call("probe")
    finally:
        r.close()


def test_runs_as_nobody_without_capabilities(facts):
    assert (facts["uid"], facts["gid"]) == (65534, 65534) and set(facts["groups"]) <= {65534}
    assert int(facts["CapEff"], 16) == 0 and facts["NoNewPrivs"] == "1"


def test_environment_is_only_what_the_grader_gives(facts):
    from grader.sandbox import RUNNER_ENV

    # docker itself adds HOSTNAME; nothing of the host's environment gets in.
    assert set(facts["env"]) - {"HOSTNAME"} == set(RUNNER_ENV)


def test_no_network(facts):
    assert facts["interfaces"] == ["lo"]
    assert facts["internet"] != "open" and facts["docker_host"] != "open" and facts["dns"] != "resolves"


def test_nothing_but_tmp_is_writable(facts):
    for path in ("/submission/x", "/opt/runtime/x", "/etc/x", "/x", "/usr/x", "/var/tmp/x", "/dev/x", "/dev/shm/x"):
        assert facts[path] != "written", path
    assert facts["/tmp/x"] == "written" and facts["cwd"] == "/tmp"


def test_sees_no_other_process_and_no_host_file(facts):
    assert len(facts["pids"]) <= 3  # timeout (pid 1), the runner, and at most a child of its own
    assert facts["host_paths"] == []
    assert facts["shadow"] != "written" and not facts["shadow"].startswith("root")


def test_rlimits_are_set(facts):
    assert facts["nofile"] == (100, 100) and facts["core"] == (0, 0)
    assert facts["fsize"] == (8 << 20, 8 << 20)


# ---------------------------------------------------------------------------------------------------
# attacks: each ends within its limit, with an ending that names it


def test_memory_bomb_is_killed_out_of_memory(runner):
    r = runner("def hog():\n    h = []\n    while True:\n        h.append(bytearray(1 << 24))\n",
               ["hog"], memory_mb=128)
    started = time.monotonic()
    with pytest.raises(wire.ChannelClosed):
        r.request("hog", seconds=30)
    assert time.monotonic() - started < 20
    assert r.stop() == "killed: out of memory (memory_mb=128)"


FORK_BOMB = '''
import os
def bomb():
    while True:
        try:
            os.fork()
        except OSError:
            pass
'''


def test_fork_bomb_hits_the_process_limit_and_is_stopped(runner, engine):
    r = runner(FORK_BOMB, ["bomb"], pids=32)
    started = time.monotonic()
    with pytest.raises(wire.WireError):  # children answer too (garbage) or nobody does (timeout)
        r.request("bomb", seconds=3)
    ending = r.stop()
    assert time.monotonic() - started < 15
    assert "process limit pids=32" in ending, ending
    stats = engine.api.inspect_container(r.process.container.id)["State"]
    assert not stats["Running"]


def test_output_flood_is_capped_then_stopped(runner):
    r = runner("import sys\ndef flood():\n    while True:\n        sys.stdout.write('x' * 65536)\n",
               ["flood"], output_kb=16, output_kill_mb=4)
    started = time.monotonic()
    with pytest.raises(wire.ChannelClosed):
        r.request("flood", seconds=30)
    assert time.monotonic() - started < 20
    assert r.stop().startswith("output limit: the runner printed more than 4 MB")
    text, truncated = r.backend.output.text()
    assert truncated and len(text) == 16 << 10


def test_disk_fill_stops_at_the_tmpfs_size(runner):
    source = '''
import os
def fill():
    written = 0
    try:
        with open("/tmp/fill", "wb") as handle:
            while True:
                handle.write(b"x" * (1 << 20))
                handle.flush()
                written += 1
    except OSError as exc:
        return [written, exc.errno]
def fill_many():
    n = 0
    try:
        while True:
            with open(f"/tmp/part{n}", "wb") as handle:
                handle.write(b"y" * (1 << 20))
            n += 1
    except OSError as exc:
        return [n, exc.errno]
'''
    r = runner(source, ["fill", "fill_many"], disk_mb=8)
    written, errno = r.call("fill")
    assert written <= 8 and errno in (27, 28)  # EFBIG (file size limit) or ENOSPC (tmpfs full)
    parts, errno = r.call("fill_many")
    assert parts <= 8 and errno == 28
    assert r.call("fill_many") == [0, 28]  # the runner lives on; the disk stays full, not bigger


def test_hang_ignoring_sigterm_is_killed_at_the_deadline(runner):
    source = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ndef hang():\n    while True:\n        pass\n"
    r = runner(source, ["hang"])
    started = time.monotonic()
    with pytest.raises(wire.ChannelTimeout):
        r.request("hang", seconds=2)
    assert r.stop() == "the runner was stopped by the grader"
    assert time.monotonic() - started < 6


def test_runner_outliving_its_wall_clock_is_stopped_from_the_host(runner, monkeypatch):
    import grader.sandbox.docker as backend

    monkeypatch.setattr(backend, "WALL_GRACE_SECONDS", 0)
    r = runner("def idle():\n    return 1\n", ["idle"], total_seconds=1, import_seconds=1)
    time.sleep(3.5)
    with pytest.raises(wire.ChannelClosed):
        r.request("idle")
    assert r.stop().startswith("wall-clock limit")


def test_stderr_garbage_never_reaches_the_protocol(runner):
    source = ("import os, sys\ndef noisy():\n    os.write(2, b'\\x00\\x00\\x00\\x10garbage' * 1000)\n"
              "    print('\\x01\\x00\\x00\\x00', file=sys.stderr)\n    return 7\n")
    r = runner(source, ["noisy"])
    assert r.call("noisy") == 7 and r.call("noisy") == 7


# ---------------------------------------------------------------------------------------------------
# the request that would be made: checked here on any machine, GPU or not


def test_container_request_is_hardened(tmp_path):
    limits = Limits(memory_mb=300, pids=20, cpus=0.5, disk_mb=16, open_files=50)
    from grader.sandbox import RunnerConfig

    options = container_options(RunnerConfig(tmp_path, {"m.py": ["f"]}, 1), limits, image="img:1",
                                runtime=tmp_path, job="j1")
    assert options["network_mode"] == "none" and options["user"] == "65534:65534"
    assert options["cap_drop"] == ["ALL"] and options["security_opt"] == ["no-new-privileges"]
    assert options["read_only"] and "size=16m" in options["tmpfs"]["/tmp"]
    assert options["mem_limit"] == options["memswap_limit"] == "300m"
    assert options["pids_limit"] == 20 and options["nano_cpus"] == 500_000_000
    assert {u["Name"]: u["Hard"] for u in options["ulimits"]}["nofile"] == 50
    assert options["labels"]["dl-grader"] == "1" and options["labels"]["dl-grader.job"] == "j1"
    assert options["log_config"]["Type"] == "none"
    assert all(m["ReadOnly"] for m in options["mounts"])
    assert "device_requests" not in options


def test_gpu_request_names_one_device(tmp_path):
    from grader.sandbox import RunnerConfig

    options = container_options(RunnerConfig(tmp_path, {"m.py": ["f"]}, 1, gpu=True), Limits(),
                                image="img:1", runtime=tmp_path, job="j1", gpu="1")
    (request,) = options["device_requests"]
    assert request["DeviceIDs"] == ["1"] and request["Capabilities"] == [["gpu"]]
    assert request.get("Count") in (None, 0)
