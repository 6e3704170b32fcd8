"""Webhook deliveries from GitHub, GitLab and Gitea: verify the signature, then read the push.

`verify` runs on the raw body before anything is parsed: GitHub's `X-Hub-Signature-256` and Gitea's
`X-Gitea-Signature` are HMAC-SHA256 of the body with the shared secret, GitLab's `X-Gitlab-Token` is
the secret itself; every comparison is constant-time (`hmac.compare_digest`). `read_event` turns a
verified body into a `Push` (or says it is a ping or something not graded). Nothing here trusts a URL
from the payload: the repository's name is all the service takes from it, and the clone URL comes
from the course's roster. This module never touches the database or the network.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Mapping

ZERO_SHA = "0" * 40
DELIVERY_MAX = 200   # the delivery id column's width; forges send UUIDs


class HookRefused(Exception):
    """A delivery the service answers with `status` and stores nothing for."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Push:
    repository: str
    commit: str
    branch: str | None           # None for a tag or any other ref
    pusher: str
    delivery: str | None
    pushed_at: str | None        # as the forge wrote it (informative; lateness uses the receipt time)


@dataclass(frozen=True)
class Ignored:
    """A verified delivery that asks for no grading: a ping, a deleted branch, another event."""
    reason: str


def verify(forge: str, headers: Mapping[str, str], body: bytes, secret: bytes) -> None:
    """Raise HookRefused(401) unless the delivery carries the right signature or token for `forge`."""
    if forge == "gitlab":
        token = headers.get("x-gitlab-token", "")
        if not token or not hmac.compare_digest(token.encode(), secret):
            raise HookRefused(401, "X-Gitlab-Token missing or wrong")
        return
    header = "x-hub-signature-256" if forge == "github" else "x-gitea-signature"
    given = headers.get(header, "")
    if forge == "github":
        if not given.startswith("sha256="):
            raise HookRefused(401, "X-Hub-Signature-256 missing or not sha256=<hex>")
        given = given[len("sha256="):]
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not given or not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise HookRefused(401, f"{header} does not match the body")


def read_event(forge: str, headers: Mapping[str, str], body: bytes) -> Push | Ignored:
    """The push a verified delivery announces, or why it needs no grading."""
    event = headers.get({"github": "x-github-event", "gitlab": "x-gitlab-event",
                         "gitea": "x-gitea-event"}[forge], "")
    if event == "ping":
        return Ignored("ping")
    if event not in ("push", "Push Hook"):
        return Ignored(f"event {event or '(none)'} is not graded")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HookRefused(400, f"the push payload is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise HookRefused(400, "the push payload is not a JSON object")
    return _gitlab_push(payload, headers) if forge == "gitlab" else _github_push(payload, headers, forge)


def _github_push(payload: dict, headers: Mapping[str, str], forge: str) -> Push | Ignored:
    """GitHub's documented push payload; Gitea sends the same fields."""
    repository = _string(payload.get("repository", {}), "full_name")
    commit = _string(payload, "after")
    if payload.get("deleted") or commit == ZERO_SHA:
        return Ignored("a deleted branch")
    pusher = payload.get("pusher") or {}
    head = payload.get("head_commit") or {}
    delivery = headers.get("x-github-delivery" if forge == "github" else "x-gitea-delivery")
    return Push(repository, _sha(commit), _branch(_string(payload, "ref")),
                str(pusher.get("name") or pusher.get("login") or pusher.get("username") or "")[:200],
                (delivery or "")[:DELIVERY_MAX] or None, head.get("timestamp") if isinstance(head, dict) else None)


def _gitlab_push(payload: dict, headers: Mapping[str, str]) -> Push | Ignored:
    """GitLab's push event: project.path_with_namespace, after (checkout_sha), ref, user_username."""
    commit = str(payload.get("checkout_sha") or payload.get("after") or "")
    if not commit or commit == ZERO_SHA:
        return Ignored("a deleted branch")
    delivery = headers.get("x-gitlab-event-uuid") or headers.get("idempotency-key")
    return Push(_string(payload.get("project", {}), "path_with_namespace"), _sha(commit),
                _branch(_string(payload, "ref")), str(payload.get("user_username") or "")[:200],
                (delivery or "")[:DELIVERY_MAX] or None, None)


def _string(table: object, key: str) -> str:
    value = table.get(key) if isinstance(table, dict) else None
    if not isinstance(value, str) or not value:
        raise HookRefused(400, f"the push payload has no {key}")
    return value


def _sha(commit: str) -> str:
    if len(commit) not in (40, 64) or any(c not in "0123456789abcdef" for c in commit):
        raise HookRefused(400, f"the push payload's commit {commit[:80]!r} is not a full hex sha")
    return commit


def _branch(ref: str) -> str | None:
    prefix = "refs/heads/"
    return ref[len(prefix):] if ref.startswith(prefix) else None
