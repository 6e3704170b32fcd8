"""The report as text for a terminal: what `grader check` prints to a student."""

from __future__ import annotations

from grader.report.views.textsafe import escape_strings

SYMBOL = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT", "not_run": "NOT RUN"}


def to_text(report: dict, *, show_hidden: bool = False, color: bool = False) -> str:
    report = escape_strings(report)  # no text from the submission can steer the terminal
    lines = [f"{report['assignment']['title']} ({report['assignment']['id']}): "
             f"{report['submission']['name']}"]
    if report["status"] != "graded":
        lines.append(f"{report['status'].replace('_', ' ').upper()}: {report['reason']}")
    tests = [t for t in report["tests"] if show_hidden or t["visibility"] == "visible"]
    for test in sorted(tests, key=lambda t: t["status"] == "passed"):
        label = SYMBOL[test["status"]]
        if color:
            label = f"\033[{32 if test['status'] == 'passed' else 31}m{label}\033[0m"
        lines.append(f"  {label:<8} {test['name']}  [{test['score']:g}/{test['max_score']:g}]")
        if test["status"] != "passed":
            lines.extend(f"           {line}" for line in test["message"].splitlines())
    hidden = len(report["tests"]) - len(tests)
    score = "no score" if report["score"] is None else \
        f"{sum(t['score'] for t in tests):g}/{sum(t['max_score'] for t in tests):g}"
    lines.append(f"Score: {score}" + (f" ({hidden} hidden tests not shown)" if hidden else ""))
    if hidden and report["output"]["text"].strip():  # it may echo hidden inputs: instructor's copy only
        lines.append("(What your code printed is not shown: hidden tests ran with it.)")
    elif report["output"]["text"].strip():
        cut = " (truncated)" if report["output"]["truncated"] else ""
        lines.append(f"Your code printed{cut}:")
        lines.extend(f"  | {line}" for line in report["output"]["text"].splitlines()[-20:])
    return "\n".join(lines) + "\n"
