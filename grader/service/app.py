"""The grading service's HTTP face: webhooks in, feedback pages and the gradebook out (Starlette).

Why Starlette: the webhook must be verified over the raw body bytes before anything parses them, and
the pages are a few server-rendered Jinja2 templates. Starlette gives exactly that (raw request
streams, plain responses, a lifespan to start the worker threads) with two small dependencies;
FastAPI would add pydantic and an OpenAPI layer this service has no use for.

Routes: `POST /hooks/{github|gitlab|gitea}` (only the configured forge; 401 for a bad signature, 413
over the size cap, 403 for a repository not on the roster, 200 for a ping, an ungraded branch or a
redelivery, 202 once the job row is committed), `GET /feedback/{link}` (the student's copy of the
report behind an unguessable link), `GET /gradebook`, `/gradebook.csv`, `/gradebook/jobs/{id}`,
`/gradebook/nbgrader.db?assignment=ID` (and `.zip`: with the autograded notebooks formgrader opens),
`/api/jobs`, `/api/tokens` (instructor token: `Authorization: Bearer`, or the cookie `/login` sets),
`POST /api/submissions?assignment=ID` (a zip with a student's upload token), `GET /healthz`.
This module never grades and never trusts a URL or a student name from a payload.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import AsyncIterator

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from grader.report.views.html import to_html
from grader.service import hooks
from grader.service.config import ServiceConfig
from grader.service.forge import StatusPoster
from grader.service.gradebook import gradebook, max_points, nbgrader_course, nbgrader_zip, to_csv
from grader.service.store import Store
from grader.service.worker import GradeFunction, Worker

LOG = logging.getLogger("grader.service")
TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                        autoescape=select_autoescape(["html"]))
COOKIE = "grader_instructor"
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
                "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex", "Cache-Control": "no-store"}


class Service:
    """The routes, bound to one config, store, worker and status poster."""

    def __init__(self, config: ServiceConfig, store: Store, worker: Worker, poster: StatusPoster) -> None:
        self.config, self.store, self.worker, self.poster = config, store, worker, poster

    async def hook(self, request: Request) -> Response:
        started = time.perf_counter()
        forge = request.path_params["forge"]
        if forge != self.config.forge:
            return JSONResponse({"error": f"this course's forge is {self.config.forge}"}, status_code=404)
        try:
            body = await _read_capped(request, self.config.max_body_bytes)
            hooks.verify(forge, request.headers, body, self.config.secret)
            event = hooks.read_event(forge, request.headers, body)
            if isinstance(event, hooks.Ignored):
                return JSONResponse({"ignored": event.reason})
            return await self._accept(event, started)
        except hooks.HookRefused as exc:
            LOG.warning("webhook refused", extra={"fields": {
                "status": exc.status, "reason": str(exc), "client": request.client and request.client.host}})
            return JSONResponse({"error": str(exc)}, status_code=exc.status)

    async def _accept(self, push: hooks.Push, started: float) -> Response:
        rows = self.config.student_for(push.repository)
        if not rows:
            raise hooks.HookRefused(403, f"repository {push.repository} is not on the course roster")
        chosen = [(s, a) for s in rows if push.branch and (a := self.config.assignment_for(s, push.branch))]
        if not chosen:
            return JSONResponse({"ignored": f"branch {push.branch or '(not a branch)'} of {push.repository} "
                                            "is not graded"})
        student, assignment = chosen[0]
        due = self.config.deadlines[assignment].due
        late = max(0.0, time.time() - due.timestamp()) if due else 0.0
        row = dict(delivery=push.delivery, student=student.id, repository=student.repository,
                   assignment=assignment, commit=push.commit, branch=push.branch, pusher=push.pusher,
                   late_seconds=late)
        # The row is committed before the answer. SQLite's insert is a local write of well under a
        # millisecond, done right here: a hop to the thread pool and back costs two thread wake-ups,
        # which on a machine busy grading are the slowest part of the answer. A database over the
        # network is waited for in the pool, so that the event loop never waits on a socket.
        new, job = self.store.enqueue(**row) if self.store.local else await run_in_threadpool(
            self.store.enqueue, **row)
        fields = {"job": job, "student": student.id, "assignment": assignment, "commit": push.commit,
                  "delivery": push.delivery, "late_s": round(late),
                  "accept_ms": round((time.perf_counter() - started) * 1000, 2)}
        if not new:
            LOG.info("redelivery ignored", extra={"fields": fields})
            return JSONResponse({"duplicate": True, "job": job})
        self.worker.wake.set()
        LOG.info("push queued", extra={"fields": fields})
        return JSONResponse({"queued": True, "job": job}, status_code=202)

    async def upload(self, request: Request) -> Response:
        """`POST /api/submissions?assignment=ID`: a zip with the student's token, for courses without git."""
        bearer = request.headers.get("authorization", "")
        student = self.config.student_by_token(bearer[7:]) if bearer.startswith("Bearer ") else None
        if student is None:
            return JSONResponse({"error": "a student's upload token is required (Authorization: Bearer)"},
                                status_code=401)
        assignment = request.query_params.get("assignment", "")
        if assignment not in self.config.deadlines:
            return JSONResponse({"error": f"assignment {assignment!r} is not graded here; known: "
                                          f"{', '.join(sorted(self.config.deadlines))}"}, status_code=404)
        try:
            body = await _read_capped(request, self.config.max_upload_bytes)
        except hooks.HookRefused as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        if not body.startswith(b"PK\x03\x04"):
            return JSONResponse({"error": "the body must be a .zip archive"}, status_code=400)
        due = self.config.deadlines[assignment].due
        new, job = await run_in_threadpool(
            self.store.enqueue, delivery=None, student=student.id, repository=f"upload:{student.id}",
            assignment=assignment, commit=hashlib.sha256(body).hexdigest(), branch=None, pusher=student.id,
            late_seconds=max(0.0, time.time() - due.timestamp()) if due else 0.0, upload=body)
        record = await run_in_threadpool(self.store.job, job) if job else None
        answer = {"job": job, "feedback": f"{self.config.public_url}/feedback/{record['link']}" if record else None}
        if not new:
            return JSONResponse({"duplicate": True, **answer})
        self.worker.wake.set()
        LOG.info("upload queued", extra={"fields": {"job": job, "student": student.id, "assignment": assignment,
                                                    "bytes": len(body)}})
        return JSONResponse({"queued": True, **answer}, status_code=202)

    async def tokens(self, request: Request) -> Response:
        """The instructor's list of each student's upload token (CSV)."""
        if not self._instructor(request):
            return PlainTextResponse("instructor token required", status_code=401)
        rows = "".join(f"{s.id},{self.config.upload_token(s)}\n" for s in self.config.roster)
        return PlainTextResponse("student,upload_token\n" + rows, media_type="text/csv")

    async def feedback(self, request: Request) -> Response:
        job = await run_in_threadpool(self.store.job_by_link, request.path_params["link"])
        if job is None:
            return PlainTextResponse("no such feedback page", status_code=404)
        if job["report"] is None:
            page = TEMPLATES.get_template("pending.html").render(job=job, when=_when)
            return HTMLResponse(page, headers=PAGE_HEADERS)
        return HTMLResponse(to_html(json.loads(job["report"]), show_hidden=False), headers=PAGE_HEADERS)

    async def login(self, request: Request) -> Response:
        token = request.query_params.get("token", "")
        if request.method == "POST":   # an urlencoded form, read here (no multipart parser needed)
            form = urllib.parse.parse_qs((await _read_capped(request, 4096)).decode("utf-8", "replace"))
            token = form.get("token", [""])[0]
        if token and hmac.compare_digest(token.encode(), self.config.instructor_token.encode()):
            answer = RedirectResponse("/gradebook", status_code=303)
            answer.set_cookie(COOKIE, self._session(), httponly=True, samesite="lax",
                              secure=self.config.public_url.startswith("https://"))
            return answer
        page = TEMPLATES.get_template("login.html").render(failed=bool(token))
        return HTMLResponse(page, status_code=401 if token else 200, headers=PAGE_HEADERS)

    def _session(self) -> str:
        return hmac.new(self.config.instructor_token.encode(), b"gradebook-session", hashlib.sha256).hexdigest()

    def _instructor(self, request: Request) -> bool:
        bearer = request.headers.get("authorization", "")
        if bearer.startswith("Bearer ") and hmac.compare_digest(
                bearer[7:].encode(), self.config.instructor_token.encode()):
            return True
        return hmac.compare_digest(request.cookies.get(COOKIE, "").encode(), self._session().encode())

    async def gradebook_page(self, request: Request) -> Response:
        if not self._instructor(request):
            return RedirectResponse("/login", status_code=303)
        jobs = await run_in_threadpool(self.store.jobs)
        page = TEMPLATES.get_template("gradebook.html").render(
            table=gradebook(self.config, jobs), assignments=sorted(self.config.deadlines),
            tops=max_points(jobs), names={s.id: s.name for s in self.config.roster}, jobs=jobs[::-1],
            config=self.config, when=_when)
        return HTMLResponse(page, headers=PAGE_HEADERS)

    async def gradebook_csv(self, request: Request) -> Response:
        if not self._instructor(request):
            return PlainTextResponse("instructor token required", status_code=401)
        jobs = await run_in_threadpool(self.store.jobs)
        return Response(to_csv(self.config, jobs), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="gradebook.csv"'})

    async def instructor_report(self, request: Request) -> Response:
        if not self._instructor(request):
            return RedirectResponse("/login", status_code=303)
        job = await run_in_threadpool(self.store.job, int(request.path_params["job"]))
        if job is None or job["report"] is None:
            return PlainTextResponse("no report for this job (yet)", status_code=404)
        return HTMLResponse(to_html(json.loads(job["report"]), show_hidden=True), headers=PAGE_HEADERS)

    async def nbgrader_export(self, request: Request) -> Response:
        """`/gradebook/nbgrader.db?assignment=ID`: the counted report of each student in a new nbgrader
        gradebook (SQLite); `/gradebook/nbgrader.zip?assignment=ID`: that gradebook with the autograded
        notebooks formgrader opens (grader.service.gradebook.nbgrader_course)."""
        if not self._instructor(request):
            return PlainTextResponse("instructor token required", status_code=401)
        assignment = request.query_params.get("assignment", "")
        if assignment not in self.config.deadlines:
            return PlainTextResponse(f"no assignment {assignment!r} here", status_code=404)
        as_zip = request.url.path.endswith(".zip")
        data = await run_in_threadpool(self._nbgrader_bytes, assignment, as_zip)
        kind, name = ("application/zip", "nbgrader.zip") if as_zip else ("application/vnd.sqlite3", "gradebook.db")
        return Response(data, media_type=kind,
                        headers={"Content-Disposition": f'attachment; filename="{assignment}-{name}"'})

    def _nbgrader_bytes(self, assignment: str, as_zip: bool) -> bytes:
        def report_of(job: int) -> dict:
            return json.loads(self.store.job(job)["report"])

        jobs = self.store.jobs()
        if as_zip:
            return nbgrader_zip(self.config, jobs, assignment, report_of)
        with tempfile.TemporaryDirectory(prefix="grader-nbgrader-") as tmp:
            nbgrader_course(self.config, jobs, assignment, report_of, Path(tmp))
            return (Path(tmp) / "gradebook.db").read_bytes()

    async def api_jobs(self, request: Request) -> Response:
        if not self._instructor(request):
            return JSONResponse({"error": "instructor token required"}, status_code=401)
        return JSONResponse(await run_in_threadpool(self.store.jobs))

    async def healthz(self, request: Request) -> Response:
        try:
            counts = await run_in_threadpool(self.store.counts)
        except Exception as exc:  # the database is what health means here
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=503)
        alive = all(t.is_alive() for t in self.worker.threads) and self.poster.thread.is_alive()
        return JSONResponse({"ok": alive, "workers_alive": alive, **counts}, status_code=200 if alive else 503)


async def _read_capped(request: Request, cap: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed `cap` bytes."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap:
        raise hooks.HookRefused(413, f"body of {int(length)} bytes is over the limit of {cap} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise hooks.HookRefused(413, f"body is over the limit of {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _when(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def create_app(config: ServiceConfig, store: Store | None = None, grade: GradeFunction | None = None
               ) -> Starlette:
    """The ASGI app; its lifespan starts the grading worker and the status poster and stops them.

    `grade` is where grading runs (default `grader.pipeline.grade.grade` here; a cluster executor's `grade`)."""
    store = store or Store(config.database, synchronous=config.sqlite_synchronous)
    worker = Worker(config, store, grade) if grade else Worker(config, store)
    service = Service(config, store, worker, StatusPoster(config, store))
    worker.finished = service.poster.nudged.set

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.worker.start()
        service.poster.start()
        LOG.info("service started", extra={"fields": {"forge": config.forge, "students": len(config.roster),
                                                      "assignments": sorted(config.deadlines)}})
        yield
        service.worker.stop()
        service.poster.stop()

    return Starlette(routes=[
        Route("/hooks/{forge}", service.hook, methods=["POST"]),
        Route("/feedback/{link}", service.feedback),
        Route("/login", service.login, methods=["GET", "POST"]),
        Route("/gradebook", service.gradebook_page),
        Route("/gradebook.csv", service.gradebook_csv),
        Route("/gradebook/jobs/{job:int}", service.instructor_report),
        Route("/gradebook/nbgrader.db", service.nbgrader_export),
        Route("/gradebook/nbgrader.zip", service.nbgrader_export),
        Route("/api/jobs", service.api_jobs),
        Route("/api/submissions", service.upload, methods=["POST"]),
        Route("/api/tokens", service.tokens),
        Route("/healthz", service.healthz),
    ], lifespan=lifespan)
