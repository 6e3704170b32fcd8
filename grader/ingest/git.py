"""Fetch a git repository submitted as data: one commit's files, none of the repository's code run.

A source is a git repository when it is a URL (https://, ssh://, git@, file://), a path ending in .git,
or a folder holding .git; `URL#REF` names a branch, tag or commit. The fetch is shallow (depth 1), with
no hooks (core.hooksPath=/dev/null, an empty template), no submodules, no LFS smudge, no system or
global git configuration, and no prompts. It must never run anything from the repository (hooks,
filters, Makefile, workflows) and never leave the clone behind.

The clone costs the host bounded disk and time: git runs under a watch that kills it once the clone's
folder passes its size cap or GIT_SECONDS pass, and before anything is checked out the fetched tree is
listed (`git ls-tree -l`, sizes from the object headers, nothing written) and refused when it holds
more entries or bytes than the caller allows, so a small repository that would check out gigabytes
is refused without writing them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

from grader import jobdirs
from grader.errors import SubmissionError

URL_PREFIXES = ("https://", "http://", "ssh://", "git@", "file://")
GIT_SECONDS = 120
# What the fetched pack may take on disk, beyond the caller's byte cap, before git is stopped.
PACK_SLACK_BYTES = 32 << 20
WATCH_INTERVAL = 0.05
SAFE_CONFIG = ["-c", "core.hooksPath=/dev/null", "-c", "core.symlinks=false", "-c", "protocol.file.allow=always",
               "-c", "submodule.recurse=false", "-c", "core.fsmonitor=false", "-c", "advice.detachedHead=false"]


def split_ref(source: Path | str) -> tuple[str, str | None]:
    """(where, ref) from `where#ref`; a Path has folded `https://` to `https:/`, which is undone here."""
    text = str(source)
    for prefix in ("https:/", "http:/", "ssh:/", "file:/"):
        # `grader grade` resolves its arguments: a URL may arrive as /cwd/https:/host/repo.git
        at = text.find(prefix)
        if at >= 0 and (at == 0 or text[at - 1] == "/"):
            rest = text[at + len(prefix):].lstrip("/")
            text = prefix + "/" + rest if prefix != "file:/" else "file:///" + rest
            break
    where, _, ref = text.partition("#")
    return where, ref or None


def is_git_source(source: Path | str) -> bool:
    where, _ = split_ref(source)
    if where.startswith(URL_PREFIXES) or where.endswith(".git"):
        return True
    return Path(where).is_dir() and (Path(where) / ".git").exists()


def read_repository(source: Path | str, read_dir: Callable[[Path], dict[str, bytes]], *,
                    max_files: int = 2000, max_bytes: int = 64 << 20) -> dict[str, bytes]:
    """The files of the fetched commit, read by `read_dir` (the caller's caps and checks apply).

    The commit may hold at most `max_files` entries and `max_bytes` bytes, checked before checkout."""
    where, ref = split_ref(source)
    if not where.startswith(URL_PREFIXES):
        where = str(Path(where).resolve())
    scratch = jobdirs.make_job_dir("grader-git-")
    try:
        checkout = fetch(where, ref, scratch, max_files=max_files, max_bytes=max_bytes)
        return read_dir(checkout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def fetch(where: str, ref: str | None, scratch: Path, *, max_files: int = 2000,
          max_bytes: int = 64 << 20) -> Path:
    """A worktree of `ref` (default: the remote's HEAD) of `where`, inside `scratch`."""
    repo = scratch / "repo"
    empty_template = scratch / "template"
    empty_template.mkdir()
    env = _environment(scratch, empty_template)
    deadline = time.monotonic() + GIT_SECONDS
    watch = _Watch(scratch, max_bytes + PACK_SLACK_BYTES, deadline, where)
    watch.run(["init", "--quiet", f"--template={empty_template}", str(repo)], env)
    watch.run(["-C", str(repo), "fetch", "--quiet", "--depth", "1", "--no-tags", "--no-recurse-submodules",
               where, ref or "HEAD"], env)
    _check_tree(repo, env, where, max_files, max_bytes)
    watch.limit = watch.used() + max_bytes + (1 << 20)  # the checkout adds at most the tree's bytes
    watch.run(["-C", str(repo), "checkout", "--quiet", "--detach", "FETCH_HEAD"], env)
    return repo


def _check_tree(repo: Path, env: dict[str, str], where: str, max_files: int, max_bytes: int) -> None:
    """Count and size the fetched commit's entries from git's object headers, writing nothing."""
    proc = subprocess.Popen(["git", *SAFE_CONFIG, "-C", str(repo), "ls-tree", "-r", "-l", "-z", "--full-tree",
                             "FETCH_HEAD"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    count, total, problem = 0, 0, None
    try:
        for record in _records(proc.stdout):
            count += 1
            size = record.split(b"\t", 1)[0].split()[-1]
            total += int(size) if size.isdigit() else 0
            if count > max_files:
                problem = f"the commit holds more than {max_files} files; submit only your code"
            elif total > max_bytes:
                problem = (f"the commit's files add up to more than {max_bytes >> 20} MB; "
                           "submit only your code")
            if problem:
                break
    finally:
        _stop(proc)
    if problem:
        raise SubmissionError(f"{where}: {problem}")
    if proc.returncode not in (0, -signal.SIGKILL):
        raise SubmissionError(f"{where}: cannot list the fetched commit (git exit code {proc.returncode})")


def _records(stream) -> Iterator[bytes]:  # noqa: ANN001 (a binary pipe)
    pending = b""
    for chunk in iter(lambda: stream.read1(65536), b""):
        pending += chunk
        *done, pending = pending.split(b"\0")
        yield from done
    if pending:
        yield pending


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    if proc.stdout:
        proc.stdout.close()


class _Watch:
    """Runs git commands one at a time, killing each once `folder` passes `limit` bytes or the deadline."""

    def __init__(self, folder: Path, limit: int, deadline: float, where: str) -> None:
        self.folder, self.limit, self.deadline, self.where = folder, limit, deadline, where

    def used(self) -> int:
        total = 0
        for root, _dirs, files in os.walk(self.folder):
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_blocks * 512
                except OSError:
                    pass
        return total

    def run(self, args: list[str], env: dict[str, str]) -> None:
        with open(self.folder / "git-messages.log", "w+b") as log:  # inside the watched folder
            try:
                proc = subprocess.Popen(["git", *SAFE_CONFIG, *args], env=env, stdout=subprocess.DEVNULL,
                                        stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
            except FileNotFoundError:
                raise SubmissionError(f"{self.where}: git is not installed on the grading machine") from None
            problem = None
            try:
                while proc.poll() is None and problem is None:
                    time.sleep(WATCH_INTERVAL)
                    if time.monotonic() > self.deadline:
                        problem = f"fetching the repository took over {GIT_SECONDS} s"
                    elif self.used() > self.limit:
                        problem = (f"the repository takes more than {self.limit >> 20} MB on disk; "
                                   "submit only your code")
            finally:
                _stop(proc)
            if problem:
                raise SubmissionError(f"{self.where}: {problem}")
            if proc.returncode != 0:
                log.seek(max(0, log.seek(0, os.SEEK_END) - 4096))
                text = log.read().decode("utf-8", "replace")
                detail = (text.strip().splitlines() or ["no message"])[-1]
                raise SubmissionError(f"{self.where}: cannot fetch the repository ({detail})")


def _environment(scratch: Path, template: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "SSL_CERT_FILE",
                                                         "SSL_CERT_DIR", "HTTPS_PROXY", "https_proxy")}
    return {**keep, "HOME": str(scratch), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TEMPLATE_DIR": str(template), "GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1",
            "GIT_ASKPASS": "/bin/false", "SSH_ASKPASS": "/bin/false"}
