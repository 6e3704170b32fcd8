"""A report as one self-contained HTML feedback page for a student: a pure function.

Failed tests come first with their messages and hints, then the passed ones; a bar chart (inline SVG)
shows points earned per test group, and each test's figures (learning curves, a confusion matrix,
reconstructed digits) are drawn beside it, and so is what it measured (the accuracy reached); figures
and measured values are shown for hidden tests too, so a test author attaches only what a student may
see. Nothing is fetched from the network (a Content-Security-Policy forbids it), every string from
the report is escaped, and hidden tests' messages are never shown unless `show_hidden` (the
instructor's copy): the student's copy shows a hidden failure's hint and its test's name without the
parametrize id (grader.report.views.hidden). Nor is what the student's code printed: hidden tests call
that code too, so its prints can echo hidden inputs; only the instructor's copy shows it. The student's
copy names no path of the grading machine (grader.report.views.redact), only the submission's own.
"""

from __future__ import annotations

import html
from collections import OrderedDict

from grader.report.views.console import SYMBOL, measured_items
from grader.report.views.gradebook import Override, number
from grader.report.views.hidden import student_message, student_names
from grader.report.views.plots import figure_html
from grader.report.views.redact import strip_paths

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
COLORS = {"passed": "#2e7d32", "failed": "#c62828", "error": "#ad1457", "timeout": "#ef6c00",
          "not_run": "#616161"}
STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem} .score{font-size:1.2rem;font-weight:600} .banner{padding:.6rem;background:#fdecea}
ol.tests{list-style:none;padding:0} li.test{border-left:.4rem solid;margin:.5rem 0;padding:.3rem .7rem}
.status{font-weight:700;margin-right:.5rem} pre{white-space:pre-wrap;background:#f5f5f5;padding:.5rem}
.pts{float:right;color:#555} figure.plot{margin:.5rem 0} figcaption{font-size:.85rem;color:#555}
"""
BAR_HEIGHT, LABEL_WIDTH, BAR_WIDTH = 26, 260, 360


def to_html(report: dict, *, show_hidden: bool = False, override: Override | None = None) -> str:
    """The feedback page for `report`; the instructor's copy (`show_hidden`) also shows `override`,
    the instructor's decision that replaces or adds to this report's score in every gradebook."""
    title = html.escape(f"{report['assignment']['title']}: {report['submission']['name']}")
    body = [f"<h1>{title}</h1>", _score_line(report)]
    if override is not None and show_hidden:
        body.append(_override_line(report, override))
    if report["status"] != "graded":
        reason = (report["reason"] or "") if show_hidden else strip_paths(report["reason"])
        body.append(f'<p class="banner" id="reason">{html.escape(reason)}</p>')
    body += ["<h2>Points per group</h2>", score_chart(report), "<h2>Tests</h2>", _tests(report, show_hidden)]
    if show_hidden and report["output"]["text"].strip():
        cut = " (truncated)" if report["output"]["truncated"] else ""
        body += [f"<h2>What the code printed{cut}</h2>", f"<pre>{html.escape(report['output']['text'])}</pre>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
            f"<title>{title}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _override_line(report: dict, override: Override) -> str:
    if override.points is not None:
        what = f"the grade is set to {number(override.points)} points"
    else:
        what = f"{number(override.extra_credit)} points of extra credit are added"
    report_score = "no score" if report["score"] is None else f"{number(report['score'])} points"
    text = f"Instructor override: {what} (this report: {report_score}). Reason: {override.reason}"
    return f'<p class="banner override" id="override">{html.escape(text)}</p>'


def _score_line(report: dict) -> str:
    if report["score"] is None:  # never shown as a zero: infra_error is our failure, skipped our lack
        score = f"no score (not graded: {report['status'].replace('_', ' ')})"
    else:
        score = f"{report['score']:g} / {report['max_score']:g} points"
    return f'<p class="score" id="score">Score: {html.escape(score)}</p>'


def ordered_tests(report: dict) -> list[dict]:
    """Tests that lost points first (in report order), then the passed ones."""
    return sorted(report["tests"], key=lambda t: t["status"] == "passed")


def _tests(report: dict, show_hidden: bool) -> str:
    items = []
    names = {id(t): n for t, n in zip(report["tests"], student_names(report["tests"]))}
    for test in ordered_tests(report):
        status = test["status"]
        secret = test["visibility"] == "hidden" and not show_hidden
        message = "" if status == "passed" else \
            (student_message(test) if secret else
             test["message"] if show_hidden else strip_paths(test["message"]))
        name = names[id(test)] if secret else test["name"]
        items.append(
            f'<li class="test {status}" data-status="{status}" style="border-color:{COLORS[status]}">'
            f'<span class="status" style="color:{COLORS[status]}">{SYMBOL[status]}</span>'
            f'<code>{html.escape(name)}</code>'
            f'<span class="pts">{test["score"]:g} / {test["max_score"]:g}</span>'
            + (f"<pre>{html.escape(message)}</pre>" if message else "")
            + "".join(f'<p class="measured">measured: {html.escape(item)}</p>' for item in measured_items(test))
            + "".join(figure_html(f) for f in test.get("figures", [])) + "</li>")
    return '<ol class="tests" id="tests">\n' + "\n".join(items) + "\n</ol>"


def groups(report: dict) -> "OrderedDict[str, tuple[float, float]]":
    """{test file: (points earned, points possible)} in report order."""
    totals: OrderedDict[str, tuple[float, float]] = OrderedDict()
    for test in report["tests"]:
        group = test["name"].split("::", 1)[0]
        earned, possible = totals.get(group, (0.0, 0.0))
        totals[group] = (earned + test["score"], possible + test["max_score"])
    return totals


def score_chart(report: dict) -> str:
    """Horizontal bars, one per test group: the green part is what was earned."""
    rows = groups(report)
    height = BAR_HEIGHT * max(1, len(rows)) + 10
    width = LABEL_WIDTH + BAR_WIDTH + 90
    parts = [f'<svg id="score-chart" role="img" aria-label="points per test group" '
             f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">']
    for i, (group, (earned, possible)) in enumerate(rows.items()):
        y = 5 + i * BAR_HEIGHT
        share = earned / possible if possible else 0.0
        parts += [
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end" font-size="12">{html.escape(group)}</text>',
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{BAR_WIDTH}" height="{BAR_HEIGHT - 6}" fill="#e0e0e0"/>',
            f'<rect class="earned" x="{LABEL_WIDTH}" y="{y}" width="{BAR_WIDTH * share:.1f}" '
            f'height="{BAR_HEIGHT - 6}" fill="{COLORS["passed"]}"/>',
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 6}" y="{y + 16}" font-size="12">{earned:g}/{possible:g}</text>']
    return "\n".join(parts) + "\n</svg>"
