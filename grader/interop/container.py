"""Grade one submission inside a platform's grading container (Gradescope, PrairieLearn).

Such containers refuse new namespaces, so the local sandbox runs jailed where it can and with
rlimits only where it cannot, and says which. Student code may then run as the container's user
beside the judge, so with `reap` every process it left behind (a daemon it forked to forge the
results file) is killed before any result is written. It never scores and never writes a report.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import time
from pathlib import Path

from grader.spec import AssignmentSpec

PR_SET_CHILD_SUBREAPER = 36
SUBMISSION_NAME = "submission"


def grade_in_container(spec: AssignmentSpec, submission: Path, *, reap: bool = True) -> tuple[dict, str]:
    """(report, how the sandbox ran). `reap` makes this process a subreaper: the command's choice,
    never a test process's."""
    from grader.pipeline.grade import grade
    from grader.sandbox.local import isolation_available

    if reap:
        _become_subreaper()
    jailed = isolation_available() is None
    report = grade(spec, submission, sandbox="local", isolate=jailed, name=SUBMISSION_NAME)
    if reap:
        _kill_descendants()
    return report, "local, jailed" if jailed else "local, rlimits only (no namespaces here)"


def write_json(value: dict, path: Path) -> None:
    """Strict JSON, replaced atomically: the platform reads the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _become_subreaper() -> None:
    """Orphans of our children (a daemon the student's code forked) become ours, so they can be found."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _kill_descendants() -> None:
    """SIGKILL every process below this one (Linux /proc); a no-op elsewhere."""
    for _ in range(3):
        victims = _descendants(os.getpid())
        if not victims:
            return
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
        for pid in victims:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat_line = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat_line.rsplit(")", 1)[-1].split()
        if fields and fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [], {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        found += sorted(frontier)
    return found
