"""Job folders: made with their owner's pid and start time, removed by the next grader once it died."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from grader import jobdirs


def _folder(tmp, name, record):
    folder = tmp / name
    folder.mkdir()
    (folder / "inner").mkdir()
    (folder / "inner" / "file").write_text("x")
    if record is not None:
        (folder / jobdirs.OWNER_FILE).write_text(json.dumps(record))
    return folder


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_job_folder_names_its_owner(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    folder = jobdirs.make_job_dir("grader-job-")
    record = json.loads((folder / jobdirs.OWNER_FILE).read_text())
    start = jobdirs.process_start(os.getpid())
    assert record == {"host": socket.gethostname(), "pid": os.getpid(), "start": start}
    assert record["start"]
    assert not jobdirs.is_stale(folder)


def test_folders_of_dead_owners_go_and_the_rest_stay(tmp_path):
    me = jobdirs.owner_record()
    dead = _folder(tmp_path, "grader-job-dead", {**me, "pid": _dead_pid()})
    reused = _folder(tmp_path, "grader-ws-reused", {**me, "start": "1"})  # our pid, another start time
    alive = _folder(tmp_path, "grader-ws-alive", me)
    elsewhere = _folder(tmp_path, "grader-git-elsewhere", {**me, "pid": _dead_pid(), "host": "not-here"})
    young = _folder(tmp_path, "grader-local-no-owner", None)
    old = _folder(tmp_path, "grader-local-old", None)
    os.utime(old, (time.time() - 2 * jobdirs.LEGACY_SECONDS,) * 2)
    other = _folder(tmp_path, "not-ours", {**me, "pid": _dead_pid()})
    removed = jobdirs.remove_stale(tmp_path)
    assert sorted(p.name for p in removed) == sorted([dead.name, reused.name, old.name])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [alive.name, elsewhere.name, young.name, other.name])


def test_a_killed_graders_folders_are_removed_by_the_next(tmp_path):
    """kill -9 of a process that made a job folder and a workspace: the next sweep removes both."""
    code = ("import sys, tempfile, time; tempfile.tempdir = sys.argv[1]; from grader import jobdirs; "
            "[jobdirs.make_job_dir(p) for p in ('grader-job-', 'grader-ws-')]; print('ready', flush=True); "
            "time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    assert jobdirs.remove_stale(tmp_path) == []  # its owner still runs
    proc.kill()
    proc.wait()
    assert len(jobdirs.remove_stale(tmp_path)) == 2
    assert list(tmp_path.iterdir()) == []


def test_removing_a_folder_never_changes_the_folder_that_holds_it(tmp_path):
    """A stale folder gone before its sweep (another grader swept it first), or one whose own removal
    fails: the temp folder around it keeps its mode (this once turned /tmp into 0700)."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    jobdirs._force_remove(shared / "grader-job-already-gone")
    locked = shared / "grader-job-locked"
    (locked / "inner").mkdir(parents=True)
    (locked / "inner" / "f").write_text("x")
    (locked / "inner").chmod(0o500)  # as a jailed runner may leave it
    jobdirs._force_remove(locked)
    assert not locked.exists()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


def test_an_owner_that_ended_but_is_not_reaped_yet_is_dead(tmp_path):
    """A grader whose shell has not reaped it yet (a zombie) holds nothing open: its folders are residue,
    and its janitor, woken by its end, removes them at once instead of a second later."""
    code = ("import sys, tempfile; tempfile.tempdir = sys.argv[1]; from grader import jobdirs; "
            "jobdirs.leave_sweeping_to_parent(); jobdirs.make_job_dir('grader-job-')")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)])
    try:
        deadline = time.monotonic() + 30
        while Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child never ended"
            time.sleep(0.05)
        assert len(jobdirs.remove_stale(tmp_path)) == 1
    finally:
        proc.wait()
