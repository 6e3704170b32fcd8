"""Gradescope's autograder: build its zip (`setup.sh`, `run_autograder`, this grader, one assignment)
and, inside Gradescope's container, grade `/autograder/submission` into `/autograder/results/results.json`.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once when it builds its image (as
root, with network: it installs Python and the pinned judge libraries into /autograder/venv) and
run_autograder once per submission. run_autograder calls `grader gradescope run`, which grades with
the local sandbox (namespaces where the container allows them, rlimits otherwise: Gradescope's
container refuses new namespaces, see the README), writes results.json through the Gradescope view
and nothing else. A report without a score (infra_error, skipped) writes no results.json and exits 3:
Gradescope then shows an autograder failure, never a zero. It never scores anything itself.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.metadata
import json
import os
import signal
import stat
import sys
import time
import zipfile
from pathlib import Path

import grader
from grader.spec import AssignmentSpec

# The judge's own libraries (the runner needs numpy only); pinned to this machine's versions.
JUDGE_REQUIREMENTS = ("pytest", "numpy", "jsonschema", "nbformat")
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed timestamps: the same course gives the same zip, byte for byte
PR_SET_CHILD_SUBREAPER = 36

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (network available).
# It installs a Python >= 3.11 and the judge's pinned libraries into /autograder/venv.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip ca-certificates util-linux
PYTHON=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    # Ubuntu 22.04's python3 is 3.10; its 3.11 package has tomllib, which the grader needs.
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    PYTHON=python3.11
fi
"$PYTHON" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --no-cache-dir -r "$ROOT/source/requirements.txt"
"$ROOT/venv/bin/python" -c "import sys; sys.path.insert(0, '$ROOT/source'); import grader.api"
"""

RUN_AUTOGRADER = r"""#!/bin/sh
# Gradescope runs this once per submission, as root. It grades $ROOT/submission with dl-grader in its
# local sandbox and writes $ROOT/results/results.json (none when the grader itself failed: exit 3).
# AUTOGRADER_ROOT and GRADER_PYTHON exist so the same script can be tried outside Gradescope. Plain
# POSIX sh: it also runs in this project's sandbox image, which has no bash.
set -eu
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${GRADER_PYTHON:-$ROOT/venv/bin/python}"
mkdir -p "$ROOT/results"
cd "$ROOT/source"
export PYTHONPATH="$ROOT/source${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1
exec "$PYTHON" -m grader --course "$ROOT/source/course" gradescope run @ASSIGNMENT@ \
    --submission "$ROOT/submission" --results "$ROOT/results/results.json"
"""


def build_autograder_zip(spec: AssignmentSpec, out: Path) -> dict:
    """Write Gradescope's autograder zip for `spec` to `out`; returns its manifest."""
    files = _course_files(spec)
    manifest = {"assignment": spec.id, "title": spec.title, "points": spec.points,
                "grader_version": grader.__version__,
                "files": {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in files}}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _add(archive, "setup.sh", SETUP_SH, executable=True)
        _add(archive, "run_autograder", RUN_AUTOGRADER.replace("@ASSIGNMENT@", spec.id), executable=True)
        _add(archive, "requirements.txt", requirements())
        _add(archive, "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for name, path in files:
            _add(archive, name, path.read_bytes())
    os.replace(tmp, out)
    return manifest


def requirements() -> str:
    """requirements.txt pinning the judge's libraries to the versions this grader was tested with."""
    return "".join(f"{name}=={importlib.metadata.version(name)}\n" for name in JUDGE_REQUIREMENTS)


def _course_files(spec: AssignmentSpec) -> list[tuple[str, Path]]:
    """(name in the zip, file) for the grader package and the course parts one assignment needs."""
    package = Path(grader.__file__).parent
    found = [(f"grader/{p.relative_to(package)}", p) for p in _walk(package)
             if p.suffix in (".py", ".json", ".sh")]
    for folder in (spec.root, spec.solution, spec.course / "data"):
        if folder.is_dir():
            found += [(f"course/{p.relative_to(spec.course)}", p) for p in _walk(folder)]
    return sorted(found)


def _walk(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink() and not SKIP_PARTS & set(p.parts) and p.suffix != ".pyc"]


def _add(archive: zipfile.ZipFile, name: str, data: str | bytes, *, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    archive.writestr(info, data)


def run_in_gradescope(spec: AssignmentSpec, submission: Path, results: Path, *,
                      reap: bool = True) -> tuple[dict, bool]:
    """Grade `submission`, write `results` (unless the report has no score); (report, written).

    Student code may run unjailed here (as root, in Gradescope's container), so with `reap` every
    process it left behind (a daemon it forked) is killed before results.json is written: nothing of
    the student's runs afterwards. `reap` makes this process a subreaper: the command's, not a test's.
    """
    from grader.api import grade
    from grader.report.views.gradescope import to_gradescope
    from grader.sandbox.local import isolation_available

    if reap:
        _become_subreaper()
    jailed = isolation_available() is None
    report = grade(spec, submission, sandbox="local", isolate=jailed, name="submission")
    if reap:
        _kill_descendants()
    if report["score"] is None:
        return report, False
    result = to_gradescope(report)
    result["extra_data"]["sandbox"] = "local, jailed" if jailed else "local, rlimits only (no namespaces here)"
    results.parent.mkdir(parents=True, exist_ok=True)
    tmp = results.with_name(f".{results.name}.tmp")
    tmp.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, results)
    return report, True


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
