"""The grading service under a burst, all real: 200 signed GitHub `push` deliveries sent from 4 processes
as fast as they go to `grader serve` under uvicorn on 127.0.0.1. Each must be answered 202 at once (the
grading happens later): its row committed within 100 ms of its arrival by the service's own clock, and
its answer at the sender within 1 s however busy the machine is (`make test` runs this beside another
worker's gradings; the 100 ms as sent is `make bench-service`'s figure, taken with nothing else
running). Each pushed commit must then be fetched from its bare
repository on disk and really graded in the local sandbox, exactly once, with the score `grader grade`
gives for that content, and its commit status posted to a loopback forge.

The step is 01-numpy-basics (the cheapest to grade). Four students push 50 commits each; a student's
commits hold the same files (the reference, the starter, or one of two pinned mistakes: 54, 0, 49 and
47 points), so `grader grade` run once per student says what each of that student's 50 jobs must
score, while every job still fetches its own commit and gets its own report: a commit whose graded files
a report of that student already judged reuses that verdict (as `grader grade` reuses a current
report), so the burst runs a judge a few times per student, not 200 times. `LoadRig` is also what
`bench/service.py` (`make bench-service`) measures. A fast test checks what keeps the answers quick
while the gradings run: the grading threads and their processes are niced, the HTTP thread is not.

The gradings take their time on the shared 2-core VM this was written on: before a student's
unchanged files reused their last verdict, 200 took 113 s with the machine otherwise idle, 164 s at
load average 4 and 618 s at load average 9; with the reuse the whole test took 31 s idle. Nothing
about grading is faked to make that shorter.
"""

from __future__ import annotations

import collections
import concurrent.futures
import http.client
import json
import multiprocessing
import os
import shutil
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from grader.authoring.examples import materialise
from tests.conftest import COURSE, uploads_in_turn
from tests.integration.test_service import (GIT_ENV, GRADER, FakeForge, Service, free_port, git,
                                            signed_push)

STEP = "01-numpy-basics"
CONTENTS = {"ref": COURSE / "solutions" / STEP, "starter": COURSE / "assignments" / STEP / "starter",
            "axis": materialise(COURSE, STEP, "means-wrong-axis"),
            "bias": materialise(COURSE, STEP, "bias-column-last")}
PUSHES = 200
SENDERS = 4
ACCEPT_LIMIT_MS = 100.0  # the service's own time from a delivery's arrival to its committed row
SENT_LIMIT_S = 1.0      # at the sender: a service that graded before answering takes seconds
SENDER_START_S = 3.0   # time for the sender processes to start before the burst


class LoadRig:
    """A course with one bare repository per student in CONTENTS, `per_student` commits in each, and
    `grader serve` (local sandbox, `workers` threads) plus a loopback forge for its statuses."""

    def __init__(self, root: Path, *, per_student: int, workers: int = 2, synchronous: str | None = None,
                 step: str = STEP, contents: dict[str, Path] | None = None, sandbox: str | None = None,
                 distinct: bool = False) -> None:
        self.root, self.per_student, self.distinct = root, per_student, distinct
        self.step, self.contents, self.sandbox = step, contents or CONTENTS, sandbox
        self.forge = FakeForge(free_port())
        self.service = Service(root, free_port())
        self.commits: dict[str, list[str]] = {}     # student -> pushed shas
        self.sent_at: dict[str, float] = {}         # sha -> when its delivery was sent (monotonic)
        self.answers: list[tuple[str, int, float]] = []   # (sha, HTTP status, seconds to the answer)
        self._write_course(workers, synchronous)

    def _write_course(self, workers: int, synchronous: str | None) -> None:
        (self.root / "roster.csv").write_text("student,name,repository\n" + "".join(
            f"{s},Student {s},course/{s}\n" for s in self.contents))
        extra = f'sqlite_synchronous = "{synchronous}"\n' if synchronous else ""
        extra += f'sandbox = "{self.sandbox}"\n' if self.sandbox else ""
        (self.root / "course.toml").write_text(textwrap.dedent(f"""\
            [service]
            forge = "github"
            clone_url = "file://{self.root}/git/{{repo}}.git"
            forge_api = "http://127.0.0.1:{self.forge.port}"
            public_url = "http://127.0.0.1:{self.service.port}"
            database = "sqlite:///service.db"
            roster = "roster.csv"
            workers = {workers}
            status_retry_seconds = 0.2
            status_retry_max_seconds = 1
            """) + extra + f'[assignments.{self.step}]\nbranch = "main"\n')

    def make_commits(self) -> None:
        """Each student's files in a first commit, then commits of the same tree (a new sha each)."""
        for student, source in self.contents.items():
            bare = self.root / "git" / "course" / f"{student}.git"
            work = self.root / "work" / student
            git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=self.root)
            git("init", "--quiet", "--initial-branch=main", str(work), cwd=self.root)
            for path in source.iterdir():
                shutil.copy(path, work / path.name)
            git("add", "-A", cwd=work)
            git("commit", "--quiet", "-m", "attempt 0", cwd=work)
            shas = [git("rev-parse", "HEAD", cwd=work)]
            tree = git("rev-parse", "HEAD^{tree}", cwd=work)
            for n in range(1, self.per_student):
                if self.distinct:  # a comment more in each: new content, so no push reuses a report
                    script = sorted(work.glob("*.py"))[0]
                    script.write_text(script.read_text() + f"\n# attempt {n}\n")
                    git("commit", "--quiet", "-am", f"attempt {n}", cwd=work)
                    shas.append(git("rev-parse", "HEAD", cwd=work))
                    continue
                shas.append(git("commit-tree", tree, "-p", shas[-1], "-m", f"attempt {n}", cwd=work))
            git("push", "--quiet", str(bare), f"{shas[-1]}:refs/heads/main", cwd=work)
            self.commits[student] = shas

    def start(self) -> None:
        self.forge.start()
        self.service.start()

    def stop(self) -> None:
        self.service.stop()
        self.forge.stop()

    def burst(self, senders: int = SENDERS, skip: int = 0) -> None:
        """Every commit's signed delivery (but each student's first `skip`), interleaved across students,
        from `senders` processes at once. Processes, not threads: a sender thread waiting for the GIL
        held by another sender would count its own wait as the service's answer time."""
        order = [(s, shas[n]) for n in range(skip, self.per_student) for s, shas in self.commits.items()]
        start_at = time.monotonic() + SENDER_START_S      # all senders begin together, once started
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(senders, mp_context=context) as pool:
            chunks = pool.map(send_chunk, [self.service.port] * senders, [order[n::senders] for n in range(senders)],
                              [start_at] * senders)
            for chunk in chunks:
                for sha, started, status, took in chunk:
                    self.sent_at[sha] = started
                    self.answers.append((sha, status, took))

    def feedback_seconds(self) -> dict[str, float]:
        """sha -> seconds from its delivery being sent to its commit status reaching the forge."""
        received = {c["path"].rsplit("/", 1)[1]: c["at"] for c in self.forge.calls if "at" in c}
        return {sha: received[sha] - self.sent_at[sha] for sha in self.sent_at if sha in received}

    def wait_statuses(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(self.feedback_seconds()) < len(self.sent_at):
            time.sleep(0.1)

    def wait_done(self, count: int, seconds: float) -> list[dict]:
        """Every job once `count` are done; fails with a summary (not the rows) when time runs out."""
        deadline = time.monotonic() + seconds
        while True:
            jobs = self.service.jobs()
            if len(jobs) >= count and all(j["state"] == "done" for j in jobs):
                return jobs
            if time.monotonic() > deadline:
                states = collections.Counter(j["state"] for j in jobs)
                pytest.fail(f"{len(jobs)} jobs, {dict(states)}, not all {count} done within {seconds} s; "
                            f"service log: {self.service.log}")
            time.sleep(0.5)


def send_chunk(port: int, pushes: list[tuple[str, str]], start_at: float) -> list[tuple[str, float, int, float]]:
    """In a sender process: each push's signed delivery in turn; (sha, sent at, status, seconds to answer).
    CLOCK_MONOTONIC is one clock for every process of the machine, so the times compare with the forge's."""
    time.sleep(max(0.0, start_at - time.monotonic()))
    answers = []
    for student, sha in pushes:
        body, headers = signed_push(f"course/{student}", sha)
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("POST", "/hooks/github", body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
        finally:
            connection.close()
        answers.append((sha, started, answer.status, time.monotonic() - started))
    return answers


def accept_ms(log: Path) -> dict[str, float]:
    """commit -> the service's own milliseconds from the delivery's arrival to its committed row (its log)."""
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return {e["commit"]: e["accept_ms"] for e in entries if e.get("message") == "push queued" and "accept_ms" in e}


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of `values`."""
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, max(0, int(round(share * len(ranked))) - 1))]


def cli_scores(rig: LoadRig, out: Path) -> dict[str, float]:
    """What `grader grade` gives each student's pushed content (one of the student's commits each)."""
    scores = {}
    for student, shas in rig.commits.items():
        source = f"file://{rig.root}/git/course/{student}.git#{shas[-1]}"
        subprocess.run([GRADER, "--course", str(COURSE), "grade", STEP, source, "--out", str(out / student),
                        "--sandbox", "local", "--force"], check=True, capture_output=True,
                       env={**os.environ, **GIT_ENV})
        [report] = (out / student).glob("*.json")
        scores[student] = json.loads(report.read_text())["score"]
    return scores


@pytest.mark.slow
def test_200_signed_pushes_are_each_accepted_in_100_ms_and_graded_exactly_once(tmp_path):
    rig = LoadRig(tmp_path, per_student=PUSHES // len(CONTENTS))
    rig.make_commits()
    rig.start()
    try:
        rig.burst()
        times = [took for _, _, took in rig.answers]
        print(f"\n{PUSHES} pushes from {SENDERS} processes: answers median {percentile(times, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(times, 0.99) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms as sent")
        assert sorted({status for _, status, _ in rig.answers}) == [202] and len(rig.answers) == PUSHES
        jobs = rig.wait_done(PUSHES, seconds=900)
        graded_s = time.monotonic() - min(rig.sent_at.values())
        rig.wait_statuses(60)
        print(f"all {PUSHES} graded {graded_s:.1f} s after the first push")
    finally:
        rig.stop()
    inside = accept_ms(rig.service.log)
    assert set(inside) == {sha for sha, _, _ in rig.answers}, "every push accepted, each logged with its time"
    slow = sorted((ms, sha[:12]) for sha, ms in inside.items() if ms >= ACCEPT_LIMIT_MS)
    assert not slow, f"{len(slow)} of {PUSHES} pushes took {ACCEPT_LIMIT_MS:g} ms or more from arrival to " \
                     f"their committed row in the service: {slow}"
    late = sorted((round(took * 1000), inside[sha]) for sha, _, took in rig.answers if took >= SENT_LIMIT_S)
    assert not late, f"{len(late)} of {PUSHES} answers took {SENT_LIMIT_S:g} s or more at the sender " \
                     f"(ms as sent, ms from arrival to commit in the service): {late}"
    expected = cli_scores(rig, tmp_path / "cli")
    assert sorted(expected.values()) == [0, 47, 49, 54]
    pushed = {sha: student for student, shas in rig.commits.items() for sha in shas}
    assert sorted(j["commit_sha"] for j in jobs) == sorted(pushed)      # each push one job, none lost or doubled
    wrong = [(j["id"], j["student"], j["result"], j["score"], j["attempts"]) for j in jobs
             if (j["student"], j["result"], j["score"], j["attempts"]) != (pushed[j["commit_sha"]], "graded",
                                                                          expected[pushed[j["commit_sha"]]], 1)]
    assert not wrong, f"jobs not graded exactly once with grader grade's score {expected}: {wrong[:10]}"
    posted = [c["path"].rsplit("/", 1)[1] for c in rig.forge.calls]
    assert sorted(posted) == sorted(pushed)                              # one status per commit
    feedback = list(rig.feedback_seconds().values())
    print(f"push to commit status: median {percentile(feedback, 0.5):.1f} s, max {max(feedback):.1f} s")


def test_gradings_run_niced_and_the_thread_answering_webhooks_does_not(tmp_path):
    """The worker threads, and the processes they start, yield the CPU to the HTTP thread (Linux)."""
    from grader.service.config import load_config
    from grader.service.store import Store
    from grader.service.worker import NICE, Worker

    (tmp_path / "roster.csv").write_text("student,name,repository\nalice,Alice,course/alice\n")
    (tmp_path / "course.toml").write_text(f'[service]\nclone_url = "file:///srv/git/{{repo}}.git"\n'
                                          f'roster = "roster.csv"\n[assignments.{STEP}]\nbranch = "main"\n')
    config = load_config(tmp_path / "course.toml", course=COURSE, environ={
        "GRADER_WEBHOOK_SECRET": "s" * 20, "GRADER_INSTRUCTOR_TOKEN": "t" * 20})
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    store.enqueue(delivery=None, student="alice", repository="upload:alice", assignment=STEP, commit="0" * 64,
                  branch=None, pusher="alice", late_seconds=0.0, upload=b"PK\x03\x04")
    seen: dict[str, int] = {}

    def grade(spec, source, *, sandbox, name, previous=None):   # where the grading would run: its thread and a child
        seen["thread"] = os.getpriority(os.PRIO_PROCESS, 0)
        seen["child"] = int(subprocess.run(["nice"], capture_output=True, text=True, check=True).stdout)
        return {"status": "graded", "score": 1.0, "max_score": 1.0}

    mine = os.getpriority(os.PRIO_PROCESS, 0)
    worker = Worker(config, store, grade)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while store.counts()["done"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert seen == {"thread": max(NICE, mine), "child": max(NICE, mine)}
    assert os.getpriority(os.PRIO_PROCESS, 0) == mine      # this thread (the HTTP one, in the service) unchanged


def _zip_of(folder: Path, out: Path) -> bytes:
    shutil.make_archive(str(out), "zip", folder)
    return out.with_suffix(".zip").read_bytes()


def test_a_commit_with_the_graded_files_of_the_students_last_report_reuses_its_verdict(tmp_path):
    """Same files as the student's last graded job: its report, no judge run; other files: graded anew."""
    from grader.service.config import load_config
    from grader.service.store import Store
    from grader.service.worker import Worker

    (tmp_path / "roster.csv").write_text("student,name,repository\nalice,Alice,course/alice\n")
    (tmp_path / "course.toml").write_text(f'[service]\nclone_url = "file:///srv/git/{{repo}}.git"\n'
                                          f'roster = "roster.csv"\nsandbox = "local"\n'
                                          f'[assignments.{STEP}]\nbranch = "main"\n')
    config = load_config(tmp_path / "course.toml", course=COURSE, environ={
        "GRADER_WEBHOOK_SECRET": "s" * 20, "GRADER_INSTRUCTOR_TOKEN": "t" * 20})
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    uploads = [_zip_of(CONTENTS["axis"], tmp_path / "a"), _zip_of(CONTENTS["axis"], tmp_path / "b"),
               _zip_of(CONTENTS["bias"], tmp_path / "c")]
    first, again, other = uploads_in_turn(Worker(config, store), store, STEP, uploads)
    assert (first["score"], other["score"]) == (49, 47)
    assert again == first                  # the very report: same timings, so no judge ran for it
    # graded anew, after: timings of its own (times are to the second, and a grading takes about one)
    assert other["timings"] != first["timings"] and other["timings"]["started"] >= first["timings"]["started"]
