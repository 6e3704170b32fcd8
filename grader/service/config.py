"""Read `course.toml` and the roster CSV into one frozen `ServiceConfig`: the service's only settings.

Secrets (the webhook secret, the instructor's token, the forge token) are read from environment
variables the file names, never from the file itself. Unknown keys, a roster row without a repository,
an assignment the course does not have, or two assignments a push could mean are errors naming the
file and the key. This module never talks to the network or the database.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import SpecError
from grader.spec import find_assignment

FORGES = ("github", "gitlab", "gitea")
LATE_POLICIES = ("none", "percent_per_day", "cutoff")
SERVICE_KEYS = {"forge", "clone_url", "forge_api", "public_url", "database", "roster", "secret_env",
                "instructor_token_env", "forge_token_env", "sandbox", "workers", "max_body_kb",
                "pass_percent", "keep", "status_retry_seconds", "status_retry_max_seconds", "work_dir",
                "max_upload_kb", "sqlite_synchronous", "warm", "overrides"}
ROSTER_COLUMNS = ("student", "name", "repository")


@dataclass(frozen=True)
class Student:
    id: str
    name: str
    repository: str              # as the forge names it: owner/name (GitLab: the full path)
    assignment: str | None       # the one assignment this repository is for, when the roster says so


@dataclass(frozen=True)
class Deadline:
    assignment: str
    branch: str
    due: dt.datetime | None


@dataclass(frozen=True)
class LatePolicy:
    kind: str = "none"
    percent_per_day: float = 0.0

    def apply(self, score: float, late_seconds: float) -> float:
        """The score the gradebook counts for a push `late_seconds` after the deadline (report unchanged)."""
        if late_seconds <= 0 or self.kind == "none":
            return score
        if self.kind == "cutoff":
            return 0.0
        days = math.ceil(late_seconds / 86400)
        return score * max(0.0, 1 - self.percent_per_day / 100 * days)


@dataclass(frozen=True)
class ServiceConfig:
    course: Path
    source: Path                                   # the course.toml this came from
    forge: str
    clone_url: str
    secret: bytes = field(repr=False)
    instructor_token: str = field(repr=False)
    forge_token: str | None = field(repr=False)
    forge_api: str | None
    public_url: str
    database: str
    sandbox: str
    workers: int
    max_body_bytes: int
    max_upload_bytes: int
    pass_percent: float
    keep: str                                      # "best" or "last" score per student and assignment
    status_retry_seconds: float
    status_retry_max_seconds: float
    work_dir: Path
    roster: tuple[Student, ...]
    deadlines: dict[str, Deadline]
    late: LatePolicy
    sqlite_synchronous: str = "normal"             # "full": fsync every commit (see store.make_engine)
    warm: int = 0                                  # docker: warm containers per active step (sandbox.warm)
    overrides: Path | None = None                  # the instructor's overrides CSV (grader.interop.lms)

    def student_for(self, repository: str) -> list[Student]:
        """Roster rows for a repository (names compared case-insensitively, as the forges do)."""
        return [s for s in self.roster if s.repository.lower() == repository.lower()]

    def clone_url_for(self, student: Student) -> str:
        """Where the grader fetches from: the template and the roster, never the webhook payload."""
        return self.clone_url.format(repo=student.repository)

    def upload_token(self, student: Student) -> str:
        """The student's token for `POST /api/submissions`: derived from the webhook secret, never stored."""
        return hmac.new(self.secret, b"upload\0" + student.id.encode(), hashlib.sha256).hexdigest()[:40]

    def student_by_token(self, token: str) -> Student | None:
        """The roster student whose upload token this is (constant-time comparisons), or None."""
        found = None
        for student in self.roster:
            if hmac.compare_digest(token.encode(), self.upload_token(student).encode()):
                found = student
        return found

    def assignment_for(self, student: Student, branch: str) -> str | None:
        """The assignment a push of `branch` to this student's repository means, or None (not graded)."""
        found = [d.assignment for d in self.deadlines.values() if d.branch == branch
                 and student.assignment in (None, d.assignment)]
        return found[0] if len(found) == 1 else None


def load_config(path: Path, *, course: Path, environ: dict[str, str] | None = None) -> ServiceConfig:
    """The service settings in `path` (course.toml) for the course rooted at `course`."""
    environ = os.environ if environ is None else environ
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file (the grading service reads its settings from course.toml)")
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"service", "late", "assignments"}
    if unknown:
        raise SpecError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}")
    service = data.get("service", {})
    if unknown := set(service) - SERVICE_KEYS:
        raise SpecError(f"{path}: unknown key(s) in [service]: {', '.join(sorted(unknown))}")
    here = path.parent
    forge = _choice(service.get("forge", "github"), FORGES, f"{path}: [service] forge")
    deadlines = _deadlines(path, data.get("assignments", {}), course)
    roster = _roster(here / _required(service, "roster", path), deadlines)
    return ServiceConfig(
        course=course, source=path, forge=forge, clone_url=_clone_url(service, path),
        secret=_secret(environ, service.get("secret_env", "GRADER_WEBHOOK_SECRET"), path).encode(),
        instructor_token=_secret(environ, service.get("instructor_token_env", "GRADER_INSTRUCTOR_TOKEN"), path),
        forge_token=environ.get(service.get("forge_token_env", "GRADER_FORGE_TOKEN")) or None,
        forge_api=(service.get("forge_api") or None), public_url=service.get("public_url", "").rstrip("/"),
        database=_database(service.get("database", "sqlite:///grader-service.db"), here),
        sandbox=_choice(service.get("sandbox", "auto"), ("auto", "local", "docker"), f"{path}: [service] sandbox"),
        workers=int(service.get("workers", 1)), max_body_bytes=int(service.get("max_body_kb", 1024)) * 1024,
        max_upload_bytes=int(service.get("max_upload_kb", 10240)) * 1024,
        pass_percent=float(service.get("pass_percent", 60)),
        keep=_choice(service.get("keep", "best"), ("best", "last"), f"{path}: [service] keep"),
        status_retry_seconds=float(service.get("status_retry_seconds", 5)),
        status_retry_max_seconds=float(service.get("status_retry_max_seconds", 600)),
        work_dir=here / service.get("work_dir", "service-jobs"),
        roster=roster, deadlines=deadlines, late=_late(data.get("late", {}), path),
        sqlite_synchronous=_choice(service.get("sqlite_synchronous", "normal"), ("normal", "full"),
                                   f"{path}: [service] sqlite_synchronous"),
        warm=int(service.get("warm", service.get("workers", 1))),
        overrides=_overrides(here, service.get("overrides"), roster, deadlines, path))


def _overrides(here: Path, name: str | None, roster: tuple[Student, ...], deadlines: dict, path: Path) -> Path | None:
    """The overrides file, checked now (every row names a roster student and a configured assignment),
    so a typo stops the service at its start rather than hiding a grade; the gradebook reads it anew."""
    if not name:
        return None
    from grader.errors import GraderError
    from grader.interop.lms import load_overrides

    file = here / name
    try:
        rows = load_overrides(file)
    except GraderError as exc:
        raise SpecError(f"{path}: [service] overrides: {exc}") from None
    students = {s.id for s in roster}
    for row in rows:
        if row.student not in students or row.assignment not in deadlines:
            raise SpecError(f"{row.where}: no student {row.student!r} in the roster or no assignment "
                            f"{row.assignment!r} in {path}; check the spelling")
    return file


def _required(table: dict, key: str, path: Path) -> str:
    if not table.get(key):
        raise SpecError(f"{path}: [service] {key} is required")
    return table[key]


def _choice(value: str, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise SpecError(f"{where} is {value!r}; expected one of {', '.join(allowed)}")
    return value


def _clone_url(service: dict, path: Path) -> str:
    url = _required(service, "clone_url", path)
    if "{repo}" not in url:
        raise SpecError(f"{path}: [service] clone_url {url!r} must contain {{repo}}")
    return url


def _secret(environ: dict[str, str], name: str, path: Path) -> str:
    value = environ.get(name, "")
    if len(value) < 16:
        raise SpecError(f"{path}: environment variable {name} must hold a secret of at least 16 characters")
    return value


def _database(url: str, here: Path) -> str:
    """A relative SQLite path is relative to course.toml's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str((here / url[len(prefix):]).resolve())
    return url


def _deadlines(path: Path, table: dict, course: Path) -> dict[str, Deadline]:
    deadlines: dict[str, Deadline] = {}
    for name, entry in table.items():
        if unknown := set(entry) - {"branch", "deadline"}:
            raise SpecError(f"{path}: unknown key(s) in [assignments.{name}]: {', '.join(sorted(unknown))}")
        spec_id = find_assignment(course, name).id
        due = entry.get("deadline")
        if due is not None and (not isinstance(due, dt.datetime) or due.tzinfo is None):
            raise SpecError(f"{path}: [assignments.{name}] deadline must be a date-time with a UTC offset, "
                            "e.g. 2026-12-20T23:59:00Z")
        deadlines[spec_id] = Deadline(spec_id, entry.get("branch", "main"), due)
    if not deadlines:
        raise SpecError(f"{path}: no [assignments.<id>] table: the service would grade nothing")
    return deadlines


def _roster(path: Path, deadlines: dict[str, Deadline]) -> tuple[Student, ...]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise SpecError(f"{path}: roster not found") from None
    students = []
    for number, row in enumerate(rows, 2):
        if any(not (row.get(c) or "").strip() for c in ROSTER_COLUMNS):
            raise SpecError(f"{path}:{number}: columns {', '.join(ROSTER_COLUMNS)} are all required")
        assignment = (row.get("assignment") or "").strip() or None
        if assignment is not None and assignment not in deadlines:
            raise SpecError(f"{path}:{number}: assignment {assignment!r} has no [assignments] table")
        students.append(Student(row["student"].strip(), row["name"].strip(), row["repository"].strip(),
                                assignment))
    _check_unambiguous(path, students, deadlines)
    return tuple(students)


def _check_unambiguous(path: Path, students: list[Student], deadlines: dict[str, Deadline]) -> None:
    seen: dict[tuple[str, str | None], Student] = {}
    for student in students:
        key = (student.repository.lower(), student.assignment)
        if key in seen:
            raise SpecError(f"{path}: repository {student.repository} is listed twice "
                            f"({seen[key].id} and {student.id})")
        seen[key] = student
    branches = [d.branch for d in deadlines.values()]
    if any(s.assignment is None for s in students) and len(branches) != len(set(branches)):
        raise SpecError(f"{path}: two assignments share a branch, so a push to a repository without an "
                        "`assignment` column could mean either; give each a branch of its own")


def _late(table: dict, path: Path) -> LatePolicy:
    if unknown := set(table) - {"policy", "percent_per_day"}:
        raise SpecError(f"{path}: unknown key(s) in [late]: {', '.join(sorted(unknown))}")
    kind = _choice(table.get("policy", "none"), LATE_POLICIES, f"{path}: [late] policy")
    return LatePolicy(kind, float(table.get("percent_per_day", 0)))
