"""The GitHub workflow templates validate against SchemaStore's workflow schema (vendored here, see
SCHEMA_SOURCE.md) and keep the rules that make them safe: no secret in any workflow a student's push
runs, third-party actions pinned by full commit sha, the student's repository never executed, student
code graded only in the sandbox on the instructor's side, and the Classroom reporter fed what its
source (autograding-grading-reporter, src/main.js and src/notify-classroom.js) reads."""

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from grader.authoring.examples import materialise
from tests.conftest import COURSE

SCHEMA = json.loads((Path(__file__).with_name("github-workflow.schema.json")).read_text())
WORKFLOWS = sorted((COURSE / "ci" / "github").glob("*.yml"))
STUDENT_TRIGGERS = {"push", "pull_request", "pull_request_target", "issue_comment"}


def load(path: Path) -> dict:
    """The workflow as GitHub reads it: YAML 1.2, where `on` is a key, not the boolean PyYAML makes it."""
    data = yaml.safe_load(path.read_text())
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict) -> list[dict]:
    return [s for job in workflow["jobs"].values() for s in job["steps"]]


def student_side(workflow: dict) -> bool:
    return bool(STUDENT_TRIGGERS & set(workflow["on"]))


STUDENT = [p for p in WORKFLOWS if student_side(load(p))]
INSTRUCTOR = [p for p in WORKFLOWS if not student_side(load(p))]


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_valid_against_the_official_schema(path):
    jsonschema.validators.validator_for(SCHEMA)(SCHEMA).validate(load(path))


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_actions_are_pinned_by_full_commit_sha(path):
    for step in steps(load(path)):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


@pytest.mark.parametrize("path", STUDENT, ids=[p.name for p in STUDENT])
def test_no_secret_reaches_a_workflow_the_student_owns(path):
    """A student can edit a workflow in their repository to print anything it is given: give it nothing."""
    text = path.read_text()
    assert "secrets." not in text and "GRADER_TOKEN" not in text
    workflow = load(path)
    assert re.fullmatch(r"[0-9a-f]{40}", workflow["env"]["HANDOUT_REF"])
    checkouts = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/checkout@")]
    assert all("token" not in s["with"] for s in checkouts)
    assert all(s["with"].get("persist-credentials") is False for s in checkouts)
    assert all(s["with"].get("submodules", False) is False for s in checkouts)
    assert set(workflow.get("permissions", {}).values()) <= {"read", "write"}
    assert workflow["permissions"].get("contents") == "read"


@pytest.mark.parametrize("path", STUDENT, ids=[p.name for p in STUDENT])
def test_student_side_runs_only_the_public_tests_on_the_work_as_data(path):
    for step in steps(load(path)):
        assert step.get("working-directory", "grader") == "grader"
        run = step.get("run", "")
        assert "submission/" not in run.replace("$GITHUB_WORKSPACE/submission", "")
        assert not re.search(r"\b(make|pytest|bash|sh)\b.*submission", run)
        assert "grader grade" not in run and "hidden" not in run
    text = path.read_text()
    assert " check " in text or 'visibility="public"' in text
    assert "grade of record" in text


@pytest.mark.parametrize("path", INSTRUCTOR, ids=[p.name for p in INSTRUCTOR])
def test_instructor_side_never_gives_its_secret_to_the_step_running_student_code(path):
    workflow = load(path)
    assert set(workflow["on"]) <= {"schedule", "repository_dispatch", "workflow_dispatch"}
    grading = [s for s in steps(workflow) if "grader grade" in s.get("run", "")]
    assert grading and all("--sandbox docker" in s["run"] for s in grading)
    for step in grading:
        assert "secrets." not in json.dumps(step)
    assert any("secrets." in json.dumps(s) for s in steps(workflow) if "statuses" in s.get("run", ""))


def test_there_are_advisory_classroom_and_instructor_templates():
    assert {p.name for p in STUDENT} == {"check.yml", "classroom.yml"}
    assert {p.name for p in INSTRUCTOR} == {"instructor-grade.yml"}


def heredoc(step: dict) -> str:
    """The Python program a step feeds to `python - ... <<'PY'`."""
    run = step["run"]
    return run.split("<<'PY'", 1)[1].split("\n", 1)[1].rsplit("\nPY", 1)[0]


def reporter_reads(env: dict[str, str], runners: str) -> tuple[list[dict], float, float]:
    """What the reporter does with the step's output: parse each <RUNNER>_RESULTS (base64 JSON), then
    NotifyClassroom's sum of tests' scores and max_score over runners that have a max_score."""
    results = [json.loads(base64.b64decode(env[f"{r.strip().upper()}_RESULTS"]).decode()) for r in runners.split(",")]
    total = sum(t["score"] for r in results if r["max_score"] for t in r["tests"])
    top = sum(r["max_score"] for r in results if r["max_score"])
    return results, total, top


@pytest.fixture(scope="module")
def classroom_emits(tmp_path_factory):
    """Run classroom.yml's two steps as written on a real submission; what the reporter step receives."""
    workflow = load(COURSE / "ci" / "github" / "classroom.yml")
    by_name = {s.get("name"): s for s in steps(workflow)}
    grade, encode = by_name["Public tests"], by_name["Encode the points for the Classroom reporter"]
    reporter = next(s for s in steps(workflow) if s.get("uses", "").startswith("classroom-resources/"))
    tmp = tmp_path_factory.mktemp("classroom")

    def emit(report_path: Path) -> dict[str, str]:
        out = subprocess.run([sys.executable, "-", str(report_path)], input=heredoc(encode), cwd=COURSE,
                             capture_output=True, text=True, check=True).stdout
        outputs = dict(line.split("=", 1) for line in out.splitlines())
        step_output = outputs["result"]
        env = {k: v.replace("${{ steps.public.outputs.result }}", step_output) for k, v in reporter["env"].items()}
        return env

    report = tmp / "public.json"
    example = materialise(COURSE, "02-linear-regression", "gradient-not-divided-by-n")
    subprocess.run([sys.executable, "-", "02-linear-regression", str(example), str(report)], input=heredoc(grade),
                   cwd=COURSE, capture_output=True, text=True, check=True)
    return emit, json.loads(report.read_text()), reporter["with"]["runners"], encode["id"], tmp


def test_classroom_reporter_gets_the_public_points_in_its_format(classroom_emits):
    emit, report, runners, step_id, tmp = classroom_emits
    assert runners == step_id == "public"
    results, total, top = reporter_reads(emit(tmp / "public.json"), runners)
    assert {"max_score", "tests", "status"} <= set(results[0]) and "grade" not in results[0]
    assert report["status"] == "graded" and all(t["visibility"] == "visible" for t in report["tests"])
    assert (total, top) == (report["score"], report["max_score"]) and 0 < total < top
    assert results[0]["status"] == "fail"
    assert len(results[0]["tests"]) == len(report["tests"])


@pytest.mark.parametrize("status", ["skipped", "infra_error"])
def test_classroom_reporter_records_no_zero_for_a_report_without_a_score(classroom_emits, status):
    emit, report, runners, _, tmp = classroom_emits
    unscored = {**report, "status": status, "score": None, "reason": "torch is not installed in the sandbox"}
    path = tmp / f"{status}.json"
    path.write_text(json.dumps(unscored))
    results, total, top = reporter_reads(emit(path), runners)
    assert top == 0 and total == 0            # NotifyClassroom returns before posting: nothing recorded
    assert results[0]["status"] == "error"    # and the reporter fails the run ("Some tests errored.")
    assert "torch is not installed" in results[0]["tests"][0]["message"]
