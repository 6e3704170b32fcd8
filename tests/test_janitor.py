"""The janitor: after its grader ends it asks the engine for containers only where the grader said it may
own some, and it waits for the grader's own judges only, never for another grader's folders."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from grader import janitor, jobdirs


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _folder(tmp, name: str, record: dict):
    folder = tmp / name
    folder.mkdir()
    (folder / jobdirs.OWNER_FILE).write_text(json.dumps(record))
    return folder


def _imports_of_a_janitor(tmp_path, notes: bytes) -> str:
    """What `python -m grader.janitor` imports (-X importtime) for a dead grader that wrote `notes`."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "grader.janitor", str(_dead_pid())],
                          input=notes, capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stderr.decode()


def _imported(report: str, module: str) -> bool:
    return any(line.rsplit("|", 1)[-1].strip() == module for line in report.splitlines())


def test_a_janitor_asks_the_engine_only_when_its_grader_said_it_may_own_containers(tmp_path):
    assert not _imported(_imports_of_a_janitor(tmp_path, b""), "docker")
    assert _imported(_imports_of_a_janitor(tmp_path, jobdirs.CONTAINERS_NOTE), "docker")


def test_the_note_reaches_the_janitor_once_and_never_from_a_judge(monkeypatch):
    pipe = io.BytesIO()
    fake = type("Janitor", (), {"stdin": pipe})()
    monkeypatch.setattr(jobdirs, "_janitor", fake)
    monkeypatch.setattr(jobdirs, "_janitor_started", True)
    monkeypatch.setattr(jobdirs, "_expects_containers", False)
    monkeypatch.setattr(jobdirs, "_SWEPT_BY_PARENT", True)
    jobdirs.expect_containers()
    assert pipe.getvalue() == b""  # a judge: its grader tells its own janitor
    monkeypatch.setattr(jobdirs, "_SWEPT_BY_PARENT", False)
    jobdirs.expect_containers()
    jobdirs.expect_containers()
    assert pipe.getvalue() == jobdirs.CONTAINERS_NOTE


def test_a_judge_s_folder_names_the_grader_that_started_it(tmp_path):
    code = ("import sys, tempfile; tempfile.tempdir = sys.argv[1]; from grader import jobdirs; "
            "jobdirs.leave_sweeping_to_parent(); print(jobdirs.make_job_dir('grader-local-'))")
    folder = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                            check=True).stdout.strip()
    record = json.loads((tmp_path / os.path.basename(folder) / jobdirs.OWNER_FILE).read_text())
    assert record["grader"] == os.getpid()
    assert jobdirs.made_for(record, os.getpid()) and not jobdirs.made_for(record, _dead_pid())


def test_another_grader_s_live_folder_does_not_keep_a_janitor_waiting(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    grader = _dead_pid()
    left = _folder(tmp_path, "grader-job-left", {**jobdirs.owner_record(), "pid": grader})
    others = _folder(tmp_path, "grader-job-others", jobdirs.owner_record())  # this process: alive
    started = time.monotonic()
    janitor.clean_up_after(grader, containers=False)
    assert time.monotonic() - started < janitor.SETTLE_SECONDS / 3
    assert not left.exists() and others.exists()


def test_a_janitor_waits_until_its_grader_s_judges_are_gone(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    grader = _dead_pid()
    judge = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        folder = _folder(tmp_path, "grader-local-judge", {**jobdirs.owner_record(judge.pid), "grader": grader})
        cleaning = threading.Thread(target=janitor.clean_up_after, args=(grader,), kwargs={"containers": False})
        cleaning.start()
        cleaning.join(timeout=2.5)
        assert cleaning.is_alive() and folder.exists()  # its judge still runs: it waits
    finally:
        judge.kill()
        judge.wait()
    cleaning.join(timeout=10)
    assert not cleaning.is_alive()
    assert not folder.exists()


HERE = jobdirs.owner_record()["host"]


@pytest.mark.parametrize("record, made", [
    ({"host": HERE, "pid": 7}, True), ({"host": HERE, "pid": 1, "grader": 7}, True),
    ({"host": HERE, "pid": 1}, False), ({"host": "elsewhere", "grader": 7}, False)])
def test_a_folder_is_a_grader_s_when_it_or_its_judge_made_it_on_this_host(record, made):
    assert jobdirs.made_for(record, 7) is made
