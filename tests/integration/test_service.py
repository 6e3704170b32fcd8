"""The grading service end to end, all real: `grader serve` under uvicorn on 127.0.0.1, bare git
repositories on disk whose post-receive hook sends GitHub's signed `push` delivery, `git push` of a
reference, a starter and a mistake, a loopback HTTP server standing in for GitHub's statuses API, the
gradebook and a feedback page in headless Chromium, bad deliveries, and a SIGKILL with 20 pushes queued.

The service tests run in order and share one service (module-scoped): each builds on the pushes
before it. Student code runs in the local sandbox. The fast tests at the end check the pieces
(signatures of all three forges, the config's errors, the queue's rules, the status bodies) alone.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from grader.spec import load_spec
from tests.conftest import COURSE
from tests.report.views.browser import chromium

SLOW = pytest.mark.slow

SLUG, LATE_SLUG = "02-linear-regression", "05-backprop"
SECRET = "webhook-secret-for-the-tests-0123456789"
TOKEN = "instructor-token-for-the-tests-abcdef"
FORGE_TOKEN = "forge-token-for-status-calls"
GRADER = str(Path(sys.executable).with_name("grader"))
GIT_ENV = {"GIT_AUTHOR_NAME": "Student", "GIT_AUTHOR_EMAIL": "s@example.org", "GIT_COMMITTER_NAME": "Student",
           "GIT_COMMITTER_EMAIL": "s@example.org", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
KILLED_PUSHES = 20

HOOK = '''#!{python}
"""post-receive: tell the grading service of each updated ref, as GitHub's webhook would."""
import hashlib, hmac, json, sys, urllib.error, urllib.request, uuid
REPO, URL, SECRET = {repo!r}, {url!r}, {secret!r}
for line in sys.stdin:
    before, after, ref = line.split()
    body = json.dumps({{"ref": ref, "before": before, "after": after, "created": set(before) == {{"0"}},
                       "deleted": set(after) == {{"0"}}, "forced": False,
                       "repository": {{"full_name": REPO, "name": REPO.split("/")[1],
                                      "clone_url": "https://github.com/" + REPO + ".git"}},
                       "pusher": {{"name": "student", "email": "s@example.org"}},
                       "sender": {{"login": "student"}},
                       "head_commit": {{"id": after, "timestamp": "2026-12-01T10:00:00Z"}}}}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(URL, data=body, method="POST", headers={{
        "Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/test", "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": signature}})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            print("grader:", answer.status, answer.read().decode())
    except urllib.error.HTTPError as exc:
        print("grader:", exc.code, exc.read().decode())
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, check=True,
                          capture_output=True, text=True).stdout.strip()


class FakeForge:
    """GitHub's `POST /repos/{owner}/{repo}/statuses/{sha}` on loopback, started only when asked."""

    def __init__(self, port: int) -> None:
        self.port, self.calls, self.server = port, [], None

    def start(self) -> None:
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                calls.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body),
                              "at": time.monotonic()})
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


class Service:
    """`grader serve` as a child process: started, SIGKILLed and restarted on the same database."""

    def __init__(self, root: Path, port: int, extra: tuple[str, ...] = ()) -> None:
        self.root, self.port, self.proc, self.extra = root, port, None, extra
        self.log = root / "service.log"

    def start(self) -> None:
        env = {**os.environ, "GRADER_WEBHOOK_SECRET": SECRET, "GRADER_INSTRUCTOR_TOKEN": TOKEN,
               "GRADER_FORGE_TOKEN": FORGE_TOKEN}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([GRADER, "--course", str(COURSE), "serve", "--config",
                                          str(self.root / "course.toml"), "--port", str(self.port),
                                          "--sandbox", "local", *self.extra], env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"the service did not answer /healthz within 60 s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None
                ) -> tuple[int, bytes, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, answer.read(), dict(answer.getheaders())
        finally:
            connection.close()

    def get(self, path: str, *, token: bool = False) -> tuple[int, bytes]:
        status, body, _ = self.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"} if token else {})
        return status, body

    def jobs(self) -> list[dict]:
        status, body = self.get("/api/jobs", token=True)
        assert status == 200, body
        return json.loads(body)

    def wait_done(self, count: int, seconds: float = 240) -> list[dict]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            jobs = self.jobs()
            if len(jobs) >= count and all(j["state"] == "done" for j in jobs):
                return jobs
            time.sleep(0.5)
        pytest.fail(f"jobs not done within {seconds} s: {self.jobs()}\n{self.log.read_text()[-3000:]}")


def signed_push(repo: str, commit: str, *, branch: str = "main", delivery: str | None = None,
                secret: str = SECRET, clone_url: str | None = None) -> tuple[bytes, dict]:
    body = json.dumps({"ref": f"refs/heads/{branch}", "before": "0" * 40, "after": commit, "deleted": False,
                       "repository": {"full_name": repo, "clone_url": clone_url or f"https://github.com/{repo}.git"},
                       "pusher": {"name": "student"}, "head_commit": {"id": commit}}).encode()
    return body, {"Content-Type": "application/json", "X-GitHub-Event": "push",
                  "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
                  "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("service")
    forge = FakeForge(free_port())
    service = Service(root, free_port())
    hook_url = f"http://127.0.0.1:{service.port}/hooks/github"
    students = {"alice": ("Alice A.", True), "bob": ("Bob B.", True), "carol": ("Carol C.", True),
                "dave": ("Dave D.", False)}
    for name, (_, hooked) in students.items():
        bare = root / "git" / "course" / f"{name}.git"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=root)
        if hooked:
            hook = bare / "hooks" / "post-receive"
            hook.write_text(HOOK.format(python=sys.executable, repo=f"course/{name}", url=hook_url, secret=SECRET))
            hook.chmod(0o755)
    (root / "roster.csv").write_text("student,name,repository\n" + "".join(
        f"{n},{full},course/{n}\n" for n, (full, _) in students.items()))
    an_hour_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    (root / "course.toml").write_text(textwrap.dedent(f"""\
        [service]
        forge = "github"
        clone_url = "file://{root}/git/{{repo}}.git"
        forge_api = "http://127.0.0.1:{forge.port}"
        public_url = "http://127.0.0.1:{service.port}"
        database = "sqlite:///service.db"
        roster = "roster.csv"
        secret_env = "GRADER_WEBHOOK_SECRET"
        instructor_token_env = "GRADER_INSTRUCTOR_TOKEN"
        forge_token_env = "GRADER_FORGE_TOKEN"
        workers = 1
        max_body_kb = 256
        keep = "last"
        status_retry_seconds = 0.5
        status_retry_max_seconds = 2

        [late]
        policy = "percent_per_day"
        percent_per_day = 10

        [assignments.{SLUG}]
        branch = "main"
        deadline = 2099-01-01T00:00:00Z

        [assignments.{LATE_SLUG}]
        branch = "hw05"
        deadline = {an_hour_ago}
        """))
    service.start()
    yield {"root": root, "forge": forge, "service": service, "commits": {}}
    service.stop()
    forge.stop()


def push(world: dict, student: str, source: Path, *, branch: str = "main", note: str = "") -> str:
    """Commit `source`'s files to the student's repository and `git push` them; the pushed sha."""
    work = world["root"] / "work" / f"{student}-{branch}"
    if not work.exists():
        git("clone", "--quiet", str(world["root"] / "git" / "course" / f"{student}.git"), str(work),
            cwd=world["root"])
        git("checkout", "--quiet", "-B", branch, cwd=work)
    for path in source.iterdir():
        shutil.copy(path, work / path.name)
    if note:
        (work / "NOTES.md").write_text(note)
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", f"work on {branch}", cwd=work)
    result = subprocess.run(["git", "push", "--quiet", "origin", f"HEAD:{branch}"], cwd=work, check=True,
                            env={**os.environ, **GIT_ENV}, capture_output=True, text=True)
    world.setdefault("hook_output", []).append(result.stderr)
    return git("rev-parse", "HEAD", cwd=work)


@SLOW
def test_ping_is_answered(world):
    body = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    status, answer, _ = world["service"].request("POST", "/hooks/github", body, {
        "X-GitHub-Event": "ping", "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": signature})
    assert (status, json.loads(answer)) == (200, {"ignored": "ping"})


@SLOW
def test_pushed_commits_score_what_grader_grade_gives(world):
    """Does a `git push` of a reference, a starter and a mistake get each the score `grader grade` gives?"""
    commits = world["commits"]
    commits["alice"] = push(world, "alice", COURSE / "solutions" / SLUG)
    commits["bob"] = push(world, "bob", COURSE / "assignments" / SLUG / "starter")
    commits["carol"] = push(world, "carol", materialise(COURSE, SLUG, "gradient-not-divided-by-n"))
    assert all("grader: 202" in out for out in world["hook_output"]), world["hook_output"]
    jobs = world["service"].wait_done(3)
    by_student = {j["student"]: j for j in jobs}
    assert {s: by_student[s]["commit_sha"] for s in commits} == commits
    sources = [f"file://{world['root']}/git/course/{s}.git#{commits[s]}" for s in ("alice", "bob", "carol")]
    out = world["root"] / "cli-reports"
    subprocess.run([GRADER, "--course", str(COURSE), "grade", SLUG, *sources, "--out", str(out),
                    "--sandbox", "local", "--force"], check=True, capture_output=True)
    cli = {json.loads(p.read_text())["submission"]["sha256"]: json.loads(p.read_text())
           for p in out.glob("*.json")}
    assert len(cli) == 3
    for student, job in by_student.items():
        status, page = world["service"].get(f"/gradebook/jobs/{job['id']}", token=True)
        assert status == 200
        assert job["result"] == "graded" and job["attempts"] == 1
        expected = [r for r in cli.values() if r["score"] == job["score"]]
        assert expected, f"{student}: service scored {job['score']}, grader grade gave " \
                         f"{[r['score'] for r in cli.values()]}"
    assert sorted(j["score"] for j in jobs) == sorted(r["score"] for r in cli.values()) == [0, 18, 38]


@SLOW
def test_a_forge_that_is_down_is_retried_and_the_failure_shown(world):
    """Is a status the forge could not take visible to the instructor, and delivered once it is back?"""
    service, forge = world["service"], world["forge"]
    time.sleep(1.5)   # a few retries against a closed port
    failing = [j for j in service.jobs() if j["status_state"] == "pending"]
    assert len(failing) == 3 and all(j["status_error"] and j["status_attempts"] >= 1 for j in failing)
    status, page = service.get("/gradebook", token=True)
    assert status == 200 and b"failed attempt" in page
    forge.start()
    deadline = time.monotonic() + 30
    while any(j["status_state"] != "sent" for j in service.jobs()) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert all(j["status_state"] == "sent" for j in service.jobs())
    calls = {c["path"]: c for c in forge.calls}
    assert len(forge.calls) == len(calls) == 3, forge.calls
    for student, score, state in (("alice", 38, "success"), ("bob", 0, "failure"), ("carol", 18, "failure")):
        call = calls[f"/repos/course/{student}/statuses/{world['commits'][student]}"]
        assert call["headers"]["Authorization"] == f"Bearer {FORGE_TOKEN}"
        body = call["body"]
        assert set(body) == {"state", "target_url", "description", "context"}
        assert body["state"] == state and body["context"] == f"dl-grader/{SLUG}"
        assert body["description"] == f"{score}/38 points" and len(body["description"]) <= 140
        assert body["target_url"].startswith(f"http://127.0.0.1:{service.port}/feedback/")
        world.setdefault("links", {})[student] = body["target_url"]


@SLOW
def test_feedback_page_is_the_students_copy(world, tmp_path):
    service = world["service"]
    link = world["links"]["carol"]
    status, page = service.get(link.split(str(service.port), 1)[1])
    assert status == 200 and b"Score: 18 / 38 points" in page
    assert b"Hidden test (its inputs and values are not shown): " in page  # a hint, never the values
    dom = chromium_url(link, tmp_path)
    assert 'id="score"' in dom and "18 / 38" in dom
    assert service.get("/feedback/not-a-real-link")[0] == 404


def chromium_url(url: str, tmp_path: Path) -> str:
    """Headless Chromium's DOM of a page the service serves, opened by its URL."""
    return chromium(tmp_path / "page", "--dump-dom", "--virtual-time-budget=5000", url=url)


@SLOW
def test_gradebook_in_chromium_and_as_csv(world, tmp_path):
    service = world["service"]
    dom = chromium_url(f"http://127.0.0.1:{service.port}/login?token={TOKEN}", tmp_path)
    assert 'id="gradebook"' in dom, dom[:2000]
    for student, points in (("alice", "38"), ("bob", "0"), ("carol", "18")):
        row = dom.split(f'data-student="{student}"', 1)[1].split("</tr>", 1)[0]
        assert f'data-assignment="{SLUG}" data-points="{points}"' in row
    assert service.get("/gradebook.csv")[0] == 401
    status, text = service.get("/gradebook.csv", token=True)
    lines = text.decode().splitlines()
    assert lines[0] == f"student,name,{SLUG},{LATE_SLUG},late,total,overrides"
    assert lines[1].startswith("(max points),,38,")
    assert "alice,Alice A.,38,,,38," in lines and "carol,Carol C.,18,,,18," in lines


@SLOW
def test_gradebook_exports_to_nbgrader(world, tmp_path):
    """Does the nbgrader export hold each student's counted score, read back with nbgrader's own API?"""
    from nbgrader.api import Gradebook

    service = world["service"]
    assert service.get(f"/gradebook/nbgrader.db?assignment={SLUG}")[0] == 401
    status, data = service.get(f"/gradebook/nbgrader.db?assignment={SLUG}", token=True)
    assert status == 200 and data.startswith(b"SQLite format 3")
    (tmp_path / "gradebook.db").write_bytes(data)
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        scores = {s: gb.find_submission(SLUG, s).score for s in ("alice", "bob", "carol")}
    assert scores == {"alice": 38, "bob": 0, "carol": 18}


@SLOW
def test_wrong_missing_signature_unknown_repo_and_big_body_are_refused(world):
    service = world["service"]
    before = len(service.jobs())
    body, headers = signed_push("course/dave", "a" * 40, secret="not-the-secret-at-all-0123")
    assert service.request("POST", "/hooks/github", body, headers)[0] == 401
    del headers["X-Hub-Signature-256"]
    assert service.request("POST", "/hooks/github", body, headers)[0] == 401
    body, headers = signed_push("course/mallory", "b" * 40)
    status, answer, _ = service.request("POST", "/hooks/github", body, headers)
    assert status == 403 and b"not on the course roster" in answer
    assert big_body_status(service.port) == 413
    assert chunked_body_status(service.port, 300 * 1024) == 413     # no Content-Length: counted as read
    assert len(service.jobs()) == before
    log = service.log.read_text()
    assert "course/mallory is not on the course roster" in log


def big_body_status(port: int) -> int:
    """Send a signed-looking 20 MB body and read the answer the service gives (before it is all sent)."""
    size = 20 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(f"POST /hooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"X-GitHub-Event: push\r\nX-Hub-Signature-256: sha256={'0' * 64}\r\n"
                     f"Content-Length: {size}\r\n\r\n".encode())
        try:
            chunk = b"x" * 65536
            for _ in range(size // len(chunk)):
                conn.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the service answered and closed before reading it all, as it should
        answer = conn.recv(4096)
    return int(answer.split(b" ", 2)[1])


def chunked_body_status(port: int, size: int) -> int:
    """POST `size` bytes with chunked transfer encoding (no Content-Length); the status answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(b"POST /hooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(size // 4096):
                conn.sendall(b"1000\r\n" + b"x" * 4096 + b"\r\n")
            conn.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = conn.recv(4096)
    return int(answer.split(b" ", 2)[1])


@SLOW
def test_redeliveries_are_not_graded_twice(world):
    service, commits = world["service"], world["commits"]
    before = len(service.jobs())
    body, headers = signed_push("course/alice", commits["alice"])   # same repo + commit, new delivery id
    status, answer, _ = service.request("POST", "/hooks/github", body, headers)
    assert status == 200 and json.loads(answer)["duplicate"] is True
    dave = git("rev-parse", "HEAD", cwd=_dave_work(world, 1)[0])
    body, headers = signed_push("course/dave", dave, delivery="delivery-1")
    assert service.request("POST", "/hooks/github", body, headers)[0] == 202
    assert service.request("POST", "/hooks/github", body, headers)[0] == 200          # the same delivery again
    body, headers = signed_push("course/dave", "c" * 40, delivery="delivery-1")      # its id, another body
    assert service.request("POST", "/hooks/github", body, headers)[0] == 200
    jobs = service.wait_done(before + 1)
    assert len(jobs) == before + 1 and [j["commit_sha"] for j in jobs].count(dave) == 1


@SLOW
def test_a_payload_naming_another_students_repository_grades_nothing_for_anyone(world):
    """Alice's commit announced as Bob's (with Alice's clone URL in the payload): Bob's roster
    repository is fetched, the commit is not there, nothing is graded and Bob's grade is unchanged."""
    service, commits = world["service"], world["commits"]
    alice_url = f"file://{world['root']}/git/course/alice.git"
    body, headers = signed_push("course/bob", commits["alice"], clone_url=alice_url)
    status, answer, _ = service.request("POST", "/hooks/github", body, headers)
    assert status == 202
    job = next(j for j in service.wait_done(len(service.jobs())) if j["id"] == json.loads(answer)["job"])
    assert (job["student"], job["result"], job["score"]) == ("bob", "fetch_error", None)
    assert "course/bob" in job["error"]
    page = service.get(f"/feedback/{job['link']}")[1]
    assert b"This push was not graded" in page and b"Score" not in page
    lines = service.get("/gradebook.csv", token=True)[1].decode().splitlines()
    assert "bob,Bob B.,0,,,0," in lines


@SLOW
def test_branches_map_to_assignments_and_late_pushes_are_flagged(world):
    service = world["service"]
    before = len(service.jobs())
    push(world, "alice", COURSE / "solutions" / SLUG, branch="experiment", note="trying")
    assert "ignored" in world["hook_output"][-1] and "experiment" in world["hook_output"][-1]
    assert len(service.jobs()) == before
    sha = push(world, "alice", COURSE / "solutions" / LATE_SLUG, branch="hw05")
    jobs = service.wait_done(before + 1)
    job = next(j for j in jobs if j["commit_sha"] == sha)
    full = load_spec(COURSE / "assignments" / LATE_SLUG).points
    assert job["assignment"] == LATE_SLUG and job["late_seconds"] > 3000 and job["score"] == full
    lines = service.get("/gradebook.csv", token=True)[1].decode().splitlines()
    late = full * 0.9   # 10% per started day, in the gradebook only
    assert f"alice,Alice A.,38,{late:g},{LATE_SLUG},{38 + late:g}," in lines
    assert f"{full} / {full} points".encode() in service.get(f"/gradebook/jobs/{job['id']}", token=True)[1]


@SLOW
def test_a_zip_upload_with_the_students_token_is_graded(world):
    """Does `POST /api/submissions` (no git) grade a zip sent with the student's own upload token?"""
    service = world["service"]
    assert service.get("/api/tokens")[0] == 401
    tokens = dict(line.split(",") for line in service.get("/api/tokens", token=True)[1].decode().splitlines()[1:])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for path in (COURSE / "solutions" / SLUG).iterdir():
            zf.write(path, path.name)
    body = archive.getvalue()
    url = f"/api/submissions?assignment={SLUG}"
    assert service.request("POST", url, body, {"Authorization": "Bearer " + "0" * 40})[0] == 401
    assert service.request("POST", url, body, {"Authorization": f"Bearer {TOKEN}"})[0] == 401
    erin = {"Authorization": f"Bearer {tokens['dave']}"}
    assert service.request("POST", "/api/submissions?assignment=99-nope", body, erin)[0] == 404
    assert service.request("POST", url, b"not a zip", erin)[0] == 400
    status, answer, _ = service.request("POST", url, body, erin)
    assert status == 202, answer
    link = json.loads(answer)["feedback"]
    assert service.request("POST", url, body, erin)[0] == 200          # the same archive again: one grade
    job = next(j for j in service.wait_done(len(service.jobs())) if j["id"] == json.loads(answer)["job"])
    assert (job["student"], job["result"], job["score"], job["status_state"]) == ("dave", "graded", 38, "none")
    assert b"Score: 38 / 38 points" in service.get(link.split(str(service.port), 1)[1])[1]


def _dave_work(world: dict, count: int) -> tuple[Path, list[str]]:
    """Dave's repository (no hook: its deliveries are sent by the test) with `count` new commits."""
    work = world["root"] / "work" / "dave"
    if not work.exists():
        git("clone", "--quiet", str(world["root"] / "git" / "course" / "dave.git"), str(work), cwd=world["root"])
        git("checkout", "--quiet", "-B", "main", cwd=work)
    shas = []
    for n in range(count):
        for path in (COURSE / "solutions" / SLUG).iterdir():
            shutil.copy(path, work / path.name)
        (work / "NOTES.md").write_text(f"attempt {time.time_ns()} {n}\n")
        git("add", "-A", cwd=work)
        git("commit", "--quiet", "-m", f"attempt {n}", cwd=work)
        shas.append(git("rev-parse", "HEAD", cwd=work))
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    return work, shas


@SLOW
def test_sigkill_with_queued_pushes_then_restart_grades_each_exactly_once(world):
    service = world["service"]
    _, shas = _dave_work(world, KILLED_PUSHES)
    before = len(service.jobs())
    latencies = []
    for sha in shas:
        body, headers = signed_push("course/dave", sha)
        started = time.perf_counter()
        status, _, _ = service.request("POST", "/hooks/github", body, headers)
        latencies.append(time.perf_counter() - started)
        assert status == 202
    service.kill()
    print(f"\n202 latency for {len(shas)} pushes: median {sorted(latencies)[len(latencies) // 2] * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")
    assert max(latencies) < 1.0
    service.start()
    jobs = service.wait_done(before + KILLED_PUSHES, seconds=600)
    mine = [j for j in jobs if j["commit_sha"] in shas]
    assert sorted(j["commit_sha"] for j in mine) == sorted(shas)
    assert all(j["result"] == "graded" and j["score"] == 38 for j in mine)
    assert sum(j["attempts"] > 1 for j in mine) <= 1     # at most the one that was running when killed
    if any(j["attempts"] > 1 for j in mine):
        assert "requeued jobs a stopped service left running" in service.log.read_text()
    deadline = time.monotonic() + 30
    posted = lambda: {c["path"].rsplit("/", 1)[1] for c in world["forge"].calls}  # noqa: E731
    while time.monotonic() < deadline and not set(shas) <= posted():
        time.sleep(0.3)
    assert set(shas) <= posted()


@SLOW
def test_grade_on_a_dask_cluster_with_the_cluster_option(world, tmp_path):
    """Does `grader serve --cluster local:1` grade a push on the Dask executor, with the same score?"""
    (tmp_path / "roster.csv").write_text((world["root"] / "roster.csv").read_text())
    config = (world["root"] / "course.toml").read_text()
    (tmp_path / "course.toml").write_text(config.replace('"sqlite:///service.db"', '"sqlite:///cluster.db"'))
    service = Service(tmp_path, free_port(), ("--cluster", "local:1"))
    service.start()
    try:
        body, headers = signed_push("course/alice", world["commits"]["alice"])
        assert service.request("POST", "/hooks/github", body, headers)[0] == 202
        [job] = service.wait_done(1, seconds=180)
        assert (job["result"], job["score"]) == ("graded", 38)
        assert "grading on the Dask cluster" in service.log.read_text()
    finally:
        service.stop()


def forge_push(forge: str, repo: str, commit: str) -> tuple[bytes, dict]:
    """A push delivery as GitLab or Gitea sends it, with that forge's token or signature."""
    if forge == "gitlab":
        body = json.dumps({"object_kind": "push", "ref": "refs/heads/main", "before": "0" * 40, "after": commit,
                           "checkout_sha": commit, "user_username": "student",
                           "project": {"path_with_namespace": repo}}).encode()
        return body, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET,
                      "X-Gitlab-Event-UUID": str(uuid.uuid4()), "Content-Type": "application/json"}
    body = json.dumps({"ref": "refs/heads/main", "before": "0" * 40, "after": commit,
                       "repository": {"full_name": repo}, "pusher": {"login": "student"}}).encode()
    return body, {"X-Gitea-Event": "push", "X-Gitea-Delivery": str(uuid.uuid4()), "Content-Type": "application/json",
                  "X-Gitea-Signature": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}


@SLOW
@pytest.mark.parametrize("forge, status_path", [("gitlab", "/projects/course%2Falice/statuses/"),
                                                ("gitea", "/repos/course/alice/statuses/")])
def test_gitlab_and_gitea_deliveries_end_to_end(world, tmp_path, forge, status_path):
    """A GitLab (X-Gitlab-Token) or Gitea (X-Gitea-Signature) push is verified, graded, and its status
    posted the way that forge's API takes it; the other forges' routes are closed."""
    (tmp_path / "roster.csv").write_text((world["root"] / "roster.csv").read_text())
    config = (world["root"] / "course.toml").read_text().replace('forge = "github"', f'forge = "{forge}"')
    (tmp_path / "course.toml").write_text(config.replace('"sqlite:///service.db"', f'"sqlite:///{forge}.db"'))
    service = Service(tmp_path, free_port())
    service.start()
    earlier = len(world["forge"].calls)    # GitHub's status for this commit is already among them
    try:
        commit = world["commits"]["alice"]
        body, headers = forge_push(forge, "course/alice", commit)
        assert service.request("POST", "/hooks/github", *signed_push("course/alice", commit))[0] == 404
        wrong = {**headers, "X-Gitlab-Token": "x" * 30} if forge == "gitlab" else \
            {**headers, "X-Gitea-Signature": "0" * 64}
        assert service.request("POST", f"/hooks/{forge}", body, wrong)[0] == 401
        assert service.request("POST", f"/hooks/{forge}", body, headers)[0] == 202
        [job] = service.wait_done(1, seconds=120)
        assert (job["result"], job["score"]) == ("graded", 38)
        ours = lambda: [c for c in world["forge"].calls[earlier:] if c["path"] == status_path + commit]  # noqa: E731
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not ours():
            time.sleep(0.3)
        [call] = ours()
        sent = {k.lower(): v for k, v in call["headers"].items()}       # HTTP header names have no case
        if forge == "gitlab":
            assert sent["private-token"] == FORGE_TOKEN
            assert call["body"]["state"] == "success" and call["body"]["name"] == f"dl-grader/{SLUG}"
        else:
            assert sent["authorization"] == f"token {FORGE_TOKEN}"
            assert call["body"]["state"] == "success" and call["body"]["context"] == f"dl-grader/{SLUG}"
    finally:
        service.stop()


# ---- the pieces alone (fast: no service, no grading) ----------------------------------------------

from grader.errors import SpecError  # noqa: E402
from grader.service import forge as service_forge  # noqa: E402
from grader.service import hooks  # noqa: E402
from grader.service.config import LatePolicy, load_config  # noqa: E402
from grader.service.store import Store  # noqa: E402
from grader.authoring.examples import materialise  # noqa: E402

KEY = SECRET.encode()
SHA = "ab" * 20


def github_style(body: bytes, prefix: str = "sha256=") -> str:
    return prefix + hmac.new(KEY, body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("forge, headers, ok", [
    ("github", {"x-hub-signature-256": "GOOD"}, True),
    ("github", {"x-hub-signature-256": "GOOD_NO_PREFIX"}, False),
    ("github", {"x-hub-signature-256": "sha256=" + "0" * 64}, False),
    ("github", {}, False),
    ("gitea", {"x-gitea-signature": "GOOD_NO_PREFIX"}, True),
    ("gitea", {"x-gitea-signature": "0" * 64}, False),
    ("gitea", {"x-hub-signature-256": "GOOD"}, False),      # GitHub's header is not Gitea's
    ("gitlab", {"x-gitlab-token": SECRET}, True),
    ("gitlab", {"x-gitlab-token": SECRET[:-1]}, False),
    ("gitlab", {}, False),
])
def test_each_forge_signature_is_checked_over_the_raw_body(forge, headers, ok):
    body = b'{"after": "x"}'
    good = {"GOOD": github_style(body), "GOOD_NO_PREFIX": github_style(body, "")}
    headers = {k: good.get(v, v) for k, v in headers.items()}
    if ok:
        hooks.verify(forge, headers, body, KEY)
        with pytest.raises(hooks.HookRefused):   # the same signature over a changed body
            hooks.verify(forge, headers, body + b" ", KEY) if forge != "gitlab" else hooks.verify(
                forge, {"x-gitlab-token": "wrong"}, body, KEY)
    else:
        with pytest.raises(hooks.HookRefused) as refused:
            hooks.verify(forge, headers, body, KEY)
        assert refused.value.status == 401


def test_push_payloads_of_the_three_forges_are_read_alike():
    github = {"ref": "refs/heads/main", "after": SHA, "repository": {"full_name": "course/alice"},
              "pusher": {"name": "alice"}, "head_commit": {"timestamp": "2026-12-01T10:00:00Z"}}
    gitea = {**github, "pusher": {"login": "alice"}}
    gitlab = {"object_kind": "push", "ref": "refs/heads/main", "after": SHA, "checkout_sha": SHA,
              "user_username": "alice", "project": {"path_with_namespace": "course/alice"}}
    cases = [("github", {"x-github-event": "push", "x-github-delivery": "d1"}, github),
             ("gitea", {"x-gitea-event": "push", "x-gitea-delivery": "d1"}, gitea),
             ("gitlab", {"x-gitlab-event": "Push Hook", "x-gitlab-event-uuid": "d1"}, gitlab)]
    for forge, headers, payload in cases:
        push = hooks.read_event(forge, headers, json.dumps(payload).encode())
        assert (push.repository, push.commit, push.branch, push.pusher, push.delivery) == \
            ("course/alice", SHA, "main", "alice", "d1"), forge


def test_pings_tags_deletions_and_malformed_payloads():
    read = lambda payload, event="push": hooks.read_event(  # noqa: E731
        "github", {"x-github-event": event}, json.dumps(payload).encode())
    base = {"ref": "refs/heads/main", "after": SHA, "repository": {"full_name": "course/alice"}}
    assert read({}, "ping") == hooks.Ignored("ping")
    assert isinstance(read({}, "issues"), hooks.Ignored)
    assert isinstance(read({**base, "after": "0" * 40, "deleted": True}), hooks.Ignored)
    assert read({**base, "ref": "refs/tags/v1"}).branch is None
    for bad in ({**base, "after": "HEAD; rm -rf /"}, {**base, "repository": {}}, [1, 2]):
        with pytest.raises(hooks.HookRefused) as refused:
            read(bad)
        assert refused.value.status == 400


def write_course(tmp: Path, service: str = "", assignments: str = "", roster: str | None = None) -> Path:
    (tmp / "roster.csv").write_text(roster if roster is not None else
                                    "student,name,repository\nalice,Alice,course/alice\n")
    config = tmp / "course.toml"
    config.write_text(f'[service]\nclone_url = "file:///srv/git/{{repo}}.git"\nroster = "roster.csv"\n{service}\n'
                      + (assignments or f'[assignments.{SLUG}]\nbranch = "main"\n'))
    return config


ENV = {"GRADER_WEBHOOK_SECRET": SECRET, "GRADER_INSTRUCTOR_TOKEN": TOKEN}


@pytest.mark.parametrize("service, assignments, roster, message", [
    ('sekret = "x"', "", None, "unknown key(s) in [service]: sekret"),
    ('forge = "bitbucket"', "", None, "forge is 'bitbucket'"),
    ("", '[assignments.99-nope]\nbranch = "main"\n', None, "no assignment '99-nope'"),
    ("", f'[assignments.{SLUG}]\ndeadline = 2026-12-01\n', None, "deadline must be a date-time with a UTC offset"),
    ("", f'[assignments.{SLUG}]\n[assignments.{LATE_SLUG}]\n', None, "two assignments share a branch"),
    ("", "", "student,name,repository\nalice,Alice,\n", "roster.csv:2: columns student, name, repository"),
    ("", "", "student,name,repository\na,A,course/x\nb,B,course/X\n", "course/X is listed twice"),
])
def test_a_bad_course_toml_or_roster_is_an_error_naming_the_place(tmp_path, service, assignments, roster, message):
    with pytest.raises(SpecError) as error:
        load_config(write_course(tmp_path, service, assignments, roster), course=COURSE, environ=ENV)
    assert message in str(error.value)


def test_secrets_come_from_the_environment_only(tmp_path):
    config = write_course(tmp_path)
    with pytest.raises(SpecError, match="GRADER_WEBHOOK_SECRET must hold a secret"):
        load_config(config, course=COURSE, environ={"GRADER_INSTRUCTOR_TOKEN": TOKEN})
    loaded = load_config(config, course=COURSE, environ=ENV)
    assert loaded.secret == KEY and SECRET not in repr(loaded) and TOKEN not in repr(loaded)
    alice = loaded.roster[0]
    assert loaded.clone_url_for(alice) == "file:///srv/git/course/alice.git"
    assert loaded.student_by_token(loaded.upload_token(alice)) == alice and loaded.student_by_token("x") is None
    assert loaded.assignment_for(alice, "main") == SLUG and loaded.assignment_for(alice, "dev") is None


def test_late_policies_change_the_counted_points_only():
    day = 86400
    assert LatePolicy("none").apply(40, 5 * day) == 40
    assert LatePolicy("percent_per_day", 10).apply(40, 1) == 36            # a started day counts
    assert LatePolicy("percent_per_day", 10).apply(40, 2 * day + 1) == pytest.approx(28)
    assert LatePolicy("percent_per_day", 50).apply(40, 9 * day) == 0        # never below zero
    assert LatePolicy("cutoff").apply(40, 1) == 0 and LatePolicy("cutoff").apply(40, 0) == 40


def test_the_queue_dedupes_claims_once_and_requeues_what_a_crash_left_running(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    job = dict(student="alice", repository="Course/Alice", assignment=SLUG, branch="main", pusher="a",
               late_seconds=0.0)
    assert store.enqueue(delivery="d1", commit=SHA, **job) == (True, 1)
    assert store.enqueue(delivery="d1", commit="cd" * 20, **job) == (False, 1)     # same delivery id
    assert store.enqueue(delivery="d2", commit=SHA, **{**job, "repository": "course/alice"}) == (False, 1)
    assert store.enqueue(delivery=None, commit="ef" * 20, **job) == (True, 2)
    with store.engine.connect() as db:
        assert db.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert db.exec_driver_sql("PRAGMA synchronous").scalar() == 1          # NORMAL: see make_engine
    first, second = store.claim(), store.claim()
    assert (first["id"], second["id"], store.claim()) == (1, 2, None)
    store.finish(1, report=None, error="gone", post_status=True)
    assert store.requeue_running() == 1 and store.counts() == {"queued": 1, "running": 0, "done": 1}
    again = store.claim()
    assert (again["id"], again["attempts"]) == (2, 2)
    assert [j["status_state"] for j in store.due_statuses(time.time())] == ["pending"]


def test_sqlite_synchronous_full_is_a_course_toml_choice(tmp_path):
    config = load_config(write_course(tmp_path, 'sqlite_synchronous = "full"'), course=COURSE, environ=ENV)
    store = Store(f"sqlite:///{tmp_path / 'q.db'}", synchronous=config.sqlite_synchronous)
    with store.engine.connect() as db:
        assert db.exec_driver_sql("PRAGMA synchronous").scalar() == 2          # FULL: an fsync per commit
    with pytest.raises(SpecError, match="sqlite_synchronous is 'off'"):
        load_config(write_course(tmp_path, 'sqlite_synchronous = "off"'), course=COURSE, environ=ENV)


@pytest.mark.parametrize("forge, url, auth", [
    ("github", "http://api/repos/course/alice/statuses/" + SHA, ("Authorization", "Bearer tok")),
    ("gitea", "http://api/repos/course/alice/statuses/" + SHA, ("Authorization", "token tok")),
    ("gitlab", "http://api/projects/course%2Falice/statuses/" + SHA, ("Private-token", "tok")),
])
def test_status_requests_follow_each_forges_api(tmp_path, forge, url, auth):
    import dataclasses
    config = dataclasses.replace(load_config(write_course(tmp_path), course=COURSE, environ=ENV), forge=forge,
                                 forge_api="http://api/", forge_token="tok", public_url="https://g.example")
    job = {"result": "graded", "score": 17.0, "max_score": 38.0, "late_seconds": 60.0, "link": "L",
           "assignment": SLUG, "repository": "course/alice", "commit_sha": SHA}
    request = service_forge.status_request(config, job)
    body = json.loads(request.data)
    assert (request.full_url, request.get_method(), request.get_header(auth[0])) == (url, "POST", auth[1])
    assert body["description"] == "17/38 points (late)" and body["target_url"] == "https://g.example/feedback/L"
    assert body["state"] == ("failed" if forge == "gitlab" else "failure")
    assert body.get("context", body.get("name")) == f"dl-grader/{SLUG}"
    unscored = service_forge.outcome({**job, "result": "infra_error", "score": None}, 60)
    assert unscored[0] == "error" and "points" not in unscored[1]


def test_the_readme_course_toml_is_a_valid_config(tmp_path):
    """The README's example course.toml loads as printed (with a roster beside it)."""
    readme = (COURSE / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Grading pushes on the instructor's side\n", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "course.toml").write_text(example)
    (tmp_path / "roster.csv").write_text("student,name,repository\nalice,Alice,course/alice\n")
    env = {**ENV, "GRADER_FORGE_TOKEN": FORGE_TOKEN}
    config = load_config(tmp_path / "course.toml", course=COURSE, environ=env)
    assert (config.forge, config.keep, config.late.kind, config.forge_token) == \
        ("github", "best", "percent_per_day", FORGE_TOKEN)
    assert config.deadlines["05-backprop"].due is not None


def test_the_gradebook_counts_the_best_or_last_push_with_the_late_policy(tmp_path):
    import dataclasses

    from grader.service.gradebook import gradebook, to_csv

    config = load_config(write_course(tmp_path), course=COURSE, environ=ENV)
    row = dict(student="alice", assignment=SLUG, max_score=38.0, state="done")
    jobs = [{**row, "id": 1, "received_at": 1.0, "score": 30.0, "late_seconds": 0.0},
            {**row, "id": 2, "received_at": 2.0, "score": 38.0, "late_seconds": 3600.0},     # late: 10% off
            {**row, "id": 3, "received_at": 3.0, "score": 20.0, "late_seconds": 0.0},
            {**row, "id": 4, "received_at": 4.0, "score": None, "late_seconds": 0.0},        # infra_error
            {**row, "id": 5, "received_at": 5.0, "score": None, "late_seconds": 0.0, "state": "queued"}]
    late = dataclasses.replace(config, late=LatePolicy("percent_per_day", 10))
    best = gradebook(dataclasses.replace(late, keep="best"), jobs)["alice"][SLUG]
    assert (best.counted["id"], best.points, best.late, best.latest_state) == (2, pytest.approx(34.2), True, "queued")
    last = gradebook(dataclasses.replace(late, keep="last"), jobs)["alice"][SLUG]
    assert (last.counted["id"], last.points, last.late) == (3, 20.0, False)
    cutoff = gradebook(dataclasses.replace(config, keep="best", late=LatePolicy("cutoff")), jobs)["alice"][SLUG]
    assert (cutoff.counted["id"], cutoff.points) == (1, 30.0)
    lines = to_csv(dataclasses.replace(late, keep="best"), jobs).splitlines()
    assert lines[:3] == [f"student,name,{SLUG},late,total,overrides", "(max points),,38,,38,",
                         f"alice,Alice,34.2,{SLUG},34.2,"]
    assert to_csv(config, []).splitlines()[2] == "alice,Alice,,,,"   # no grade: empty, never 0


def test_overrides_replace_or_add_to_the_counted_grade_and_say_why(tmp_path):
    """[service] overrides: the instructor's CSV (as `grader report gradebook --overrides` reads it),
    applied in the gradebook after the late policy, never to a report; a row naming no roster student
    or no configured assignment stops the service at its start."""
    from grader.service.gradebook import gradebook, to_csv

    roster = "student,name,repository\nalice,Alice,course/alice\nbob,Bob,course/bob\ncarol,Carol,course/carol\n"
    (tmp_path / "overrides.csv").write_text(
        "student,assignment,points,extra_credit,reason\n"
        f"alice,{SLUG},,2,found a bug in the tests\nbob,{SLUG},35,,graded by hand: the grader timed out\n"
        f"carol,{SLUG},,3,extra credit without a grade yet\n")
    config = load_config(write_course(tmp_path, 'overrides = "overrides.csv"', roster=roster), course=COURSE,
                         environ=ENV)
    row = dict(assignment=SLUG, max_score=38.0, state="done", late_seconds=0.0)
    jobs = [{**row, "id": 1, "received_at": 1.0, "student": "alice", "score": 30.0},
            {**row, "id": 2, "received_at": 2.0, "student": "bob", "score": None}]   # an infra_error
    table = gradebook(config, jobs)
    assert [table[s][SLUG].points for s in ("alice", "bob", "carol")] == [32.0, 35.0, None]
    assert table["bob"][SLUG].override.reason == "graded by hand: the grader timed out"
    lines = to_csv(config, jobs).splitlines()
    assert f"alice,Alice,32,,32,{SLUG}: found a bug in the tests" in lines
    assert f"bob,Bob,35,,35,{SLUG}: graded by hand: the grader timed out" in lines
    assert f"carol,Carol,,,,{SLUG}: extra credit without a grade yet" in lines
    from grader.service.app import TEMPLATES, _when

    page = TEMPLATES.get_template("gradebook.html").render(table=table, assignments=[SLUG], tops={SLUG: 38.0},
                                                           names={}, jobs=[], config=config, when=_when)
    bob = page.split('data-student="bob"', 1)[1].split("</tr>", 1)[0]
    assert 'data-points="35"' in bob and "override: graded by hand: the grader timed out" in bob
    (tmp_path / "overrides.csv").write_text(f"student,assignment,points,extra_credit,reason\ndave,{SLUG},1,,typo\n")
    with pytest.raises(SpecError, match=r"overrides.csv:2: no student 'dave' in the roster"):
        load_config(tmp_path / "course.toml", course=COURSE, environ=ENV)


def test_a_roster_assignment_column_ties_a_repository_to_one_assignment(tmp_path):
    roster = "student,name,repository,assignment\nalice,Alice,course/alice-hw02,02-linear-regression\n" \
             "alice,Alice,course/alice-hw05,05-backprop\n"
    assignments = f'[assignments.{SLUG}]\nbranch = "main"\n[assignments.{LATE_SLUG}]\nbranch = "main"\n'
    config = load_config(write_course(tmp_path, "", assignments, roster), course=COURSE, environ=ENV)
    hw02, hw05 = config.student_for("Course/Alice-HW02")[0], config.student_for("course/alice-hw05")[0]
    assert (config.assignment_for(hw02, "main"), config.assignment_for(hw05, "main")) == (SLUG, LATE_SLUG)
    assert config.student_for("course/alice") == []
