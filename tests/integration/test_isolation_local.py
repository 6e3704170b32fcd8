"""The local sandbox under attack from the machine's point of view (issue 10, item 6).

Does a fork bomb graded by one grader leave another grader's runners alone? Can one submission leave a
kernel key (or a file) for the next? Does anything of a runner outlive a grader killed with -9, its
process group killed, or a SIGTERM, and does a rerun then give the same reports?
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.pipeline.batch import grade_batch
from grader.sandbox.local import isolation_available
from grader.spec import find_assignment
from tests.conftest import COURSE

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bool(isolation_available()),
                                 reason=f"no local jail: {isolation_available()}")]

RUNNER_MARK = "from grader.runtime.runner import main"  # in the argv of every process of a runner's chain
SPEC = find_assignment(COURSE, "05-backprop")
NAMES = ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss",
         "two_layer_loss", "train_xor")

FORK_BOMB = '''
import os, time
def _bomb():
    while True:
        try:
            pid = os.fork()
        except OSError:
            return
        if pid == 0:
            while True:  # every child keeps forking: the runner sits at its pids limit
                try:
                    os.fork()
                except OSError:
                    pass
                time.sleep(0.2)
_bomb()
def _slow(*args, **kwargs):
    time.sleep(1)
    raise RuntimeError("no")
'''
PROCESS_HOG = '''
import subprocess, threading, time
HELD = []
def _hog():
    while True:
        try:
            HELD.append(subprocess.Popen(["sleep", "600"]))
        except OSError:
            break
    while True:
        try:
            threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
        except RuntimeError:
            return
_hog()
def _slow(*args, **kwargs):
    _hog()
    time.sleep(1)
    raise RuntimeError("no")
'''
KEY_WRITER = '''
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for ring, name in ((-4, "user"), (-5, "user-session"), (-3, "session"), (-1, "thread")):
    serial = libc.syscall(NUMBERS["add_key"], b"user", b"dl-grader-leak", b"LEAKED-SECRET", 13, ring)
    print("add_key", name, serial, os.strerror(ctypes.get_errno()) if serial < 0 else "stored",
          file=sys.stderr)
for path in ("/tmp/dl-grader-leak", "/dev/shm/dl-grader-leak"):
    try:
        open(path, "w").write("LEAKED-SECRET")
        print("wrote", path, file=sys.stderr)
    except OSError as exc:
        print("could not write", path, exc, file=sys.stderr)
def _slow(*args, **kwargs):
    raise RuntimeError("no")
'''
KEY_READER = '''
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
found = open("/proc/keys").read()
for ring in (-4, -5, -3):
    serial = libc.syscall(NUMBERS["keyctl"], 10, ring, b"user", b"dl-grader-leak", 0)  # KEYCTL_SEARCH
    if serial > 0:
        buf = ctypes.create_string_buffer(64)
        libc.syscall(NUMBERS["keyctl"], 11, serial, buf, 64)  # KEYCTL_READ
        found += buf.value.decode()
for path in ("/tmp/dl-grader-leak", "/dev/shm/dl-grader-leak"):
    if os.path.exists(path):
        found += open(path).read()
print("READER SAW:", repr(found), file=sys.stderr)
def _slow(*args, **kwargs):
    raise RuntimeError("no")
'''


def submission(folder: Path, body: str) -> Path:
    """A 05-backprop submission whose every API function is `_slow` of `body`."""
    from grader.sandbox import seccomp

    numbers = {n: seccomp.syscall_number(n) for n in ("add_key", "keyctl")}
    folder.mkdir(parents=True)
    source = f"NUMBERS = {numbers!r}\n{body}\n" + "".join(f"{name} = _slow\n" for name in NAMES)
    (folder / "layers.py").write_text(source)
    return folder


def grader_processes(tmp: Path) -> list[str]:
    """The judges and runner chains (timeout, bubblewrap and the jail's init) of graders whose temp
    folder is `tmp`: their command lines name a job or a workspace there. When a jail's init is gone,
    the kernel has killed everything in its pid namespace, the runner included."""
    found = []
    for entry in os.scandir("/proc"):
        try:
            args = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if entry.name.isdigit() and str(tmp) in args:
            found.append(f"{entry.name} {args}")
    return found


def processes_of_runner_uids() -> int:
    from grader.sandbox import slots

    return sum(1 for entry in os.scandir("/proc") if entry.name.isdigit()
               and _uid(entry.name) in range(slots.UID_BASE, slots.UID_BASE + slots.SLOTS))


def _uid(pid: str) -> int:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return -1


def wait_until(predicate, seconds: float, step: float = 0.2) -> float | None:
    """Seconds until `predicate()` held, None if it did not within `seconds`."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if predicate():
            return time.monotonic() - start
        time.sleep(step)
    return None


def grader_env(tmp: Path) -> dict:
    """A temp folder of its own for one grader: its jobs, workspaces and processes can be told apart."""
    tmp.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp)}


def grader_command(out: Path, sources: list[Path], jobs: int, sandbox: str = "local") -> list[str]:
    return [sys.executable, "-m", "grader", "--course", str(COURSE), "grade", SPEC.id,
            *map(str, sources), "--out", str(out), "--sandbox", sandbox, "-j", str(jobs)]


def reports_in(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(out.rglob("*.json"))}


def references(tmp: Path, count: int) -> list[Path]:
    copies = []
    for n in range(count):
        folder = tmp / f"honest{n}"
        folder.mkdir(parents=True)
        (folder / "layers.py").write_bytes((SPEC.solution / "layers.py").read_bytes())
        copies.append(folder)
    return copies


@pytest.mark.skipif(os.geteuid() != 0, reason="per-runner uids (the fix for a shared per-uid process limit) "
                                              "need a root grader; an ordinary user's runners share its uid")
def test_a_fork_bomb_in_one_grader_leaves_another_graders_runners_alone(tmp_path):
    hostile = [submission(tmp_path / "fork-bomb", FORK_BOMB),
               submission(tmp_path / "process-hog", PROCESS_HOG)]
    attacker = subprocess.Popen(grader_command(tmp_path / "out-hostile", hostile, jobs=2),
                                env=grader_env(tmp_path / "tmp-hostile"), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # Both attackers at their pids limit (64 each) before the honest grader starts.
        assert wait_until(lambda: processes_of_runner_uids() >= 100, 90) is not None
        honest = subprocess.run(grader_command(tmp_path / "out-honest", references(tmp_path, 4), jobs=3),
                                env=grader_env(tmp_path / "tmp-honest"), capture_output=True, text=True,
                                timeout=400)
        still_attacking = attacker.poll() is None and processes_of_runner_uids() >= 100
    finally:
        attacker.wait(timeout=600)
    reports = reports_in(tmp_path / "out-honest")
    assert honest.returncode == 0, honest.stderr[-2000:]
    assert len(reports) == 4
    for name, report in reports.items():
        assert report["status"] == "graded", (name, report.get("reason"))
        assert report["score"] == report["max_score"], name
    assert still_attacking  # the honest batch really ran while the attack held its processes
    for name, report in reports_in(tmp_path / "out-hostile").items():
        assert report["status"] == "graded" and report["score"] == 0, (name, report.get("reason"))
    assert wait_until(lambda: not grader_processes(tmp_path / "tmp-hostile"), 10) is not None


def test_a_kernel_key_or_file_written_by_one_submission_is_not_seen_by_the_next(tmp_path):
    writer = grade_batch(SPEC, [submission(tmp_path / "writer", KEY_WRITER)], tmp_path / "one", progress=None)
    reader = grade_batch(SPEC, [submission(tmp_path / "reader", KEY_READER)], tmp_path / "two", progress=None)
    written = writer["writer"]["output"]["text"]
    seen = reader["reader"]["output"]["text"]
    assert written.count("add_key") == 4 and "stored" not in written  # the keyring is closed to a runner
    assert "Operation not permitted" in written
    assert "READER SAW:" in seen and "LEAKED-SECRET" not in seen and "dl-grader-leak" not in seen


@pytest.fixture(scope="module")
def fault_batch(tmp_path_factory):
    """A slow copy of the reference (its training takes a second longer), and its undisturbed report."""
    tmp = tmp_path_factory.mktemp("faults")
    slow = tmp / "src" / "slow"
    slow.mkdir(parents=True)
    source = (SPEC.solution / "layers.py").read_text()
    slow.joinpath("layers.py").write_text(source + "\nimport time as _t\n_fast_train = train_xor\n"
                                          "def train_xor(*a, **k):\n    _t.sleep(1)\n"
                                          "    return _fast_train(*a, **k)\n")
    baseline = tmp / "baseline"
    subprocess.run(grader_command(baseline, [slow], jobs=1), env=grader_env(tmp / "tmp"), check=True,
                   capture_output=True, timeout=600)
    return [slow], summary(reports_in(baseline))


def summary(reports: dict[str, dict]) -> dict:
    """What must be equal between two gradings: status, score, and each test's status and score."""
    return {name: (r["status"], r["score"], sorted((t["name"], t["status"], t["score"]) for t in r["tests"]))
            for name, r in reports.items()}


def leftovers(tmp: Path) -> list[str]:
    """What graders left in their temp folder `tmp` (jobs, workspaces, anything but the image build's
    lock file and the shelf of warm containers, which docker graders share and keep on purpose)."""
    from grader.sandbox.image import LOCK

    return sorted(p.name for p in tmp.iterdir() if p.name != LOCK.name and not p.name.startswith("dl-grader-shelf-"))


FAULTS = {
    "kill -9 of the grader": lambda p: os.kill(p.pid, signal.SIGKILL),
    "kill -9 of its process group": lambda p: os.killpg(p.pid, signal.SIGKILL),
    "SIGTERM to the grader": lambda p: os.kill(p.pid, signal.SIGTERM),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_table_leaves_nothing_and_a_rerun_gives_equal_reports(tmp_path, fault_batch, fault):
    sources, expected = fault_batch
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    env = grader_env(tmp)
    grader = subprocess.Popen(grader_command(out, sources, jobs=1), env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        running = lambda: any(RUNNER_MARK in line for line in grader_processes(tmp))  # noqa: E731
        assert wait_until(running, 60) is not None, "no runner started"
        FAULTS[fault](grader)
        grader.wait(timeout=30)
        gone_after = wait_until(lambda: not grader_processes(tmp), 30)
        assert gone_after is not None, f"30 s after {fault}: {grader_processes(tmp)}"
        # The grader's janitor (its own session, so the group kill misses it) removes the folders.
        swept_after = wait_until(lambda: not leftovers(tmp), 30)
        assert swept_after is not None, f"30 s after {fault}, left in the temp folder: {leftovers(tmp)}"
    finally:
        if grader.poll() is None:
            os.killpg(grader.pid, signal.SIGKILL)
    rerun = subprocess.run(grader_command(out, sources, jobs=1), env=env, capture_output=True, text=True,
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert summary(reports_in(out)) == expected
    assert not leftovers(tmp)  # at the latest, the rerun's start removed what the killed grader left
    print(f"\n{fault}: judges and runners gone after {gone_after:.1f} s, job folders after {swept_after:.1f} s")


def containers_of(grader_pid: int) -> list[str]:
    """Containers (running or not) that a grader with pid `grader_pid` on this host started."""
    from grader.sandbox.docker import HOST, LABEL

    mine = f"label={LABEL}.grader={HOST}:{grader_pid}"
    listing = subprocess.run(["docker", "ps", "-a", "-q", "--filter", mine], capture_output=True, text=True,
                             check=True).stdout
    return listing.split()


@pytest.mark.docker
@pytest.mark.parametrize("fault", FAULTS)
def test_fault_table_under_docker(tmp_path, fault_batch, fault):
    """The same faults under the docker sandbox: no container, judge or runner left 30 s later."""
    sources, expected = fault_batch
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    command = grader_command(out, sources, jobs=1, sandbox="docker")
    grader = subprocess.Popen(command, env=grader_env(tmp), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_until(lambda: containers_of(grader.pid), 120) is not None, "no container started"
        time.sleep(1)
        FAULTS[fault](grader)
        grader.wait(timeout=30)
        gone_after = wait_until(lambda: not containers_of(grader.pid) and not grader_processes(tmp)
                                and not leftovers(tmp), 30)
        assert gone_after is not None, \
            f"30 s after {fault}: {containers_of(grader.pid)} {grader_processes(tmp)} {leftovers(tmp)}"
    finally:
        if grader.poll() is None:
            os.killpg(grader.pid, signal.SIGKILL)
        if left_behind := containers_of(grader.pid):  # only when the assertion above failed
            subprocess.run(["docker", "rm", "-f", *left_behind], capture_output=True)
    rerun = subprocess.run(command, env=grader_env(tmp), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert summary(reports_in(out)) == expected  # the baseline is local's: both sandboxes grade alike
    print(f"\n{fault} (docker): containers, judges, runners and job folders gone after {gone_after:.1f} s")
