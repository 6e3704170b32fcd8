"""The judge starts the first runner while pytest collects (RunnerSession.prestart)."""

import os
import threading
import time

import pytest

from grader.errors import InfrastructureError
from grader.judge.proxy import RunnerSession
from grader.judge.verdicts import NotRun
from grader.sandbox import RunnerConfig, local, make_backend
from grader.spec import Limits

API = {"m.py": ["double"]}


def session_for(tmp_path, source: str) -> RunnerSession:
    (tmp_path / "m.py").write_text(source)
    tmp_path.chmod(0o755)
    (tmp_path / "m.py").chmod(0o644)
    backend = make_backend("local", RunnerConfig(tmp_path, API, 1), Limits(), isolate=True)
    return RunnerSession(backend, Limits(), API, seed=1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1][0] != "Z"


def test_a_prestarted_runner_outlives_its_thread_and_serves_the_first_test(tmp_path):
    session = session_for(tmp_path, "def double(x):\n    return 2 * x\n")
    session.prestart()
    assert session._early_done.wait(timeout=30)
    time.sleep(0.3)  # a runner tied to a thread that ended would be dead by now (PR_SET_PDEATHSIG)
    try:
        session.begin_test("t", None)
        assert session.call_function("double", (21,), {}) == 42
        assert session.restarts == 1
    finally:
        session.close()
        session.backend.close()


def test_closing_before_any_test_stops_the_prestarted_runner_and_its_thread(tmp_path):
    session = session_for(tmp_path, "def double(x):\n    return 2 * x\n")
    session.prestart()
    thread = session._early
    assert session._early_done.wait(timeout=30)
    pid = session.process.proc.pid  # timeout, the outermost process of the jail
    session.close()
    session.backend.close()
    assert not thread.is_alive()
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


def test_a_submission_that_cannot_import_fails_the_first_test_as_a_cold_start_does(tmp_path):
    messages = []
    for early in (True, False):
        session = session_for(tmp_path, "raise ValueError('broken on purpose')\n")
        if early:
            session.prestart()
        with pytest.raises(NotRun) as caught:
            session.begin_test("t", None)
        assert session.verdict is caught.value
        with pytest.raises(NotRun):  # and every later test too
            session.begin_test("u", None)
        messages.append(caught.value.message)
        session.close()
        session.backend.close()
    assert "broken on purpose" in messages[0] and messages[0] == messages[1]


def test_a_sandbox_fault_while_prestarting_is_the_first_tests_infra_error(tmp_path, monkeypatch):
    monkeypatch.setattr(local, "BOOTSTRAP", "import sys; sys.exit(3)")  # dies before its first frame
    session = session_for(tmp_path, "def double(x):\n    return 2 * x\n")
    session.prestart()
    assert threading.current_thread() is threading.main_thread()
    with pytest.raises(InfrastructureError, match="could not start a runner"):
        session.begin_test("t", None)
    session.close()
    session.backend.close()


def test_a_sandbox_that_cannot_be_made_is_the_first_tests_infra_error_or_else_the_sessions(tmp_path):
    def broken():
        raise OSError("no engine socket here")

    met = RunnerSession(None, Limits(), API, seed=1)
    met.prestart(broken)
    with pytest.raises(InfrastructureError, match="could not be prepared: OSError: no engine socket here"):
        met.begin_test("t", None)
    with pytest.raises(InfrastructureError, match="could not be prepared"):  # never an AssertionError
        met.begin_test("u", None)
    met.close()
    assert met.unmet_fault is None  # the test met it and reported it

    unmet = RunnerSession(None, Limits(), API, seed=1)
    unmet.prestart(broken)
    unmet.close()  # no test asked for the submission
    assert "no engine socket here" in unmet.unmet_fault


def test_the_backend_made_in_the_thread_is_the_sessions(tmp_path):
    (tmp_path / "m.py").write_text("def double(x):\n    return 2 * x\n")
    tmp_path.chmod(0o755)
    (tmp_path / "m.py").chmod(0o644)
    session = RunnerSession(None, Limits(), API, seed=1)
    session.prestart(lambda: make_backend("local", RunnerConfig(tmp_path, API, 1), Limits(), isolate=True))
    try:
        session.begin_test("t", None)
        assert session.call_function("double", (4,), {}) == 8
        assert session.backend is not None and session.restarts == 1
    finally:
        session.close()
        session.backend.close()


def test_closing_leaves_a_prestart_that_never_ends_after_its_patience(tmp_path):
    """A Ctrl-C that cut one of the judge's imports in half can leave a module lock taken for good, and
    the thread making the sandbox (importing the docker SDK) never ends: the interrupted judge waited
    for it forever (tests/docker/test_grading.py's Ctrl-C test hung in CI)."""
    never = threading.Event()
    session = RunnerSession(None, Limits(), API, seed=1)
    session.prestart(never.wait)
    closing = threading.Thread(target=session.close, kwargs={"patience": 0.2}, daemon=True)
    closing.start()
    closing.join(timeout=10)
    try:
        assert not closing.is_alive(), "close() waited past its patience"
    finally:
        never.set()
        session._release.set()
