"""A report as JUnit XML, the format CI systems and their annotators read: a pure function.

One <testsuite> per report, one <testcase> per test: `failed` is a <failure>, `error` and `timeout`
are <error>, `not_run` is <skipped>. Points go in each case's properties. Hidden tests' messages are
left out unless `show_hidden` (students read CI logs), all but a failure's hint, and so are their
parametrize ids (grader.report.views.hidden) and the grading machine's paths.
Characters XML cannot carry are replaced.

A report that was not graded normally is one case, never a row of skipped tests a CI would show as
green: `invalid_submission` (a broken archive, a missing file) and `infra_error` (our failure) are one
<error> naming the reason, `skipped` (the sandbox lacks a module) one <skipped> naming it. The score
property of an infra_error or skipped report stays empty: no zero is written for our fault.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from grader.report.views.hidden import student_message, student_names
from grader.report.views.redact import strip_paths

ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# A report that was not graded normally becomes one case with this tag.
NOT_GRADED = {"invalid_submission": "error", "infra_error": "error", "skipped": "skipped"}
NOT_GRADED_WHY = {
    "invalid_submission": "The submission could not be graded (score 0): fix it and submit again.",
    "infra_error": "The grader failed; this is not a grade. Ask the course staff.",
    "skipped": "Not graded: the grading sandbox lacks something this assignment needs. Not a grade.",
}


def to_junit(report: dict, *, show_hidden: bool = False) -> str:
    """The JUnit XML document for `report`, as text."""
    suites = ET.Element("testsuites", name=f"dl-grader {report['assignment']['id']}")
    suite = ET.SubElement(suites, "testsuite", _suite_attributes(report))
    props = ET.SubElement(suite, "properties")
    for key, value in (("score", report["score"]), ("max_score", report["max_score"]),
                       ("status", report["status"]), ("reason", report["reason"])):
        text = "" if value is None else str(value)
        ET.SubElement(props, "property", name=key, value=_clean(text if show_hidden else strip_paths(text)))
    for case in _cases(report, show_hidden):
        suite.append(case)
    # What the code printed may echo a hidden test's inputs: only the instructor's copy carries it
    # when hidden tests ran.
    if report["output"]["text"] and (show_hidden or not any(t["visibility"] == "hidden"
                                                            for t in report["tests"])):
        ET.SubElement(suite, "system-out").text = _clean(report["output"]["text"])
    suites.attrib.update({k: suite.attrib[k] for k in ("tests", "failures", "errors", "skipped", "time")})
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _suite_attributes(report: dict) -> dict[str, str]:
    tests = report["tests"]
    count = lambda *states: str(sum(t["status"] in states for t in tests))  # noqa: E731
    name = f"{report['assignment']['id']}.{report['submission']['name']}"
    if report["status"] != "graded":  # one case: see NOT_GRADED
        tag = NOT_GRADED[report["status"]]
        return {"name": name, "tests": "1", "failures": "0", "errors": str(int(tag == "error")),
                "skipped": str(int(tag == "skipped")), "time": f"{report['timings']['seconds']:.3f}",
                "timestamp": report["timings"]["started"]}
    return {"name": name,
            "tests": str(len(tests)), "failures": count("failed"), "errors": count("error", "timeout"),
            "skipped": count("not_run"), "time": f"{sum(t['duration'] for t in tests):.3f}",
            "timestamp": report["timings"]["started"]}


def _cases(report: dict, show_hidden: bool) -> list[ET.Element]:
    """One case per test for a graded report; one case naming the reason for any other."""
    if report["status"] == "graded":
        names = [t["name"] for t in report["tests"]] if show_hidden else student_names(report["tests"])
        return [_case(test, name, show_hidden) for test, name in zip(report["tests"], names)]
    status = report["status"]
    reason = report["reason"] or status
    reason = reason if show_hidden else strip_paths(reason)
    case = ET.Element("testcase", classname="submission", name=status,
                      time=f"{report['timings']['seconds']:.3f}")
    props = ET.SubElement(case, "properties")
    score = "" if report["score"] is None else str(report["score"])
    for key, value in (("score", score), ("max_score", str(report["max_score"]))):
        ET.SubElement(props, "property", name=key, value=value)
    child = ET.SubElement(case, NOT_GRADED[status], message=_clean(f"{status}: {reason}"[:500]), type=status)
    child.text = _clean(f"{NOT_GRADED_WHY[status]}\n{reason}")
    return [case]


def _case(test: dict, full_name: str, show_hidden: bool) -> ET.Element:
    path, _, name = full_name.rpartition("::")
    classname = path.removesuffix(".py").replace("/", ".") or "tests"
    case = ET.Element("testcase", classname=_clean(classname), name=_clean(name or full_name),
                      time=f"{test['duration']:.3f}", file=_clean(path))
    props = ET.SubElement(case, "properties")
    for key in ("score", "max_score", "visibility"):
        ET.SubElement(props, "property", name=key, value=str(test[key]))
    message = test["message"] if show_hidden else \
        (strip_paths(test["message"]) if test["visibility"] == "visible" else student_message(test))
    tag = {"failed": "failure", "error": "error", "timeout": "error", "not_run": "skipped"}.get(test["status"])
    if tag:
        first = message.splitlines()[0] if message.strip() else test["status"]
        child = ET.SubElement(case, tag, message=_clean(first[:500]), type=test["status"])
        child.text = _clean(message)
    return case


def _clean(text: str) -> str:
    return ILLEGAL_XML.sub("\ufffd", text)
