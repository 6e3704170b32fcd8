"""Push-to-feedback latency of `grader serve`, side by side (`make bench-service`).

For each SQLite durability setting (`sqlite_synchronous`: normal, the default, and full, which fsyncs
every commit) a fresh service is started under uvicorn on 127.0.0.1 with the load test's course
(tests/integration/test_service_load.py: 01-numpy-basics, local sandbox, 2 grading threads, four
students whose bare repositories on disk hold the reference, the starter and two pinned mistakes).
Measured, each from the sender's side:

  one push      a single signed delivery on an idle service: its 202, and the time until its commit
                status reaches the loopback forge (fetch + grade + post: the floor of feedback latency)
  burst         N more signed deliveries from 4 processes at once: every answer's time (median, p99, max),
                then the time until the last commit status arrives and each push's push-to-status time

and, beside them, `grader grade` of the same content from the command line (what a student's CI job
would pay per grading, process start included). With `--latency STEP` it measures instead what one
student waits on a quiet service: N pushes of STEP's reference, one at a time, each sent once the
previous status arrived (`--sandbox docker`: the service's warm pool serves all but the first). Figures go to out/bench-service.json. It starts and
stops only its own processes and works in a temporary folder it removes.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COURSE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(COURSE))

from tests.integration.test_service import GRADER, signed_push  # noqa: E402  (after the path: runnable as a script)
from tests.integration.test_service_load import CONTENTS, STEP, LoadRig, accept_ms, percentile  # noqa: E402

MODES = ("normal", "full")


def run_mode(synchronous: str, pushes: int, workers: int, answers_only: bool = False) -> dict:
    """One fresh service: a single push, then a burst of `pushes`; the figures (with `answers_only`,
    the service is stopped after the burst's answers, before its gradings end)."""
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        per_student = 1 + -(-pushes // len(CONTENTS))
        rig = LoadRig(Path(tmp), per_student=per_student, workers=workers, synchronous=synchronous)
        rig.make_commits()
        rig.start()
        try:
            first = next(iter(rig.commits))
            single = single_push(rig, first)
            rig.burst(skip=1)
            burst_answers = [took for _, _, took in rig.answers[1:]]
            figures = {"synchronous": synchronous, "workers": workers, "single_answer_ms": single[0] * 1000,
                       "single_feedback_s": single[1], "burst_pushes": len(burst_answers),
                       "answer_ms": summary([a * 1000 for a in burst_answers]),
                       "in_service_ms": summary([ms for sha, ms in accept_ms(rig.service.log).items()
                                                 if sha != rig.commits[first][0]] or [float("nan")]),
                       "not_202": sum(status != 202 for _, status, _ in rig.answers)}
            if answers_only:
                return figures
            rig.wait_statuses(seconds=3600)
        finally:
            rig.stop()
    burst = {sha: v for sha, v in rig.feedback_seconds().items() if sha != rig.commits[first][0]}
    started = min(rig.sent_at[sha] for sha in burst)
    last = max(rig.sent_at[sha] + v for sha, v in burst.items())
    return {**figures, "burst_all_statuses_s": last - started, "feedback_s": summary(list(burst.values()))}


def latency(step: str, pushes: int, sandbox: str) -> dict:
    """Push-to-status seconds of `pushes` pushes of `step`'s reference, one at a time, on one service."""
    with tempfile.TemporaryDirectory(prefix="bench-service-latency-") as tmp:
        rig = LoadRig(Path(tmp), per_student=pushes, workers=2, step=step,
                      contents={"ref": COURSE / "solutions" / step}, sandbox=sandbox, distinct=True)
        rig.make_commits()
        rig.start()
        try:
            seconds = [single_push(rig, "ref", n)[1] for n in range(pushes)]
        finally:
            rig.stop()
    return {"step": step, "sandbox": sandbox, "first_s": seconds[0], "then_s": summary(seconds[1:] or seconds)}


def single_push(rig: LoadRig, student: str, n: int = 0) -> tuple[float, float]:
    """(answer seconds, push-to-status seconds) of one push (the student's n-th commit) on an idle service."""
    sha = rig.commits[student][n]
    body, headers = signed_push(f"course/{student}", sha)
    started = time.monotonic()
    status, _, _ = rig.service.request("POST", "/hooks/github", body, headers)
    answered = time.monotonic() - started
    rig.sent_at[sha] = started
    rig.answers.append((sha, status, answered))
    rig.wait_statuses(seconds=300)
    return answered, rig.feedback_seconds()[sha]


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "p99": percentile(values, 0.99), "max": max(values)}


def cli_seconds(rounds: int = 3) -> float:
    """Median wall time of `grader grade` of the reference, local sandbox, one submission."""
    times = []
    with tempfile.TemporaryDirectory(prefix="bench-service-cli-") as out:
        for _ in range(rounds):
            started = time.monotonic()
            subprocess.run([GRADER, "--course", str(COURSE), "grade", STEP, str(CONTENTS["ref"]), "--out", out,
                            "--sandbox", "local", "--force"], check=True, capture_output=True)
            times.append(time.monotonic() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=200, help="deliveries in the burst (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="grading threads of the service (default 2)")
    parser.add_argument("--modes", default=",".join(MODES), help="sqlite_synchronous settings to compare")
    parser.add_argument("--answers-only", action="store_true",
                        help="measure the 202s only: stop each service after its burst (minutes sooner)")
    parser.add_argument("--latency", metavar="STEP", help="instead: one student's pushes of STEP's reference, "
                        "one at a time (push to commit status)")
    parser.add_argument("--sandbox", default="docker", help="with --latency: the service's sandbox (default docker)")
    args = parser.parse_args()
    if args.latency:
        return print_latency(latency(args.latency, max(2, args.pushes), args.sandbox))
    results = [run_mode(mode, args.pushes, args.workers, args.answers_only) for mode in args.modes.split(",")]
    cli = cli_seconds()
    print(f"{STEP}, local sandbox, {args.workers} grading threads, {platform.node()} "
          f"({platform.machine()}), burst of {args.pushes} pushes from 4 processes")
    print(f"{'sqlite_synchronous':>18} {'one push: 202':>14} {'-> status':>10} | {'burst 202 median':>16} "
          f"{'p99':>8} {'max':>8} | {'all statuses':>12} {'push->status med':>16} {'max':>7}")
    for r in results:
        a = r["answer_ms"]
        line = (f"{r['synchronous']:>18} {r['single_answer_ms']:>11.1f} ms {r['single_feedback_s']:>8.2f} s | "
                f"{a['median']:>13.1f} ms {a['p99']:>5.1f} ms {a['max']:>5.1f} ms |")
        if "feedback_s" in r:
            f = r["feedback_s"]
            line += f" {r['burst_all_statuses_s']:>10.1f} s {f['median']:>14.1f} s {f['max']:>5.1f} s"
        print(line)
        inside = r["in_service_ms"]
        print(f"{'':>18} {'':>14} {'':>10} | {'in the service:':>16} {inside['median']:>5.1f} ms {inside['p99']:>5.1f} ms "
              f"{inside['max']:>5.1f} ms   (arrival to commit, from its log)")
    print(f"{'grader grade (CLI)':>18} {'':>14} {cli:>8.2f} s   (one submission, process start included)")
    out = COURSE / "out" / "bench-service.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"step": STEP, "pushes": args.pushes, "cli_grade_s": cli, "modes": results}, indent=2))
    print(f"figures: {out}")
    return 1 if any(r["not_202"] for r in results) else 0


def print_latency(r: dict) -> int:
    then = r["then_s"]
    print(f"{r['step']}, {r['sandbox']} sandbox, one push at a time on a quiet service, {platform.node()}")
    print(f"push -> commit status: first {r['first_s']:.2f} s (the step's first grading on this service), then median "
          f"{then['median']:.2f} s, max {then['max']:.2f} s; target (issue 17): <= 3 s: "
          f"{'met' if then['median'] <= 3 else 'NOT met'}")
    out = COURSE / "out" / "bench-service-latency.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
