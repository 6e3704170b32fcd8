"""Tell the forge how a commit was graded: one commit status per job, as each forge documents it.

GitHub: `POST {api}/repos/{owner}/{repo}/statuses/{sha}` with state (success|failure|error|pending),
target_url, description (at most 140 characters) and context, `Authorization: Bearer`. Gitea: the same
path and fields, `Authorization: token`. GitLab: `POST {api}/projects/{url-encoded path}/statuses/{sha}`
with state (success|failed|...), name, target_url and description, `PRIVATE-TOKEN`. `StatusPoster` is
the outbox's consumer: it retries a forge that cannot be reached, or answers 5xx, 408 or 429, with
capped exponential backoff and never drops a pending status. Any other answer that is not a success (a
4xx: bad token, unknown repository, a body the forge will not take; or a redirect, which a POST must not
follow) will be the same answer next time: the status is marked `failed` with the forge's reason, logged
and shown to the instructor, and not retried until the service is started again (after the instructor
fixed the token or `forge_api`), when each is tried once more. This module never changes a grade.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from grader.service.config import ServiceConfig
from grader.service.store import Store

LOG = logging.getLogger("grader.service")
POST_SECONDS = 10
DESCRIPTION_MAX = 140
RETRIED_CODES = (408, 429)   # the 4xx answers that mean "later", not "never"
REASON_BYTES = 300           # of the forge's error body kept as the reason


class StatusRefused(Exception):
    """The forge answered in a way retrying cannot change (a 4xx other than 408/429, or a redirect)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib would turn a redirected POST into a GET (and count its 200 as delivered): refuse instead."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


OPENER = urllib.request.build_opener(_NoRedirects)


def outcome(job: dict, pass_percent: float) -> tuple[str, str]:
    """(state in GitHub's words, description) for a finished job."""
    if job["result"] == "fetch_error":
        return "error", "not graded: the commit could not be fetched from the course's copy"
    if job["score"] is None:
        return "error", f"not graded ({job['result'].replace('_', ' ')}); the instructor has been told"
    share = 100 * job["score"] / job["max_score"] if job["max_score"] else 0.0
    late = " (late)" if job["late_seconds"] > 0 else ""
    text = f"{job['score']:g}/{job['max_score']:g} points{late}"
    return ("success" if share >= pass_percent else "failure"), text[:DESCRIPTION_MAX]


def status_request(config: ServiceConfig, job: dict) -> urllib.request.Request:
    """The HTTP request that posts `job`'s commit status to the configured forge."""
    state, description = outcome(job, config.pass_percent)
    link = f"{config.public_url}/feedback/{job['link']}"
    context = f"dl-grader/{job['assignment']}"
    api = (config.forge_api or "").rstrip("/")
    if config.forge == "gitlab":
        project = urllib.parse.quote(job["repository"], safe="")
        url = f"{api}/projects/{project}/statuses/{job['commit_sha']}"
        body = {"state": {"failure": "failed", "error": "failed"}.get(state, state), "name": context,
                "target_url": link, "description": description}
        auth = {"PRIVATE-TOKEN": config.forge_token or ""}
    else:
        url = f"{api}/repos/{job['repository']}/statuses/{job['commit_sha']}"
        body = {"state": state, "target_url": link, "description": description, "context": context}
        scheme = "Bearer" if config.forge == "github" else "token"
        auth = {"Authorization": f"{scheme} {config.forge_token}"} if config.forge_token else {}
    headers = {"Content-Type": "application/json", "Accept": "application/vnd.github+json",
               "User-Agent": "dl-grader-service", **auth}
    if config.forge == "github":
        headers["X-GitHub-Api-Version"] = "2022-11-28"
    return urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")


def post_status(config: ServiceConfig, job: dict) -> None:
    """Send one status. Raises StatusRefused when the forge will never take it, OSError (URLError, a 5xx,
    408 or 429 HTTPError, a timeout) when it may later."""
    try:
        with OPENER.open(status_request(config, job), timeout=POST_SECONDS) as answer:
            answer.read()
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code in RETRIED_CODES:
            raise
        raise StatusRefused(_refusal(exc)) from None


def _refusal(exc: urllib.error.HTTPError) -> str:
    """`HTTP 401 Unauthorized: {"message": "Bad credentials"}`: the code and what the forge said."""
    try:
        said = exc.read(REASON_BYTES).decode("utf-8", "replace").strip()
    except OSError:
        said = ""
    where = f" (redirected to {exc.headers.get('Location')})" if 300 <= exc.code < 400 else ""
    return f"HTTP {exc.code} {exc.reason}{where}" + (f": {said}" if said else "")


def backoff(config: ServiceConfig, attempts: int) -> float:
    """Seconds before retry number `attempts` (1, 2, ...): doubling from the first delay, capped."""
    return min(config.status_retry_max_seconds, config.status_retry_seconds * 2 ** max(0, attempts - 1))


def retry_delay(config: ServiceConfig, attempts: int, exc: Exception) -> float:
    """The backoff, or longer when a 429/503 says `Retry-After: seconds`; never past the cap."""
    delay = backoff(config, attempts)
    asked = exc.headers.get("Retry-After", "") if isinstance(exc, urllib.error.HTTPError) and exc.headers else ""
    if asked.strip().isdigit():
        delay = max(delay, float(asked))
    return min(config.status_retry_max_seconds, delay)


class StatusPoster:
    """A thread that drains the status outbox: due statuses are posted, failures rescheduled."""

    def __init__(self, config: ServiceConfig, store: Store, *, poll_seconds: float = 0.5) -> None:
        self.config, self.store, self.poll_seconds = config, store, poll_seconds
        self.stopping = threading.Event()
        self.nudged = threading.Event()  # set by the worker when a job finished: post now, not at the next poll
        self.thread = threading.Thread(target=self._loop, name="status-poster", daemon=True)

    def start(self) -> None:
        """Start draining; statuses the forge refused before are tried once more (see the module doc)."""
        retried = self.store.retry_refused_statuses()
        if retried:
            LOG.info("refused commit statuses tried again at start", extra={"fields": {"jobs": retried}})
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.nudged.set()
        self.thread.join(timeout=POST_SECONDS + 5)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.nudged.wait(self.poll_seconds)
            self.nudged.clear()
            if self.stopping.is_set():
                return
            try:
                self.post_due()
            except Exception:  # the database hiccuped: log and try again on the next round
                LOG.exception("status outbox round failed")

    def post_due(self) -> None:
        for job in self.store.due_statuses(time.time()):
            if self.stopping.is_set():
                return
            try:
                post_status(self.config, job)
            except StatusRefused as exc:
                self.store.status_refused(job["id"], str(exc))
                LOG.error("commit status refused by the forge; not retried", extra={"fields": {
                    "job": job["id"], "repository": job["repository"], "commit": job["commit_sha"],
                    "error": str(exc)}})
            except (OSError, ValueError) as exc:
                delay = retry_delay(self.config, job["status_attempts"] + 1, exc)
                self.store.status_failed(job["id"], f"{type(exc).__name__}: {exc}", time.time() + delay)
                LOG.warning("commit status not delivered", extra={"fields": {
                    "job": job["id"], "error": str(exc), "retry_in_s": delay}})
            else:
                self.store.status_sent(job["id"])
                LOG.info("commit status delivered", extra={"fields": {"job": job["id"]}})
