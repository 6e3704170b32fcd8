"""The report: one schema, one writer, strict JSON, scores only from passed tests."""

import json

import jsonschema
import pytest

from grader.report.build import build_report
from grader.report.write import read_report, validate_report, write_report

SHA = "0" * 64


def outcome(*statuses):
    return {"tests": [{"name": f"public/t.py::t{i}", "visibility": "visible", "max_score": 2, "score": 2,
                       "status": s, "message": "", "duration": 0.1} for i, s in enumerate(statuses)],
            "output": {"text": "hi", "truncated": False}, "environment": {}, "timings": {}}


def build(status="graded", reason=None, statuses=("passed", "failed", "timeout")):
    return build_report(assignment={"id": "05-x", "title": "X", "sha256": SHA},
                        submission={"name": "alice", "sha256": SHA, "files": ["m.py"]},
                        outcome=outcome(*statuses), started=0.0, finished=1.5, fingerprint=SHA,
                        status=status, reason=reason)


def test_score_counts_only_passed_tests():
    report = build()
    validate_report(report)
    assert (report["score"], report["max_score"]) == (2, 6)
    assert [t["score"] for t in report["tests"]] == [2, 0, 0]


def test_a_test_claiming_points_it_did_not_pass_gets_none():
    report = build(statuses=("error",))
    assert report["tests"][0]["score"] == 0 and report["score"] == 0


def test_infra_error_has_no_score_and_every_test_listed():
    report = build(status="infra_error", reason="no engine")
    validate_report(report)
    assert report["score"] is None and len(report["tests"]) == 3
    assert {t["status"] for t in report["tests"]} == {"not_run"}


def test_invalid_submission_scores_zero_with_reason():
    report = build(status="invalid_submission", reason="missing m.py")
    validate_report(report)
    assert report["score"] == 0 and report["tests"][0]["message"] == "missing m.py"


def test_schema_refuses_inconsistent_reports():
    report = build()
    for broken in ({**report, "score": None}, {**report, "status": "passed"},
                   {**report, "extra": 1}, {**report, "reason": "x"}):
        with pytest.raises(jsonschema.ValidationError):
            validate_report(broken)


def test_writer_is_strict_and_atomic(tmp_path):
    target = tmp_path / "out" / "alice.json"
    write_report(build(), target)
    assert read_report(target)["submission"]["name"] == "alice"
    bad = build()
    bad["tests"][0]["duration"] = float("nan")
    with pytest.raises((ValueError, jsonschema.ValidationError)):
        write_report(bad, target)
    assert json.loads(target.read_text())["score"] == 2  # the old report survived
    assert [p.name for p in target.parent.iterdir()] == ["alice.json"]


def test_nothing_a_submission_sends_makes_the_writer_refuse_its_report(tmp_path):
    """NaN and infinities where the judge expects plain values, lone surrogates in messages, printed
    output and file names, a NaN duration: the builder makes them strict JSON, the writer takes it."""
    hostile = outcome("failed", "passed")
    hostile["environment"] = {"python": float("nan"), "numpy": [float("inf"), {"deep": float("-inf")}],
                              "object": object()}
    hostile["tests"][0]["message"] = "raised ValueError: \ud800 and \udcff"
    hostile["tests"][1]["duration"] = float("nan")
    hostile["output"] = {"text": "printed \udce9", "truncated": False}
    hostile["timings"] = {"first_import_seconds": float("nan")}
    report = build_report(assignment={"id": "05-x", "title": "X", "sha256": SHA},
                          submission={"name": "bob\udce9", "sha256": SHA, "files": ["caf\udce9.py"]},
                          outcome=hostile, started=0.0, finished=1.0, fingerprint=SHA)
    write_report(report, tmp_path / "r.json")
    again = read_report(tmp_path / "r.json")
    assert again["environment"]["python"] is None and again["environment"]["numpy"] == [None, {"deep": None}]
    assert again["environment"]["object"].startswith("<object object")
    assert again["tests"][0]["message"] == "raised ValueError: \\ud800 and \\udcff"
    assert again["tests"][1]["duration"] == 0.0
    assert again["submission"]["files"] == ["caf\\udce9.py"]
    assert again["timings"]["first_import_seconds"] is None
    assert again["score"] == 2


def test_the_console_view_escapes_control_characters_and_keeps_the_report():
    from grader.report.views.console import to_text

    report = build(statuses=("failed",))
    fake = "\x1b[1A\x1b[2K\rScore: 66/66\x9b\u202e"
    report["tests"][0]["message"] = fake
    report["submission"]["name"] = "eve\x1b]0;title\x07"
    text = to_text(report, show_hidden=True)
    assert report["tests"][0]["message"] == fake  # the view changes its copy only
    assert not any(ch in text for ch in "\x1b\r\x07\x9b\u202e")
    assert "\\x1b[1A\\x1b[2K\\x0dScore: 66/66\\x9b\\u202e" in text
    assert "eve\\x1b]0;title\\x07" in text
    assert [line for line in text.splitlines() if line.startswith("Score:")] == ["Score: 0/2"]
    assert "\x1b[31mFAIL\x1b[0m" in to_text(report, color=True)  # our own colours still work
