"""Fetch a git repository submitted as data: one commit's files, none of the repository's code run.

A source is a git repository when it is a URL (https://, ssh://, git@, file://), a path ending in .git,
or a folder holding .git; `URL#REF` names a branch, tag or commit. The fetch is shallow (depth 1), with
no hooks (core.hooksPath=/dev/null, an empty template), no submodules, no LFS smudge, no system or
global git configuration, and no prompts. It must never run anything from the repository (hooks,
filters, Makefile, workflows) and never leave the clone behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

from grader.errors import SubmissionError

URL_PREFIXES = ("https://", "http://", "ssh://", "git@", "file://")
GIT_SECONDS = 120
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


def read_repository(source: Path | str, read_dir: Callable[[Path], dict[str, bytes]]) -> dict[str, bytes]:
    """The files of the fetched commit, read by `read_dir` (the caller's caps and checks apply)."""
    where, ref = split_ref(source)
    if not where.startswith(URL_PREFIXES):
        where = str(Path(where).resolve())
    scratch = Path(tempfile.mkdtemp(prefix="grader-git-"))
    try:
        checkout = fetch(where, ref, scratch)
        return read_dir(checkout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def fetch(where: str, ref: str | None, scratch: Path) -> Path:
    """A worktree of `ref` (default: the remote's HEAD) of `where`, inside `scratch`."""
    repo = scratch / "repo"
    empty_template = scratch / "template"
    empty_template.mkdir()
    env = _environment(scratch, empty_template)
    _git(["init", "--quiet", f"--template={empty_template}", str(repo)], env, where)
    _git(["-C", str(repo), "fetch", "--quiet", "--depth", "1", "--no-tags", "--no-recurse-submodules",
          where, ref or "HEAD"], env, where)
    _git(["-C", str(repo), "checkout", "--quiet", "--detach", "FETCH_HEAD"], env, where)
    return repo


def _environment(scratch: Path, template: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "SSL_CERT_FILE",
                                                         "SSL_CERT_DIR", "HTTPS_PROXY", "https_proxy")}
    return {**keep, "HOME": str(scratch), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TEMPLATE_DIR": str(template), "GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1",
            "GIT_ASKPASS": "/bin/false", "SSH_ASKPASS": "/bin/false"}


def _git(args: list[str], env: dict[str, str], where: str) -> None:
    try:
        proc = subprocess.run(["git", *SAFE_CONFIG, *args], env=env, capture_output=True, text=True,
                              timeout=GIT_SECONDS, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SubmissionError(f"{where}: fetching the repository took over {GIT_SECONDS} s") from None
    except FileNotFoundError:
        raise SubmissionError(f"{where}: git is not installed on the grading machine") from None
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise SubmissionError(f"{where}: cannot fetch the repository ({detail})")
