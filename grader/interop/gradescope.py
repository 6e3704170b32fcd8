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

import hashlib
import importlib.metadata
import json
import os
import stat
import zipfile
from pathlib import Path

import grader
from grader.spec import AssignmentSpec

# The judge's own libraries (the runner needs numpy only); pinned to this machine's versions.
JUDGE_REQUIREMENTS = ("pytest", "numpy", "jsonschema", "fastjsonschema", "nbformat")
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed timestamps: the same course gives the same zip, byte for byte

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
"$ROOT/venv/bin/python" -c "import sys; sys.path.insert(0, '$ROOT/source'); import grader.pipeline.grade"
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
    for folder in (spec.root, spec.solution, *_data_needed(spec)):
        if folder.is_dir():
            found += [(f"course/{p.relative_to(spec.course)}", p) for p in _walk(folder)]
    return sorted(found)


def _data_needed(spec: AssignmentSpec) -> list[Path]:
    """The course's data/<set> folders the assignment's tests or solution name (e.g. `mnist`)."""
    data = spec.course / "data"
    if not data.is_dir():
        return []
    code = " ".join(p.read_text(encoding="utf-8", errors="replace") for folder in (spec.root, spec.solution)
                    if folder.is_dir() for p in _walk(folder) if p.suffix in (".py", ".toml", ".ipynb"))
    return [d for d in sorted(data.iterdir()) if d.is_dir() and d.name in code]


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
    """Grade `submission`, write `results` (unless the report has no score); (report, written)."""
    from grader.interop.container import grade_in_container, write_json
    from grader.report.views.gradescope import to_gradescope

    report, sandbox = grade_in_container(spec, submission, reap=reap)
    if report["score"] is None:
        return report, False
    result = to_gradescope(report)
    result["extra_data"]["sandbox"] = sandbox
    write_json(result, results)
    return report, True
