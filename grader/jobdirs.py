"""The temporary folders a grader makes (jobs, workspaces, clones): made with their owner's name on
them, and removed by the next grader once that owner is dead.

Each folder holds OWNER_FILE: the host, the pid and the pid's start time (so a reused pid is not
mistaken for the owner), and in a judge's folders the grader that started the judge (its janitor waits
for those folders' owners to die, and for no one else's). `remove_stale` deletes `grader-*` folders in
the temp folder whose owner on this host is gone, as the Docker backend does for containers: residue
of a killed grader (kill -9, a lost machine) is cleaned up by the next grader that starts. It never removes a folder whose owner is
alive, one made on another host (a shared temp folder), or one without an owner file that is younger
than LEGACY_SECONDS (it may be being created right now).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

OWNER_FILE = ".grader-owner.json"
PREFIX = "grader-"
# A folder without an owner file (from an older grader, or one mid-creation) is left this long.
LEGACY_SECONDS = 24 * 3600


def process_start(pid: int) -> str | None:
    """The start time of `pid` in clock ticks since boot (Linux), None if there is no such process, or
    only its exit status (a zombie: a grader that has ended but that its shell has not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None if not pid_exists(pid) else ""
    fields = stat.rsplit(")", 1)[-1].split()  # from field 3 on; the name before ')' may hold spaces
    return None if fields[0] == "Z" else fields[19]


def pid_exists(pid: int) -> bool:
    """Whether a process `pid` exists on this host (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_record(pid: int | None = None) -> dict:
    """Who owns a folder: `pid` (this process by default), and, for this process's folders where it is a
    judge, the grader that started it."""
    record = {"host": socket.gethostname(), "pid": os.getpid() if pid is None else pid}
    record["start"] = process_start(record["pid"])
    if _SWEPT_BY_PARENT and pid is None:
        record["grader"] = os.getppid()
    return record


def owned_folders(prefix: str = PREFIX) -> Iterator[tuple[Path, dict]]:
    """Each `prefix`* folder in the temp folder with its owner record, where it has a readable one."""
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            record = json.loads((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict):
            yield folder, record


def made_for(record: dict, grader_pid: int) -> bool:
    """Whether a folder with owner `record` was made on this host by grader `grader_pid` or a judge it started."""
    return record.get("host") == socket.gethostname() and grader_pid in (record.get("pid"), record.get("grader"))


def make_job_dir(prefix: str) -> Path:
    """A new folder `<tmp>/<prefix>XXXX` that carries this process as its owner.

    The first one a process makes first sweeps away the folders of dead owners, so every way into
    grading (grader.pipeline.grade, a cluster's client or worker, `grader check`) cleans up after killed graders."""
    if not prefix.startswith(PREFIX):
        raise ValueError(f"job folders are named {PREFIX}*, not {prefix}*")
    sweep_once()
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    (folder / OWNER_FILE).write_text(json.dumps(owner_record()))
    return folder


def owner_alive(record: dict) -> bool:
    """Whether the process named by `record` still runs (a different start time means a reused pid)."""
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    start = process_start(pid)
    if start is None:
        return False
    return not (start and record.get("start") and start != record["start"])


def is_stale(folder: Path, *, now: float | None = None) -> bool:
    try:
        record = json.loads((folder / OWNER_FILE).read_text())
    except FileNotFoundError:
        try:
            age = (now or time.time()) - folder.stat().st_mtime
        except OSError:
            return False
        return age > LEGACY_SECONDS
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or record.get("host") != socket.gethostname():
        return False
    return not owner_alive(record)


def remove_stale(tmp: Path | None = None) -> list[Path]:
    """Remove the grader folders in `tmp` (the temp folder) whose owner died; the folders removed."""
    tmp = Path(tmp or tempfile.gettempdir())
    removed = []
    try:
        candidates = [p for p in tmp.iterdir() if p.name.startswith(PREFIX)]
    except OSError:
        return removed
    for folder in candidates:
        if folder.is_dir() and not folder.is_symlink() and is_stale(folder):
            _force_remove(folder)
            removed.append(folder)
    return removed


def _force_remove(folder: Path) -> None:
    """rmtree that also gets through folders a jailed runner left read-only. It unlocks folders inside
    `folder` only: a failure on `folder` itself (gone already, as another grader swept it first) once
    made this chmod the temp folder, /tmp, to 0700."""
    base = os.fspath(folder)

    def unlock(func, path, exc) -> None:  # noqa: ANN001 (shutil's onerror signature)
        parent = os.path.dirname(path)
        if isinstance(exc[1], FileNotFoundError) or not (parent == base or parent.startswith(base + os.sep)):
            return
        try:
            os.chmod(parent, 0o700)
            func(path)
        except OSError:
            pass

    shutil.rmtree(folder, onerror=unlock)


# Set in a judge (grader.judge.session): its grader swept the temp folder before starting it, the grader's
# janitor cleans up after both if the grader dies, and the grader sweeps after a judge that did not end
# cleanly (grader.judge.launch). A janitor of the judge's own was one more Python process per docker
# judge, started beside its first runner, and a docker listing when it ended.
_SWEPT_BY_PARENT = False


def leave_sweeping_to_parent() -> None:
    """This process (a judge) neither sweeps nor starts a janitor: its grader does both for it."""
    global _SWEPT_BY_PARENT
    _SWEPT_BY_PARENT = True


# What a grader writes to its janitor's pipe once containers may carry its pid (see expect_containers).
CONTAINERS_NOTE = b"containers\n"
_janitor: subprocess.Popen | None = None
_janitor_started = False
_expects_containers = False
_janitor_lock = threading.Lock()


def ensure_janitor() -> subprocess.Popen | None:
    """Start this process's janitor (grader/janitor.py) once; it lives until this process ends (the pipe stays open)."""
    global _janitor, _janitor_started
    with _janitor_lock:
        if not _janitor_started:
            _janitor_started = True
            try:
                _janitor = subprocess.Popen([sys.executable, "-m", "grader.janitor", str(os.getpid())],
                                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, start_new_session=True)
            except OSError:  # no janitor: the next grader's sweep still removes what a killed one left
                return None
            if _expects_containers:
                _note_containers(_janitor)
        return _janitor


def expect_containers() -> None:
    """This grader may own containers from now on (it talks to the engine, or hands a job to a docker
    judge): its janitor is to look for them once it ends. A janitor never told so leaves the engine
    alone, as a grader of the local sandbox made none, and importing the docker SDK to list nothing cost
    about 0.2 CPU-seconds after every command. In a judge, nothing: the grader that started it said so."""
    global _expects_containers
    with _janitor_lock:
        if _expects_containers or _SWEPT_BY_PARENT:
            return
        _expects_containers = True
        if _janitor is not None:
            _note_containers(_janitor)


def _note_containers(janitor: subprocess.Popen) -> None:
    try:
        janitor.stdin.write(CONTAINERS_NOTE)
        janitor.stdin.flush()
    except (OSError, ValueError):  # it died: the next backend's sweep removes what is left
        pass


@functools.cache
def sweep_once() -> int:
    """remove_stale once per process (the first grade of a batch, or a one-off `grader grade`), and
    start the janitor that removes this process's own leftovers if it is killed."""
    if _SWEPT_BY_PARENT:
        return 0
    ensure_janitor()
    return len(remove_stale())
