"""The durable queue and gradebook store: one row per accepted push, in SQLite (WAL) or PostgreSQL.

A job is committed before the webhook is answered and moves `queued -> running -> done`; a service
that restarts (after a crash or SIGKILL) puts what was `running` back to `queued`, so every job ends
`done` with exactly one stored result. A delivery id, and the triple (repository, commit, assignment),
are unique: a redelivered event finds the row already there and adds nothing. The forge commit status
is an outbox on the same row (`status_state`: none, pending, sent, or failed when the forge refused it
for good), retried until delivered or refused. This
module never grades and never talks to the network.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from typing import Any, Iterator

from sqlalchemy import (Column, Float, Integer, LargeBinary, MetaData, String, Table, Text, UniqueConstraint,
                        create_engine, event, func, insert, select, update)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from grader.errors import SpecError

METADATA = MetaData()
JOBS = Table(
    "jobs", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("link", String(64), nullable=False, unique=True),     # the student's unguessable feedback link
    Column("student", String(200), nullable=False),
    Column("repository", String(300), nullable=False),   # `upload:<student>` for an uploaded archive
    Column("assignment", String(200), nullable=False),
    Column("commit_sha", String(64), nullable=False),   # for an upload: the archive's sha256
    Column("upload", LargeBinary),                       # the uploaded archive (None for a push)
    Column("branch", String(300)),
    Column("pusher", String(200)),
    Column("received_at", Float, nullable=False),
    Column("late_seconds", Float, nullable=False, default=0.0),
    Column("state", String(16), nullable=False, default="queued"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("result", String(32)),            # the report's status, or fetch_error when nothing was graded
    Column("score", Float),
    Column("max_score", Float),
    Column("report", Text),
    Column("error", Text),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("status_state", String(16), nullable=False, default="none"),
    Column("status_attempts", Integer, nullable=False, default=0),
    Column("status_error", Text),
    Column("status_next_at", Float),
    UniqueConstraint("repository", "commit_sha", "assignment", name="one_grade_per_commit"),
)
DELIVERIES = Table(
    "deliveries", METADATA,
    Column("delivery", String(200), primary_key=True),
    Column("job_id", Integer),
    Column("received_at", Float, nullable=False),
)


SYNCHRONOUS = ("normal", "full")


def make_engine(url: str, synchronous: str = "normal") -> Engine:
    """An engine for `url`; SQLite gets WAL, `synchronous` and a busy timeout.

    WAL with synchronous=NORMAL writes each commit into the WAL file before the 202 leaves, without an
    fsync: the write is in the operating system's page cache, so it survives the crash of the service
    itself (SIGKILL, the OOM killer, an exception), the fault this queue must survive and is tested
    against. Only a power cut or a kernel crash can lose the last commits (the forge keeps its recent
    deliveries, which can be redelivered). FULL also fsyncs the WAL on every commit, a disk flush in
    every webhook's answer (bench/service.py measures both): course.toml's `sqlite_synchronous = "full"`."""
    if not url.startswith("sqlite"):
        if url.startswith("postgresql://"):    # SQLAlchemy's default driver for it is psycopg2: use psycopg 3
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        try:
            return create_engine(url, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise SpecError(f"[service] database {url.split('://')[0]}://...: its driver is not installed "
                            f"({exc.name}); for PostgreSQL: pip install 'psycopg[binary]'") from None
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"sqlite synchronous mode {synchronous!r}: expected one of {', '.join(SYNCHRONOUS)}")
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


class Store:
    """Jobs and deliveries in one database; every method is one short transaction."""

    def __init__(self, url: str, *, synchronous: str = "normal") -> None:
        self.engine = make_engine(url, synchronous)
        # SQLite has one writer at a time. A writer that finds the lock taken sleeps in SQLite's busy
        # handler (steps of up to 100 ms), so a webhook's insert waiting on a worker's update would miss
        # its answer budget: this process's writers queue on a lock instead (each holds it a few ms).
        # PostgreSQL locks rows, not the database: no lock there.
        self.local = url.startswith("sqlite")      # a file on this machine, not a server over a socket
        self._one_writer = threading.Lock() if self.local else contextlib.nullcontext()
        METADATA.create_all(self.engine)

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction: committed on leaving, rolled back on an exception."""
        with self._one_writer, self.engine.begin() as db:
            yield db

    def enqueue(self, *, delivery: str | None, student: str, repository: str, assignment: str,
                commit: str, branch: str | None, pusher: str, late_seconds: float,
                upload: bytes | None = None) -> tuple[bool, int | None]:
        """(True, job id) for a new job; (False, existing id or None) for a redelivery or a repeat."""
        now = time.time()
        try:
            with self._write() as db:
                job = db.execute(insert(JOBS).values(
                    link=secrets.token_urlsafe(24), student=student, repository=repository.lower(),
                    assignment=assignment, commit_sha=commit, branch=branch, pusher=pusher, received_at=now,
                    late_seconds=late_seconds, state="queued", attempts=0, status_state="none",
                    status_attempts=0, upload=upload)).inserted_primary_key[0]
                if delivery is not None:
                    db.execute(insert(DELIVERIES).values(delivery=delivery, job_id=job, received_at=now))
                return True, job
        except IntegrityError:
            return False, self._existing(delivery, repository.lower(), commit, assignment)

    def _existing(self, delivery: str | None, repository: str, commit: str, assignment: str) -> int | None:
        with self.engine.connect() as db:
            row = db.execute(select(JOBS.c.id).where(JOBS.c.repository == repository, JOBS.c.commit_sha == commit,
                                                     JOBS.c.assignment == assignment)).first()
            if row is None and delivery is not None:
                row = db.execute(select(DELIVERIES.c.job_id).where(DELIVERIES.c.delivery == delivery)).first()
            return row[0] if row else None

    def requeue_running(self) -> int:
        """Put back jobs a dead service left `running`; how many."""
        with self._write() as db:
            return db.execute(update(JOBS).where(JOBS.c.state == "running").values(state="queued")).rowcount

    def claim(self) -> dict | None:
        """The oldest queued job, now `running` (None when there is none); safe with several workers."""
        while True:
            with self._write() as db:
                row = db.execute(select(JOBS).where(JOBS.c.state == "queued").order_by(JOBS.c.id).limit(1)).first()
                if row is None:
                    return None
                now = time.time()
                taken = db.execute(update(JOBS).where(JOBS.c.id == row.id, JOBS.c.state == "queued").values(
                    state="running", attempts=JOBS.c.attempts + 1, started_at=now)).rowcount
                if taken:
                    return {**row._mapping, "state": "running", "attempts": row.attempts + 1, "started_at": now}

    def finish(self, job_id: int, *, report: dict | None, error: str | None, post_status: bool,
               result: str = "fetch_error") -> None:
        """Store the job's result (a report, or `result` and the reason nothing was graded): `done`."""
        values: dict[str, Any] = {"state": "done", "finished_at": time.time(), "error": error,
                                  "status_state": "pending" if post_status else "none", "status_next_at": 0.0}
        if report is not None:
            values.update(result=report["status"], score=report["score"], max_score=report["max_score"],
                          report=json.dumps(report, allow_nan=False))
        else:
            values.update(result=result)
        with self._write() as db:
            db.execute(update(JOBS).where(JOBS.c.id == job_id, JOBS.c.state == "running").values(**values))

    def latest_report(self, student: str, assignment: str) -> dict | None:
        """The report of the student's latest graded job for `assignment` (None before the first)."""
        with self.engine.connect() as db:
            row = db.execute(select(JOBS.c.report).where(
                JOBS.c.student == student, JOBS.c.assignment == assignment, JOBS.c.state == "done",
                JOBS.c.report.is_not(None)).order_by(JOBS.c.id.desc()).limit(1)).first()
        return json.loads(row.report) if row else None

    def due_statuses(self, now: float) -> list[dict]:
        with self.engine.connect() as db:
            columns = [c for c in JOBS.c if c.name not in ("report", "upload")]
            rows = db.execute(select(*columns).where(JOBS.c.status_state == "pending", JOBS.c.status_next_at <= now)
                              .order_by(JOBS.c.id)).all()
        return [dict(r._mapping) for r in rows]

    def status_sent(self, job_id: int) -> None:
        with self._write() as db:
            db.execute(update(JOBS).where(JOBS.c.id == job_id).values(
                status_state="sent", status_error=None, status_attempts=JOBS.c.status_attempts + 1))

    def status_failed(self, job_id: int, error: str, retry_at: float) -> None:
        with self._write() as db:
            db.execute(update(JOBS).where(JOBS.c.id == job_id).values(
                status_error=error[:500], status_next_at=retry_at, status_attempts=JOBS.c.status_attempts + 1))

    def status_refused(self, job_id: int, error: str) -> None:
        """The forge will never take this status (its answer is kept): no more attempts."""
        with self._write() as db:
            db.execute(update(JOBS).where(JOBS.c.id == job_id).values(
                status_state="failed", status_error=error[:500], status_next_at=None,
                status_attempts=JOBS.c.status_attempts + 1))

    def retry_refused_statuses(self) -> int:
        """Put refused statuses back in the outbox (at a start: the token or forge_api may have been fixed)."""
        with self._write() as db:
            return db.execute(update(JOBS).where(JOBS.c.status_state == "failed").values(
                status_state="pending", status_next_at=0.0)).rowcount

    def job_by_link(self, link: str) -> dict | None:
        columns = [c for c in JOBS.c if c.name != "upload"]
        with self.engine.connect() as db:
            row = db.execute(select(*columns).where(JOBS.c.link == link)).first()
        return dict(row._mapping) if row else None

    def job(self, job_id: int) -> dict | None:
        columns = [c for c in JOBS.c if c.name != "upload"]
        with self.engine.connect() as db:
            row = db.execute(select(*columns).where(JOBS.c.id == job_id)).first()
        return dict(row._mapping) if row else None

    def jobs(self) -> list[dict]:
        """Every job without its report text and upload, oldest first."""
        columns = [c for c in JOBS.c if c.name not in ("report", "upload")]
        with self.engine.connect() as db:
            return [dict(r._mapping) for r in db.execute(select(*columns).order_by(JOBS.c.id)).all()]

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as db:
            rows = db.execute(select(JOBS.c.state, func.count()).group_by(JOBS.c.state)).all()
        return {"queued": 0, "running": 0, "done": 0, **{state: n for state, n in rows}}

    def close(self) -> None:
        self.engine.dispose()
