"""Hostile inputs in one batch: every submission gets a report, and the batch goes on.

The inputs examples/hostile/make_inputs.py writes (non-UTF-8 names, a lying zip, broken notebooks,
decompression bombs, a git repository that checks out 2 GB) are graded in ONE batch together with
the reference, an honest neighbour packed as a .tar.gz, and the folder cases that attack the report
itself (a forged NaN greeting, ANSI escapes). Each must get the verdict inputs.toml or expected.toml
gives it, the reference and the neighbour full marks, and nothing may be left in the temp folder.
"""

from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path

import pytest

from grader.pipeline import grade as grading
from grader.pipeline.batch import grade_batch
from grader.authoring.examples import hostile_cases, problems
from grader.report.views.console import to_text
from grader.report.write import validate_report, write_report
from grader.spec import find_assignment
from tests.conftest import COURSE, own_grader_folders

HOSTILE = COURSE / "examples" / "hostile"
INPUTS = tomllib.loads((HOSTILE / "inputs.toml").read_text())
FOLDER_CASES = ("forged-nan-hello", "ansi-escapes")


def _builder():
    spec = importlib.util.spec_from_file_location("hostile_make_inputs", HOSTILE / "make_inputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _grade(sandbox: str, out: Path, inputs: Path) -> dict[str, dict]:
    spec = find_assignment(COURSE, "05-backprop")
    built = _builder().build(inputs)
    folder_cases = {c.name: c.path for c in hostile_cases(COURSE) if c.name in FOLDER_CASES}
    sources = {**built, **folder_cases, "reference": spec.solution}
    return grade_batch(spec, list(sources.values()), out, sandbox=sandbox, jobs=2, progress=None,
                       names=list(sources))


@pytest.fixture(scope="module")
def local_batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile-inputs")
    return _grade("local", out / "reports", out / "inputs"), out / "reports"


def _check_batch(reports: dict[str, dict], out: Path) -> None:
    expected = set(INPUTS) | set(FOLDER_CASES) | {"reference"}
    assert set(reports) == expected
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.json" for name in expected)
    for name, report in reports.items():
        validate_report(report)
        assert report["status"] != "infra_error", f"{name}: {report['reason']}"
    for name, want in INPUTS.items():
        report = reports[name]
        assert report["status"] == want["status"], (name, report["reason"])
        if "mentions" in want:
            assert want["mentions"] in (report["reason"] or ""), (name, report["reason"])
        if want.get("score") == "full":
            assert report["score"] == report["max_score"] > 0, name
        elif report["status"] == "invalid_submission":
            assert report["score"] == 0
    assert reports["reference"]["score"] == reports["reference"]["max_score"] > 0
    for case in hostile_cases(COURSE):
        if case.name in FOLDER_CASES:
            assert problems(case, reports[case.name]) == [], case.name


@pytest.mark.slow
def test_one_batch_grades_every_hostile_input_under_local(local_batch):
    reports, out = local_batch
    _check_batch(reports, out)
    assert own_grader_folders() == []


@pytest.mark.slow
def test_the_forged_nan_greeting_reaches_no_report(local_batch):
    report = local_batch[0]["forged-nan-hello"]
    assert report["status"] == "graded" and report["score"] == 0
    assert all(t["status"] != "passed" for t in report["tests"])
    assert "nan" not in json.dumps(report["environment"]).lower()


@pytest.mark.slow
def test_ansi_escapes_are_shown_not_obeyed(local_batch):
    report = local_batch[0]["ansi-escapes"]
    assert "\x1b[" in report["tests"][0]["message"]  # the report keeps the data as it came
    for hidden in (False, True):
        text = to_text(report, show_hidden=hidden)
        assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
        assert "\\x1b[2K" in text
        scores = [line for line in text.splitlines() if line.startswith("Score:")]
        assert scores == [f"Score: 0/{report['max_score']:g}" + _hidden_note(report, hidden)]


def _hidden_note(report: dict, hidden: bool) -> str:
    count = sum(t["visibility"] == "hidden" for t in report["tests"])
    return "" if hidden or not count else f" ({count} hidden test{'' if count == 1 else 's'} not shown)"


@pytest.mark.docker
@pytest.mark.slow
def test_one_batch_grades_every_hostile_input_under_docker(tmp_path):
    from grader.errors import InfrastructureError
    from grader.sandbox.image import connect, ensure_image

    try:
        ensure_image(connect())
    except InfrastructureError as exc:  # a docker test never skips: it fails and says why
        pytest.fail(f"this test needs a Docker engine and the sandbox image: {exc}", pytrace=False)
    out = tmp_path / "reports"
    _check_batch(_grade("docker", out, tmp_path / "inputs"), out)


# -- the batch's last resort, without a sandbox --------------------------------------------------------

def test_an_unexpected_error_is_that_submissions_infra_error_and_the_batch_goes_on(tmp_path, monkeypatch,
                                                                                  backprop):
    """A bug anywhere in grading one submission (here: grading.grade raising) costs that one its grade."""
    def fake_grade(spec, source, *, name, **_):
        if name == "boom":
            raise RecursionError("maximum recursion depth exceeded")
        return grading.failure_report(spec, name, "stand-in report")  # any valid report will do

    monkeypatch.setattr(grading, "grade", fake_grade)
    sources = [tmp_path / n for n in ("a", "boom", "c")]
    reports = grade_batch(backprop, sources, tmp_path / "out", progress=None)
    assert list(reports) == ["a", "boom", "c"]
    assert reports["boom"]["status"] == "infra_error"
    assert "RecursionError: maximum recursion depth exceeded" in reports["boom"]["reason"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.json", "boom.json", "c.json"]


def test_a_report_the_writer_refuses_becomes_an_infra_error_report(tmp_path, monkeypatch, backprop):
    def bad_report(spec, source, *, name, **_):
        report = grading.failure_report(spec, name, "x")
        report["score"] = float("nan")  # what no builder makes: the writer must refuse it
        return report

    monkeypatch.setattr(grading, "grade", bad_report)
    reports = grade_batch(backprop, [tmp_path / "a"], tmp_path / "out", progress=None)
    assert reports["a"]["status"] == "infra_error"
    write_report(reports["a"], tmp_path / "again.json")
