"""The report as text for a terminal: what `grader check` prints to a student.

The student's copy lists the visible tests; of the hidden ones that lost points, only each test
function's name and its hint, one line per identical message (grader.report.views.hidden). What a
test measured of the submission's work (`measured`: the accuracy reached) is shown under the test, and
in the student's copy for hidden tests too, by their names without parametrize ids. Scores are printed
as the report has them, never recomputed here, and the student's copy names no path of the grading
machine (grader.report.views.redact), only the submission's own.
"""

from __future__ import annotations

from grader.report.views.hidden import student_message, student_name, student_names
from grader.report.views.redact import strip_paths
from grader.report.views.textsafe import escape_strings

SYMBOL = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT", "not_run": "NOT RUN"}


def to_text(report: dict, *, show_hidden: bool = False, color: bool = False) -> str:
    report = escape_strings(report)  # no text from the submission can steer the terminal
    shown = (lambda text: text or "") if show_hidden else strip_paths
    lines = [f"{report['assignment']['title']} ({report['assignment']['id']}): "
             f"{report['submission']['name']}"]
    if report["status"] != "graded":
        lines.append(f"{report['status'].replace('_', ' ').upper()}: {shown(report['reason'])}")
    tests = [t for t in report["tests"] if show_hidden or t["visibility"] == "visible"]
    for test in sorted(tests, key=lambda t: t["status"] == "passed"):
        lines.append(f"  {_label(test['status'], color)} {test['name']}  [{test['score']:g}/{test['max_score']:g}]")
        if test["status"] != "passed":
            lines.extend(f"           {line}" for line in shown(test["message"]).splitlines())
        lines.extend(f"           measured: {item}" for item in measured_items(test))
    hidden = len(report["tests"]) - len(tests)
    if hidden:
        lines.extend(_hidden_failures(report["tests"], color, scored=report["score"] is not None))
        lines.extend(_hidden_measured(report["tests"]))
    lines.append(_score_line(report, hidden))
    if hidden and report["output"]["text"].strip():  # it may echo hidden inputs: instructor's copy only
        lines.append("(What your code printed is not shown: hidden tests ran with it.)")
    elif report["output"]["text"].strip():
        cut = " (truncated)" if report["output"]["truncated"] else ""
        lines.append(f"Your code printed{cut}:")
        lines.extend(f"  | {line}" for line in shown(report["output"]["text"]).splitlines()[-20:])
    return "\n".join(lines) + "\n"


def _label(status: str, color: bool) -> str:
    """The status word padded to one column width; colour codes go outside the padding."""
    word = SYMBOL[status]
    padding = " " * max(0, 8 - len(word))
    if not color:
        return word + padding
    return f"\033[{32 if status == 'passed' else 31}m{word}\033[0m{padding}"


def _score_line(report: dict, hidden: int) -> str:
    """The report's own score (hidden tests count in it, though only their hints are shown)."""
    score = "no score" if report["score"] is None else f"{report['score']:g}/{report['max_score']:g}"
    if not hidden:
        return f"Score: {score}"
    return f"Score: {score} ({hidden} hidden test{'' if hidden == 1 else 's'} not shown)"


def measured_items(test: dict) -> list[str]:
    """`name = value` for each number the test measured (a null is a value that was not finite)."""
    return [f"{name} = {'not finite' if value is None else format(value, '.6g')}"
            for name, value in (test.get("measured") or {}).items()]


def _hidden_measured(tests: list[dict]) -> list[str]:
    """What hidden tests measured of the student's own work, by test names without parametrize ids."""
    lines = [f"    {name}: {item}" for test, name in zip(tests, student_names(tests))
             if test["visibility"] == "hidden" for item in measured_items(test)]
    return ["  Measured in hidden tests:", *lines] if lines else []


def _hidden_failures(tests: list[dict], color: bool, *, scored: bool = True) -> list[str]:
    """One entry per hidden test function and message among the hidden tests that lost points
    (with no score, an infra_error or a skip, they lost nothing: they are only marked hidden)."""
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for test in tests:
        if test["visibility"] == "hidden" and test["status"] != "passed":
            key = (student_name(test["name"]), test["status"], strip_paths(student_message(test)))
            groups.setdefault(key, []).append(test)
    lines = []
    for (name, status, message), members in groups.items():
        cases = f" ({len(members)} cases)" if len(members) > 1 else ""
        lost = sum(t["max_score"] - t["score"] for t in members)
        lines.append(f"  {_label(status, color)} {name}{cases}  " + (f"[-{lost:g} hidden]" if scored else "[hidden]"))
        lines.extend(f"           {line}" for line in message.splitlines())
    return lines
