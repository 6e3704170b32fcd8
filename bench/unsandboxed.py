"""`grader grade STEP` of the step's reference with an unsandboxed runner (a plain subprocess: the same
protocol, no jail), started the way the CLI starts: its judge first, then the rest (bench/sandbox.py
times this as the "unsandboxed" column). Writes the report to OUT/report.json.

    python bench/unsandboxed.py STEP OUT
"""

import sys
from pathlib import Path

COURSE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(COURSE))

from grader.judge.launch import SPARES  # noqa: E402  (after the path: runnable as a plain script)

SPARES.plan(1)  # as `grader grade` does before anything else

import json  # noqa: E402

from grader.pipeline.grade import grade  # noqa: E402
from grader.spec import find_assignment  # noqa: E402


def main(step: str, out: str) -> int:
    spec = find_assignment(COURSE, step)
    try:
        report = grade(spec, spec.solution, isolate=False)
    finally:
        SPARES.discard()
    Path(out, "report.json").write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
