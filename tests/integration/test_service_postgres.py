"""The service's queue on PostgreSQL, as `[service] database = "postgresql://..."` configures it:
the same rules as on SQLite (a delivery id or a repository + commit + assignment is one job, claims
hand each job to one worker, a worker SIGKILLed while a job is `running` leaves it to be requeued and
graded again, refusals and outbox states) checked against both, the PostgreSQL one a throwaway cluster
that `initdb` makes in a temporary folder and `postgres` serves on a unix socket only.

PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` user (Debian's package
makes it), else as `nobody`. Missing binaries or driver are a failure that says what to install.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from grader.service.store import Store, make_engine

SLUG = "02-linear-regression"
START_SECONDS = 60


def pg_binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)),
                                       None)
    if found is None:
        pytest.fail(f"PostgreSQL's `{name}` is not installed: install Debian's `postgresql` package "
                    "(make install does, as root) to test the service's queue on PostgreSQL", pytrace=False)
    return found


def cluster_user() -> str | None:
    """Who runs the cluster: None (ourselves) unless we are root, whom initdb and postgres refuse."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name).pw_name
        except KeyError:
            continue
    pytest.fail("running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as")


@pytest.fixture(scope="module")
def postgres_url():
    if importlib.util.find_spec("psycopg") is None:
        pytest.fail("the PostgreSQL driver is missing: pip install -e '.[test]' (psycopg[binary])", pytrace=False)
    initdb, postgres = pg_binary("initdb"), pg_binary("postgres")
    user = cluster_user()
    root = Path(tempfile.mkdtemp(prefix="grader-pg-", dir=shared_parent(user)))
    try:
        yield from serve_cluster(root, user, initdb, postgres)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def shared_parent(user: str | None) -> str | None:
    """A folder the cluster's user can enter (pytest's tmp is closed to others, and so can /tmp be)."""
    if user is None:
        return None
    for folder in (tempfile.gettempdir(), "/dev/shm", "/var/tmp"):
        if os.path.isdir(folder) and os.stat(folder).st_mode & stat.S_IXOTH:
            return folder
    pytest.fail(f"no folder that {user} may enter among {tempfile.gettempdir()}, /dev/shm, /var/tmp "
                "to hold the PostgreSQL cluster", pytrace=False)


def serve_cluster(root: Path, user: str | None, initdb: str, postgres: str) -> Iterator[str]:
    """initdb a cluster in `root` and serve it on a unix socket there until the generator is closed."""
    if user:
        shutil.chown(root, user)
    data, port = root / "data", 5432 + os.getpid() % 1000      # the port only names the socket file
    as_user = {"user": user} if user else {}
    made = subprocess.run([initdb, "-D", str(data), "-U", "grader", "--auth=trust", "--no-sync", "-E", "UTF8"],
                          capture_output=True, text=True, cwd=root, **as_user)
    if made.returncode:
        pytest.fail(f"initdb failed ({made.returncode}) in {root} as {user or 'this user'}: {made.stderr[-1500:]}")
    with (root / "postgres.log").open("wb") as log:
        server = subprocess.Popen([postgres, "-D", str(data), "-k", str(root), "-p", str(port), "-c",
                                   "listen_addresses=", "-c", "fsync=off"], stdout=log, stderr=subprocess.STDOUT,
                                  cwd=root, **as_user)
        try:
            url = f"postgresql://grader@/postgres?host={root}&port={port}"   # as README's course.toml writes it
            wait_ready(url, server, root / "postgres.log")
            yield url
        finally:
            server.send_signal(signal.SIGINT)      # fast shutdown
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=30)


def wait_ready(url: str, server: subprocess.Popen, log: Path) -> None:
    from sqlalchemy import text

    engine = make_engine(url)
    deadline = time.monotonic() + START_SECONDS
    try:
        while True:
            if server.poll() is not None:
                pytest.fail(f"postgres exited with {server.returncode}: {log.read_text()[-2000:]}")
            try:
                with engine.connect() as db:
                    db.execute(text("select 1"))
                return
            except Exception:
                if time.monotonic() > deadline:
                    pytest.fail(f"postgres did not take connections within {START_SECONDS} s: "
                                f"{log.read_text()[-2000:]}")
                time.sleep(0.2)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.db'}"
    url = request.getfixturevalue("postgres_url")
    store = Store(url)          # a fresh queue for each test: empty the tables the last one filled
    with store.engine.begin() as db:
        db.exec_driver_sql("TRUNCATE jobs, deliveries RESTART IDENTITY")
    store.close()
    return url


def push(store: Store, commit: str, *, delivery: str | None = None, repository: str = "course/alice",
         assignment: str = SLUG) -> tuple[bool, int | None]:
    return store.enqueue(delivery=delivery, student="alice", repository=repository, assignment=assignment,
                         commit=commit, branch="main", pusher="alice", late_seconds=0.0)


@pytest.mark.slow
def test_a_job_is_one_per_delivery_and_per_commit_and_assignment(url):
    store = Store(url)
    try:
        new, first = push(store, "a" * 40, delivery="d1")
        assert new and first is not None
        assert push(store, "b" * 40, delivery="d1") == (False, first)               # the same delivery id
        assert push(store, "a" * 40, delivery="d2", repository="Course/Alice") == (False, first)  # same commit
        new, other_step = push(store, "a" * 40, delivery="d3", assignment="05-backprop")
        new_too, later = push(store, "c" * 40)
        assert new and new_too and first < other_step < later    # (PostgreSQL skips the ids of refused rows)
        assert store.counts() == {"queued": 3, "running": 0, "done": 0}
        assert [j["id"] for j in store.jobs()] == [first, other_step, later]
    finally:
        store.close()


@pytest.mark.slow
def test_concurrent_claims_hand_each_job_to_one_worker(url):
    store = Store(url)
    try:
        jobs = [push(store, f"{n:040x}")[1] for n in range(40)]
        claimed: list[int] = []
        lock = threading.Lock()

        def work() -> None:
            while (job := store.claim()) is not None:
                with lock:
                    claimed.append(job["id"])
                store.finish(job["id"], report={"status": "graded", "score": 1.0, "max_score": 2.0},
                             error=None, post_status=True)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert sorted(claimed) == jobs                       # each once, none lost
        assert store.counts() == {"queued": 0, "running": 0, "done": 40}
        assert all(j["attempts"] == 1 and j["score"] == 1.0 for j in store.jobs())
        assert len(store.due_statuses(time.time())) == 40
    finally:
        store.close()


CLAIMER = """
import sys, time
from grader.service.store import Store, make_engine
store = Store(sys.argv[1])
job = store.claim()
print(job["id"], flush=True)
time.sleep(120)
"""


@pytest.mark.slow
def test_a_job_a_killed_service_left_running_is_requeued_and_finished_once(url):
    store = Store(url)
    try:
        first, second = push(store, "a" * 40)[1], push(store, "b" * 40)[1]
        claimer = subprocess.Popen([sys.executable, "-c", CLAIMER, url], stdout=subprocess.PIPE, text=True,
                                   cwd=Path(__file__).resolve().parents[2])
        try:
            assert int(claimer.stdout.readline()) == first
        finally:
            claimer.send_signal(signal.SIGKILL)      # the service dies mid-grading
            claimer.wait(timeout=30)
        assert store.counts() == {"queued": 1, "running": 1, "done": 0}
        restarted = Store(url)                         # the next start, as Worker.start does
        try:
            assert restarted.requeue_running() == 1
            again = [restarted.claim(), restarted.claim(), restarted.claim()]
            assert [(j["id"], j["attempts"]) for j in again[:2]] == [(first, 2), (second, 1)] and again[2] is None
            for job in again[:2]:
                restarted.finish(job["id"], report=None, error="not found", post_status=False)
            restarted.finish(first, report=None, error="twice", post_status=False)   # not running: no change
            assert restarted.job(first)["error"] == "not found"
            assert restarted.counts() == {"queued": 0, "running": 0, "done": 2}
        finally:
            restarted.close()
    finally:
        store.close()


@pytest.mark.slow
def test_the_status_outbox_states(url):
    store = Store(url)
    try:
        jobs = [push(store, f"{n:040x}")[1] for n in range(3)]
        for job in jobs:
            store.claim()
            store.finish(job, report={"status": "graded", "score": 3.0, "max_score": 4.0}, error=None,
                         post_status=True)
        store.status_sent(jobs[0])
        store.status_failed(jobs[1], "URLError: refused", time.time() + 3600)
        store.status_refused(jobs[2], "HTTP 401 Unauthorized: bad credentials")
        rows = {j["id"]: j for j in store.jobs()}
        assert [(rows[j]["status_state"], rows[j]["status_attempts"]) for j in jobs] == \
            [("sent", 1), ("pending", 1), ("failed", 1)]
        assert store.due_statuses(time.time()) == []           # one waits for its retry, one never again
        assert [j["id"] for j in store.due_statuses(time.time() + 7200)] == [jobs[1]]
        assert rows[jobs[2]]["status_error"].startswith("HTTP 401")
        assert store.retry_refused_statuses() == 1                 # a new start tries the refused one again
        assert [j["id"] for j in store.due_statuses(time.time())] == [jobs[2]]
    finally:
        store.close()
