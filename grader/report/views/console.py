"""The report as text for a terminal: what `grader check` prints to a student.

The student's copy lists the visible tests; of the hidden ones that lost points, only each test
function's name and its hint, one line per identical message (grader.report.views.hidden). What a
test measured of the submission's work (`measured`: the accuracy reached) is shown under the test, and
in the student's copy for hidden tests too, by their names without parametrize ids. Scores are printed
as the report has them, never recomputed here.
"""

from __future__ import annotations

from grader.report.views.hidden import student_message, student_name, student_names
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
        lines.extend(f"           measured: {item}" for item in measured_items(test))
    hidden = len(report["tests"]) - len(tests)
    if hidden:
        lines.extend(_hidden_failures(report["tests"], color))
        lines.extend(_hidden_measured(report["tests"]))
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


def measured_items(test: dict) -> list[str]:
    """`name = value` for each number the test measured (a null is a value that was not finite)."""
    return [f"{name} = {'not finite' if value is None else format(value, '.6g')}"
            for name, value in (test.get("measured") or {}).items()]


def _hidden_measured(tests: list[dict]) -> list[str]:
    """What hidden tests measured of the student's own work, by test names without parametrize ids."""
    lines = [f"    {name}: {item}" for test, name in zip(tests, student_names(tests))
             if test["visibility"] == "hidden" for item in measured_items(test)]
    return ["  Measured in hidden tests:", *lines] if lines else []


def _hidden_failures(tests: list[dict], color: bool) -> list[str]:
    """One entry per hidden test function and message among the hidden tests that lost points."""
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for test in tests:
        if test["visibility"] == "hidden" and test["status"] != "passed":
            key = (student_name(test["name"]), test["status"], student_message(test))
            groups.setdefault(key, []).append(test)
    lines = []
    for (name, status, message), members in groups.items():
        label = SYMBOL[status]
        if color:
            label = f"\033[31m{label}\033[0m"
        cases = f" ({len(members)} cases)" if len(members) > 1 else ""
        lost = sum(t["max_score"] - t["score"] for t in members)
        lines.append(f"  {label:<8} {name}{cases}  [-{lost:g} hidden]")
        lines.extend(f"           {line}" for line in message.splitlines())
    return lines
