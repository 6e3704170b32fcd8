"""A host identity of its own for each local runner: a uid from a reserved range, and a cgroup.

Like isolate's boxes: a runner started by a root grader runs as `UID_BASE + n`, where slot n is held
with an flock on `/run/dl-grader-slots/n` for the runner's whole life, so no two runners on the machine
(in this grader or in another) ever share a uid, and a slot whose holder died is free again. The
per-uid process limit, the kernel's per-uid keyrings and "kill everything of uid U" then concern one
runner only. Where the machine offers a writable cgroup hierarchy (v1 `pids` and `memory`, or v2 with
those controllers delegated), the runner also gets `dl-grader-<uid>` under the grader's own cgroup:
pids.max = limits.pids, and a memory cap on all its processes together.

`kill_uid` makes sure nothing of a slot runs: before a slot is used (residue of a grader killed with
-9) and after its runner ended. It never touches a uid outside the reserved range.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

UID_BASE = int(os.environ.get("GRADER_UID_BASE", 0x7FFF0000))  # 2147418112: far from real users
SLOTS = 4096
LOCK_DIR = Path("/run/dl-grader-slots")
CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("pids", "memory")
KILL_WAIT_SECONDS = 5.0


@dataclass
class Slot:
    """One reserved uid, held until `release`."""

    uid: int
    lock_fd: int

    def release(self) -> None:
        kill_uid(self.uid)
        if self.lock_fd >= 0:
            os.close(self.lock_fd)  # closing drops the flock
            self.lock_fd = -1


def acquire_slot() -> Slot:
    """The first free slot, cleared of anything an earlier holder left running."""
    LOCK_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    for n in range(SLOTS):
        fd = os.open(LOCK_DIR / str(n), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        slot = Slot(UID_BASE + n, fd)
        kill_uid(slot.uid)
        return slot
    raise OSError(f"all {SLOTS} runner uids ({UID_BASE}..{UID_BASE + SLOTS - 1}) are in use "
                  f"(locks in {LOCK_DIR})")


def processes_of(uid: int) -> list[int]:
    """Pids (in this pid namespace) whose real uid is `uid`."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"Uid:"):
                        if int(line.split()[1]) == uid:
                            found.append(int(entry.name))
                        break
        except (OSError, ValueError, IndexError):
            continue
    return found


def kill_uid(uid: int, *, wait: float = KILL_WAIT_SECONDS) -> bool:
    """SIGKILL every process of a reserved `uid` until none is left; False if some outlived `wait`."""
    if not UID_BASE <= uid < UID_BASE + SLOTS:
        raise ValueError(f"uid {uid} is not a runner uid ({UID_BASE}..{UID_BASE + SLOTS - 1})")
    deadline = time.monotonic() + wait
    while pids := processes_of(uid):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class Cgroup:
    """The runner's cgroup (one folder per controller for v1, one folder for v2)."""

    def __init__(self, folders: list[Path], version: int) -> None:
        self.folders, self.version = folders, version

    @property
    def procs_files(self) -> list[str]:
        return [str(f / "cgroup.procs") for f in self.folders]

    def memory_exceeded(self) -> bool:
        """Whether the kernel's OOM killer acted in this cgroup (its processes together hit the cap)."""
        for folder in self.folders:
            for name in ("memory.oom_control", "memory.events"):  # v1, v2: both count "oom_kill N"
                try:
                    lines = (folder / name).read_text().splitlines()
                except OSError:
                    continue
                fields = dict(line.split(None, 1) for line in lines if " " in line)
                if int(fields.get("oom_kill", "0")) > 0:
                    return True
        return False

    def remove(self) -> None:
        """Kill what is still inside, then remove the folders (a cgroup with processes cannot go)."""
        for folder in self.folders:
            _empty_and_remove(folder)


def _own_paths() -> dict[str, str]:
    """controller -> this process's cgroup path ("" key for v2), from /proc/self/cgroup."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def make_cgroup(uid: int, *, pids: int, memory_bytes: int) -> Cgroup | None:
    """A fresh cgroup for slot `uid` with these caps, or None where the machine offers none to us."""
    try:
        own = _own_paths()
        if (CGROUP_ROOT / "cgroup.controllers").exists():
            folders, version = [CGROUP_ROOT / own.get("", "/").lstrip("/") / f"dl-grader-{uid}"], 2
            enabled = (folders[0].parent / "cgroup.subtree_control").read_text().split()
            if not set(CONTROLLERS) <= set(enabled):
                return None
        else:
            folders, version = [], 1
            for controller in CONTROLLERS:
                base = CGROUP_ROOT / controller
                if controller not in own or not (base / "cgroup.procs").exists():
                    return None
                folders.append(base / own[controller].lstrip("/") / f"dl-grader-{uid}")
        for folder in folders:
            _empty_and_remove(folder)  # residue of a killed grader that held this slot
            folder.mkdir()
        _set_caps(folders, version, pids, memory_bytes)
        return Cgroup(folders, version)
    except (OSError, ValueError):
        return None


def _set_caps(folders: list[Path], version: int, pids: int, memory_bytes: int) -> None:
    if version == 2:
        (folders[0] / "pids.max").write_text(str(pids))
        (folders[0] / "memory.max").write_text(str(memory_bytes))
        swap = folders[0] / "memory.swap.max"
        if swap.exists():
            swap.write_text("0")
        return
    pid_folder, memory_folder = folders
    (pid_folder / "pids.max").write_text(str(pids))
    (memory_folder / "memory.limit_in_bytes").write_text(str(memory_bytes))
    memsw = memory_folder / "memory.memsw.limit_in_bytes"
    if memsw.exists():
        try:
            memsw.write_text(str(memory_bytes))
        except OSError:
            pass  # swap accounting off: the memory cap alone


def _empty_and_remove(folder: Path) -> None:
    if not folder.is_dir():
        return
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while True:
        try:
            pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
        except OSError:
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            folder.rmdir()
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
