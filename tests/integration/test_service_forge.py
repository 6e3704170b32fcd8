"""The commit-status outbox against a real HTTP endpoint on loopback that answers as a forge can: a
refusal (401 bad token, 404 unknown repository, 422, a redirect) is recorded and not retried until the
service starts again; a 5xx, a 429 (with Retry-After) or a closed port is retried with capped backoff
until delivered. Fast: no service process and no grading, the poster's rounds are driven by the test.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from grader.service.app import create_app
from grader.service.config import ServiceConfig, load_config
from grader.service.forge import StatusPoster
from grader.service.store import Store
from tests.conftest import COURSE

SLUG = "02-linear-regression"
SECRET = "webhook-secret-for-the-tests-0123456789"
TOKEN = "instructor-token-for-the-tests-abcdef"
REPORT = {"status": "graded", "score": 30.0, "max_score": 38.0}

# repository -> the answers the forge gives to its status posts, in order (the last one repeats)
SCRIPT: dict[str, list[tuple[int, dict, bytes]]] = {
    "course/token": [(401, {}, b'{"message": "Bad credentials"}')],
    "course/gone": [(404, {}, b'{"message": "Not Found"}')],
    "course/invalid": [(422, {}, b'{"message": "Validation Failed"}')],
    "course/moved": [(307, {"Location": "http://127.0.0.1:9/elsewhere"}, b"")],
    "course/flaky": [(503, {}, b"upstream down"), (502, {}, b""), (201, {}, b"{}")],
    "course/limited": [(429, {"Retry-After": "1"}, b'{"message": "secondary rate limit"}'), (201, {}, b"{}")],
    "course/fine": [(201, {}, b"{}")],
}
REFUSED = {"course/token": "HTTP 401", "course/gone": "HTTP 404", "course/invalid": "HTTP 422",
           "course/moved": "HTTP 307"}


class ScriptedForge:
    """`POST /repos/{owner}/{repo}/statuses/{sha}` on 127.0.0.1, answering each repository per SCRIPT."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []    # (repository, when)
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                repo = "/".join(self.path.split("/")[2:4])
                calls.append((repo, time.monotonic()))
                answers = SCRIPT[repo]
                code, headers, body = answers[min(len(answers), sum(r == repo for r, _ in calls)) - 1]
                self.send_response(code)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, repo: str) -> int:
        return sum(r == repo for r, _ in self.calls)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def course_config(tmp: Path, forge_api: str) -> ServiceConfig:
    repos = sorted(SCRIPT) + ["course/offline"]
    (tmp / "roster.csv").write_text("student,name,repository\n" + "".join(
        f"{r.split('/')[1]},{r},{r}\n" for r in repos))
    (tmp / "course.toml").write_text(f'[service]\nclone_url = "file:///srv/git/{{repo}}.git"\n'
                                     f'roster = "roster.csv"\n[assignments.{SLUG}]\nbranch = "main"\n')
    config = load_config(tmp / "course.toml", course=COURSE, environ={
        "GRADER_WEBHOOK_SECRET": SECRET, "GRADER_INSTRUCTOR_TOKEN": TOKEN})
    return dataclasses.replace(config, forge_api=forge_api, forge_token="tok", public_url="http://grader.test",
                               status_retry_seconds=0.05, status_retry_max_seconds=2.0)


def graded_job(store: Store, repository: str) -> int:
    """A finished job of `repository` whose status is now due."""
    _, job = store.enqueue(delivery=None, student=repository.split("/")[1], repository=repository,
                           assignment=SLUG, commit="ab" * 20, branch="main", pusher="s", late_seconds=0.0)
    assert store.claim()["id"] == job
    store.finish(job, report=REPORT, error=None, post_status=True)
    return job


def drain(poster: StatusPoster, store: Store, seconds: float) -> None:
    """Poster rounds until no status is pending or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(j["status_state"] == "pending" for j in store.jobs()):
        poster.post_due()
        time.sleep(0.05)


@pytest.fixture
def forge():
    server = ScriptedForge()
    yield server
    server.close()


def test_a_refused_status_stops_and_says_why_and_a_failing_forge_is_retried(tmp_path, forge, caplog):
    config = course_config(tmp_path, f"http://127.0.0.1:{forge.port}")
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    jobs = {repo: graded_job(store, repo) for repo in SCRIPT}
    poster = StatusPoster(config, store)
    with caplog.at_level(logging.INFO, logger="grader.service"):
        drain(poster, store, seconds=15)
        for _ in range(5):     # more rounds, past every backoff: a refusal is not tried again
            poster.post_due()
            time.sleep(0.1)
    rows = {j["repository"]: j for j in store.jobs()}
    for repo, code in REFUSED.items():
        assert forge.count(repo) == 1, f"{repo}: posted {forge.count(repo)} times after a {code}"
        assert rows[repo]["status_state"] == "failed" and rows[repo]["status_error"].startswith(code)
    assert "Bad credentials" in rows["course/token"]["status_error"]
    assert "redirected to http://127.0.0.1:9/elsewhere" in rows["course/moved"]["status_error"]
    assert {repo: rows[repo]["status_state"] for repo in ("course/flaky", "course/limited", "course/fine")} == \
        {"course/flaky": "sent", "course/limited": "sent", "course/fine": "sent"}
    assert (forge.count("course/flaky"), forge.count("course/limited"), forge.count("course/fine")) == (3, 2, 1)
    limited = [when for repo, when in forge.calls if repo == "course/limited"]
    assert limited[1] - limited[0] >= 0.95       # Retry-After: 1 was honoured (backoff alone: 0.05 s)
    refused_logs = [r for r in caplog.records if r.levelno == logging.ERROR and "refused" in r.getMessage()]
    assert sorted(r.fields["repository"] for r in refused_logs) == sorted(REFUSED)

    app = create_app(config, store)    # the instructor's views, without starting the worker threads
    client = TestClient(app)
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    listed = {j["repository"]: j for j in client.get("/api/jobs", headers=bearer).json()}
    assert listed["course/gone"]["status_state"] == "failed" and "HTTP 404" in listed["course/gone"]["status_error"]
    page = client.get("/gradebook", headers=bearer).text
    row = page.split(f'data-job="{jobs["course/token"]}"', 1)[1].split("</tr>", 1)[0]
    assert "refused by the forge, not retried until the service restarts: HTTP 401 Unauthorized" in row
    assert "Bad credentials" in row

    restarted = StatusPoster(config, store, poll_seconds=0.05)   # a new start: each refusal is tried once more
    restarted.start()
    try:
        deadline = time.monotonic() + 10                          # its own thread's rounds, not the test's
        while time.monotonic() < deadline and any(j["status_state"] == "pending" for j in store.jobs()):
            time.sleep(0.05)
        time.sleep(0.3)                                           # a few rounds more: nothing is sent again
    finally:
        restarted.stop()
    assert {repo: forge.count(repo) for repo in REFUSED} == {repo: 2 for repo in REFUSED}
    assert {j["repository"]: j["status_state"] for j in store.jobs() if j["repository"] in REFUSED} == \
        {repo: "failed" for repo in REFUSED}
    assert forge.count("course/fine") == 1                        # a delivered status is never sent again


def test_a_forge_that_cannot_be_reached_is_retried_with_capped_backoff(tmp_path):
    with socket.socket() as probe:      # a port nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    config = course_config(tmp_path, f"http://127.0.0.1:{closed}")
    config = dataclasses.replace(config, status_retry_seconds=0.1, status_retry_max_seconds=0.4)
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    job = graded_job(store, "course/offline")
    poster = StatusPoster(config, store)
    delays = []
    for _ in range(5):
        store_row = store.job(job)
        assert store_row["status_state"] == "pending"
        with store.engine.begin() as db:     # make it due now, then read when the poster reschedules it
            db.exec_driver_sql("UPDATE jobs SET status_next_at = 0 WHERE id = ?", (job,))
        before = time.time()
        poster.post_due()
        delays.append(store.job(job)["status_next_at"] - before)
    row = store.job(job)
    assert (row["status_state"], row["status_attempts"]) == ("pending", 5)
    assert "Connection refused" in row["status_error"] or "URLError" in row["status_error"]
    # doubling from 0.1 s, then capped at 0.4 s (each measured from just before its round)
    for delay, expected in zip(delays, [0.1, 0.2, 0.4, 0.4, 0.4]):
        assert expected <= delay < expected + 0.25, delays
    assert json.loads(TestClient(create_app(config, store)).get(
        "/api/jobs", headers={"Authorization": f"Bearer {TOKEN}"}).text)[0]["status_state"] == "pending"
