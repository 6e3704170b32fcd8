"""Does PrairieLearn get a results.json it accepts? Checked against its documented schema
(docs/externalGrading.md, "Grading results"), written as a JSON Schema here, and run in a folder laid
out like PrairieLearn's /grade job directory."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys

import jsonschema
import pytest

from grader import cli
from grader.errors import InfrastructureError
from grader.report.views.hidden import student_names
from grader.report.views.prairielearn import MAX_BYTES, to_prairielearn
from grader.report.write import validate_report
from grader.authoring.examples import materialise
from tests.conftest import COURSE

IMAGE = {"oneOf": [{"type": "string"},
                   {"type": "object", "required": ["url"],
                    "properties": {"url": {"type": "string"}, "label": {"type": "string"}}}]}
# PrairieLearn's documented results: score is mandatory when gradable; tests render in
# <pl-external-grader-results> with these fields.
RESULTS_SCHEMA = {
    "type": "object",
    "properties": {
        "gradable": {"type": "boolean"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "message": {"type": "string"}, "output": {"type": "string"},
        "format_errors": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "images": {"type": "array", "items": IMAGE},
        "tests": {"type": "array", "items": {
            "type": "object", "required": ["name", "points", "max_points"],
            "properties": {"name": {"type": "string"}, "description": {"type": "string"},
                           "points": {"type": "number", "minimum": 0},
                           "max_points": {"type": "number", "minimum": 0},
                           "message": {"type": "string"}, "output": {"type": "string"},
                           "images": {"type": "array", "items": IMAGE}}}},
    },
    "if": {"properties": {"gradable": {"const": False}}, "required": ["gradable"]},
    "then": {"required": ["format_errors"]},
    "else": {"required": ["score"]},
}


def _accepted(results: dict) -> dict:
    jsonschema.validate(results, RESULTS_SCHEMA)
    assert len(json.dumps(results).encode()) <= MAX_BYTES
    return results


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    """`grader grade`'s report of a submission with passes and failures, visible and hidden."""
    out = tmp_path_factory.mktemp("reports")
    assert cli.main(["--course", str(COURSE), "grade", "05-backprop",
                     str(materialise(COURSE, "05-backprop", "no-bias-sum")), "--out", str(out),
                     "--sandbox", "local"]) == 0
    return json.loads(next(out.glob("*.json")).read_text())


def test_results_follow_the_documented_schema(graded):
    results = _accepted(to_prairielearn(graded))
    assert results["gradable"] is True
    assert results["score"] == pytest.approx(graded["score"] / graded["max_score"])
    assert [(t["name"], t["points"], t["max_points"]) for t in results["tests"]] == \
        [(n, t["score"], t["max_score"]) for n, t in zip(student_names(graded["tests"]), graded["tests"])]
    hidden = {t["message"] for t in graded["tests"] if t["visibility"] == "hidden" and t["message"]}
    visible = {t["message"] for t in graded["tests"] if t["visibility"] == "visible"}
    assert hidden - visible and not any(m in json.dumps(results) for m in hidden - visible)


def test_invalid_submission_is_not_gradable(graded):
    invalid = {**copy.deepcopy(graded), "status": "invalid_submission", "score": 0,
               "reason": "/srv/course/subs/x.zip: not a readable zip archive"}
    validate_report(invalid)
    results = _accepted(to_prairielearn(invalid))
    assert results["gradable"] is False and results["format_errors"] == ["x.zip: not a readable zip archive"]
    assert "/srv/course" not in json.dumps(results)


@pytest.mark.parametrize("status", ["infra_error", "skipped"])
def test_no_score_is_refused(graded, status):
    with pytest.raises(InfrastructureError, match=status):
        to_prairielearn({**graded, "status": status, "score": None, "reason": "engine down"})


def test_huge_messages_stay_under_the_cap(graded):
    huge = copy.deepcopy(graded)
    for test in huge["tests"]:
        test.update(visibility="visible", status="failed", score=0, message="x" * 300_000)
    huge["score"] = 0
    results = _accepted(to_prairielearn(huge))
    assert results["tests"][0]["output"]  # cut, not dropped, while that fits


@pytest.mark.slow
def test_run_in_a_prairielearn_job_folder(graded, tmp_path):
    root = tmp_path / "grade"
    shutil.copytree(materialise(COURSE, "05-backprop", "no-bias-sum"), root / "student")
    (root / "data").mkdir()
    (root / "data" / "data.json").write_text("{}")
    # A subprocess, as PrairieLearn runs it: the command makes itself a subreaper, never pytest.
    subprocess.run([sys.executable, "-m", "grader", "--course", str(COURSE), "prairielearn", "run",
                    "05-backprop", "--root", str(root)], check=True, capture_output=True, timeout=600)
    results = _accepted(json.loads((root / "results" / "results.json").read_text()))
    assert results["score"] == pytest.approx(graded["score"] / graded["max_score"])


@pytest.mark.docker
@pytest.mark.slow
def test_the_documented_entrypoint_in_the_sandbox_image(graded, tmp_path):
    """The README's externalGradingOptions: the Gradescope zip unpacked as serverFilesCourse/dl_grader,
    the student's files in /grade/student, the entrypoint run in a container without network."""
    import zipfile

    from grader.interop.gradescope import build_autograder_zip
    from grader.sandbox.image import connect, ensure_image
    from grader.spec import find_assignment
    from tests.interop.test_gradescope import _installed_like_setup_sh

    root = tmp_path / "grade"
    bundle = root / "serverFilesCourse" / "dl_grader"
    build_autograder_zip(find_assignment(COURSE, "05-backprop"), tmp_path / "bundle.zip")
    with zipfile.ZipFile(tmp_path / "bundle.zip") as archive:
        archive.extractall(bundle)
    shutil.copytree(materialise(COURSE, "05-backprop", "no-bias-sum"), root / "student")
    client = connect()
    entrypoint = ("PYTHONPATH=/grade/serverFilesCourse/dl_grader:/opt/deps python3 -m grader "
                  "--course /grade/serverFilesCourse/dl_grader/course prairielearn run 05-backprop")
    client.containers.run(
        ensure_image(client), ["sh", "-c", entrypoint], user="0", network_disabled=True, remove=True,
        entrypoint="", environment={"PATH": "/usr/bin:/bin"},
        volumes={str(root): {"bind": "/grade", "mode": "rw"},
                 _installed_like_setup_sh(tmp_path / "deps"): {"bind": "/opt/deps", "mode": "ro"}})
    results = _accepted(json.loads((root / "results" / "results.json").read_text()))
    assert results["score"] == pytest.approx(graded["score"] / graded["max_score"])
