"""The local sandbox: the runner sees only its workspace, as a uid of its own, without network, course
files, the grader's virtualenv or the kernel's keyrings, and dies with its judge."""

import os
import time
from pathlib import Path

import numpy as np
import pytest

from grader.runtime import wire
from grader.sandbox import RunnerConfig, make_backend, slots
from grader.spec import Limits

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
    if os.geteuid() == 0:  # a uid of its own from the reserved range, never root, never a shared one
        assert slots.UID_BASE <= facts["uid"] < slots.UID_BASE + slots.SLOTS
    assert facts["network"] != "open"
    assert facts["/submission/x"] != "written" and facts["/etc/x"] != "written"
    assert facts["/tmp/x"] == "written" and facts["cwd"] == "/tmp"
    assert not facts["course_visible"]
    assert facts["pids"] == [1, 2]  # the jail's init (bubblewrap) and the runner: nothing of the host


def shows_in_ps(text: str, seconds: float = 10) -> bool:
    """Whether a command line holding `text` shows in ps within `seconds`. A child that a submission's
    Popen has just started can read as "[sleep]" for a moment: Popen returns once the exec begins,
    before the kernel sets the new command line, and on a busy machine ps lands in between."""
    deadline = time.monotonic() + seconds
    while text not in os.popen("ps -eo args").read():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_runner_is_killed_with_everything_it_started(tmp_path):
    marker = f"sleep 300.{os.getpid()}{time.monotonic_ns() % 10**6}"  # this test's own, never another's
    source = PROBE + f"\nimport subprocess\nsubprocess.Popen({marker.split()!r})\n"
    backend, process = start(tmp_path, source=source)
    assert shows_in_ps(marker), "the runner's child did not start"
    backend.close()
    # Killed at once, but a loaded machine may take a moment to tear down the jail's processes.
    deadline = time.monotonic() + 10
    while marker in os.popen("ps -eo args").read() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker not in os.popen("ps -eo args").read()


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
    # How it ended is its own exit, never the kill that follows it (the judge waits for a closed channel's end).
    with pytest.raises(InfrastructureError, match="could not start a runner.*exited with code 3"):
        session.begin_test("t", None)
    backend.close()


SYSCALLS = '''
import ctypes, errno, os, sys, threading
from grader.sandbox import seccomp
def probe():
    libc = ctypes.CDLL(None, use_errno=True)
    def attempt(name, *args):
        ctypes.set_errno(0)
        result = libc.syscall(seccomp.syscall_number(name), *args)
        return "allowed" if result >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")
    facts = {name: attempt(name, 0, 0, 0, 0) for name in ("keyctl", "unshare", "ptrace", "bpf", "setns",
                                                            "perf_event_open")}
    facts["add_key"] = attempt("add_key", b"user", b"k", b"v", 1, -3)  # into the session keyring
    facts["mount"] = attempt("mount", b"none", b"/tmp", b"tmpfs", 0, None)
    facts["clone_newuser"] = attempt("clone", 0x10000000 | 17, 0, 0, 0, 0)  # CLONE_NEWUSER|SIGCHLD
    box = []
    thread = threading.Thread(target=lambda: box.append(os.getpid()))
    thread.start(); thread.join()
    facts["threads"] = box == [os.getpid()]
    facts["fork"] = os.waitpid(pid, 0)[1] == 0 if (pid := os.fork()) else os._exit(0)
    import importlib.util
    facts["modules"] = {m: importlib.util.find_spec(m) is not None for m in ("numpy", "pytest", "grader.judge")}
    facts["prefix"] = sys.prefix
    facts["version"] = sys.version
    facts["venv_visible"] = os.path.exists(VENV)
    facts["keys"] = open("/proc/keys").read()
    return facts
def double(x):
    return x
'''


def add_grader_key(number):
    """A key in this (the grader's) session keyring, as an old runner would have inherited it."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    serial = libc.syscall(number, b"user", b"dl-grader-secret", b"hidden", 6, -3)  # KEY_SPEC_SESSION_KEYRING
    assert serial > 0, ctypes.get_errno()
    assert "dl-grader-secret" in open("/proc/keys").read()


@pytest.fixture(scope="module")
def syscall_facts(tmp_path_factory):
    import sys
    folder = tmp_path_factory.mktemp("syscalls")
    source = SYSCALLS.replace("VENV", repr(sys.prefix)).replace("from grader.sandbox import seccomp", "")
    source = source.replace("seccomp.syscall_number", "NUMBERS.__getitem__")
    from grader.sandbox import seccomp
    numbers = {n: seccomp.syscall_number(n) for n in seccomp.SYSCALLS[seccomp.machine()]}
    add_grader_key(numbers["add_key"])
    backend, process = start(folder, source=f"NUMBERS = {numbers!r}\n" + source)
    try:
        return call(process, "probe")
    finally:
        backend.close()


@pytest.mark.parametrize("name", ["keyctl", "add_key", "unshare", "ptrace", "bpf", "setns", "perf_event_open",
                                  "mount", "clone_newuser"])
def test_seccomp_denies_what_a_runner_never_needs(syscall_facts, name):
    """Is each call of the deny-list refused (EPERM) inside the jail?"""
    assert syscall_facts[name] == "EPERM"


def test_seccomp_leaves_threads_and_fork_working(syscall_facts):
    assert syscall_facts["threads"] and syscall_facts["fork"]


def test_runner_sees_numpy_but_not_the_graders_virtualenv(syscall_facts):
    """Only numpy (and what the assignment needs) of the grader's site-packages: no pytest, no grader."""
    assert syscall_facts["modules"] == {"numpy": True, "pytest": False, "grader.judge": False}
    assert not syscall_facts["venv_visible"]


def test_runner_runs_the_graders_own_python(syscall_facts):
    """The base installation of the grader's interpreter, not some other Python found on the way."""
    import sys

    assert syscall_facts["version"] == sys.version


def test_runner_sees_no_key_of_the_grader(syscall_facts):
    """A key in the grader's session keyring does not appear in the runner's /proc/keys."""
    assert "dl-grader-secret" not in syscall_facts["keys"]


@pytest.mark.skipif(os.geteuid() != 0, reason="runner uids from the reserved range need a root grader")
def test_two_runners_never_share_a_uid(tmp_path):
    source = "import os\ndef probe():\n    return os.getuid()\ndef double(x):\n    return x\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, p1 = start(tmp_path / "a", source=source)
    second, p2 = start(tmp_path / "b", source=source)
    try:
        uids = call(p1, "probe"), call(p2, "probe")
    finally:
        first.close()
        second.close()
    assert uids[0] != uids[1]
    assert not slots.processes_of(uids[0]) and not slots.processes_of(uids[1])


def test_the_runner_has_an_absolute_lifetime(tmp_path, monkeypatch):
    """Killed by `timeout` outside the jail after its lifetime, without any help from the judge."""
    from grader.sandbox import local

    monkeypatch.setattr(local, "WALL_GRACE_SECONDS", 1)
    limits = Limits(total_seconds=1, import_seconds=1)
    (tmp_path / "m.py").write_text("def probe():\n    return 1\n")
    tmp_path.chmod(0o755)
    backend = make_backend("local", RunnerConfig(tmp_path, {"m.py": ["probe"]}, 1), limits)
    process = backend.start()
    try:
        started = time.monotonic()
        process.proc.wait(timeout=20)  # nobody kills it: the judge side does nothing here
        assert 2.5 <= time.monotonic() - started < 10
        assert "lifetime limit of 3 s" in process.ending()
    finally:
        backend.close()


def test_runner_dies_with_its_judge(tmp_path):
    """kill -9 of the process that started a runner: the runner and all it started are gone."""
    import signal
    import subprocess
    import sys

    (tmp_path / "m.py").write_text("import subprocess\nsubprocess.Popen(['sleep', '1234'])\n"
                                   "def probe():\n    return 1\n")
    tmp_path.chmod(0o755)
    (tmp_path / "m.py").chmod(0o644)
    judge = (f"from grader.sandbox import RunnerConfig, make_backend\nfrom grader.spec import Limits\nfrom pathlib import Path\n"
             f"config = RunnerConfig(Path({str(tmp_path)!r}), {{'m.py': ['probe']}}, 1)\n"
             "b = make_backend('local', config, Limits())\n"
             "p = b.start(); p.channel.receive(); loaded = p.channel.receive()[0]\n"
             "import json; print('ready', json.dumps(loaded), flush=True)\n"
             "import time; time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", judge], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)

    def sleepers() -> list[str]:
        return [line for line in os.popen("ps -eo pid,ppid,stat,args").read().splitlines() if "sleep 1234" in line]

    try:
        said = proc.stdout.readline().strip()
        if not said.startswith("ready"):
            proc.kill()
            raise AssertionError(f"the judge never had its runner ready: {proc.communicate()[1][-3000:]}")
        assert '"ok": true' in said, f"the submission did not import: {said}"
        assert shows_in_ps("sleep 1234"), "the submission imported, but its sleep never showed in ps"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while sleepers() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not sleepers(), f"10 s after the judge's kill -9 its runner's child lives on: {sleepers()}"
    finally:
        proc.kill()


@pytest.mark.parametrize("arch, header", [("x86_64", "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
                                          ("aarch64", "/usr/include/asm-generic/unistd.h")])
def test_seccomp_numbers_match_the_kernel_headers(arch, header):
    """Does every syscall number of the filter agree with the kernel's uapi header (where installed)?"""
    import re

    from grader.sandbox import seccomp

    if not os.path.exists(header):
        pytest.skip(f"{header} is not installed (Debian: linux-libc-dev)")
    text = open(header).read()
    for name, number in seccomp.SYSCALLS[arch].items():
        found = re.search(rf"#define __NR(?:3264)?_{name}\s+(\d+)", text)
        assert found and int(found.group(1)) == number, (arch, name)
    program = seccomp.deny_program(arch)
    assert len(program) % 8 == 0 and len(program) // 8 < 4096  # struct sock_filter; BPF_MAXINSNS


@pytest.mark.skipif(os.geteuid() != 0, reason="the note lives in the root grader's slot folder; others probe every time")
def test_the_jail_probe_runs_once_per_boot_and_a_failure_is_never_noted(tmp_path, monkeypatch):
    from grader.sandbox import local

    monkeypatch.setattr(slots, "LOCK_DIR", tmp_path / "slots")
    probes: list[str | None] = []

    def probe(verdict):
        def counted():
            probes.append(verdict)
            return verdict
        return counted

    monkeypatch.setattr(local, "_probe_jail", probe("bubblewrap refused to build the jail: no"))
    assert local.probe_once_per_boot() == "bubblewrap refused to build the jail: no"
    assert local.probe_once_per_boot() == "bubblewrap refused to build the jail: no"  # asked again
    monkeypatch.setattr(local, "_probe_jail", probe(None))
    assert local.probe_once_per_boot() is None
    assert local.probe_once_per_boot() is None
    assert len(probes) == 3, "a passed probe is not repeated on this boot"

    (tmp_path / "slots" / "jail-ok").write_text("another boot's stamp")
    assert local.probe_once_per_boot() is None and len(probes) == 4
    assert (tmp_path / "slots" / "jail-ok").read_text() == local._jail_stamp()
