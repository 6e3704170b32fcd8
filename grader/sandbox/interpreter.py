"""Which Python interpreter runs the local sandbox's runner for an assignment.

The grader's own interpreter when it can import every module the assignment `needs`; else the first
of `DL_GRADER_RUNNER_PYTHON` and Debian's `/usr/bin/python3` (where `make install` puts
`python3-torch`, the same torch 1.13 and numpy 1.24 as the docker image) that can; else the grader's
own, and the runner then reports the missing modules (the submission is `skipped`, never a zero).
It only probes interpreters with `find_spec` (nothing is imported, no student code runs here).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass

DEBIAN_PYTHON = "/usr/bin/python3"
PROBE = ("import importlib.util, json, sys; "
         "print(json.dumps({'missing': [n for n in sys.argv[1:] if importlib.util.find_spec(n) is None], "
         "'paths': [sys.prefix, sys.base_prefix, *sys.path], 'version': sys.version.split()[0]}))")


@dataclass(frozen=True)
class Interpreter:
    executable: str
    paths: tuple[str, ...]  # its prefix and import path: what a jail must show for it to run


def runner_interpreter(needs: tuple[str, ...] | list[str]) -> Interpreter:
    """The interpreter that has every module in `needs` (the grader's own when it does, or none exists)."""
    candidates = [sys.executable, os.environ.get("DL_GRADER_RUNNER_PYTHON", ""), DEBIAN_PYTHON]
    for executable in dict.fromkeys(c for c in candidates if c):
        facts = _probe(executable, tuple(needs))
        if facts is not None and not facts["missing"]:
            return Interpreter(executable, _installation(facts["paths"]))
    return Interpreter(sys.executable, _installation([sys.prefix, sys.base_prefix, *sys.path]))


def _installation(paths: list[str]) -> tuple[str, ...]:
    """The prefixes and the import paths under them; never an editable checkout (the course) elsewhere."""
    prefixes = [p for p in paths[:2] if p]
    return tuple(dict.fromkeys(p for p in paths if p and any(p.startswith(x) for x in prefixes)))


@functools.cache
def _probe(executable: str, needs: tuple[str, ...]) -> dict | None:
    """What `executable` lacks of `needs`, and its paths; None when it does not run or is not 3.x like ours."""
    if executable == sys.executable:
        import importlib.util

        missing = [n for n in needs if importlib.util.find_spec(n) is None]
        return {"missing": missing, "paths": [sys.prefix, sys.base_prefix, *sys.path]}
    try:
        proc = subprocess.run([executable, "-I", "-c", PROBE, *needs], capture_output=True, text=True,
                              timeout=30)
        facts = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    if facts is None or facts["version"].rsplit(".", 1)[0] != "%d.%d" % sys.version_info[:2]:
        return None  # the runtime is written for the grader's Python (3.11); another minor may differ
    return facts
