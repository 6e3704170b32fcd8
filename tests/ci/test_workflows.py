"""The GitHub workflow templates validate against SchemaStore's workflow schema (vendored here, see
SCHEMA_SOURCE.md) and keep the rules that make them safe: grader pinned to a commit, the student's
repository never executed, JUnit published, a score summary, a pass mark."""

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import COURSE

SCHEMA = json.loads((Path(__file__).with_name("github-workflow.schema.json")).read_text())
def load(path: Path) -> dict:
    """The workflow as GitHub reads it: YAML 1.2, where `on` is a key, not the boolean PyYAML makes it."""
    data = yaml.safe_load(path.read_text())
    if True in data:
        data["on"] = data.pop(True)
    return data


WORKFLOWS = sorted((COURSE / "ci" / "github").glob("*.yml"))


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_valid_against_the_official_schema(path):
    jsonschema.validators.validator_for(SCHEMA)(SCHEMA).validate(load(path))


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_student_repository_is_data(path):
    workflow = load(path)
    assert re.fullmatch(r"[0-9a-f]{40}", workflow["env"]["GRADER_REF"])
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    for step in steps:
        assert step.get("working-directory", "grader") == "grader"
        run = step.get("run", "")
        assert "submission/" not in run.replace("$GITHUB_WORKSPACE/submission", "")
        assert not re.search(r"\b(make|pytest|bash|sh)\b.*submission", run)
    checkouts = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout")]
    assert all(s["with"].get("persist-credentials") is False for s in checkouts)
    assert all(s["with"].get("submodules", False) is False for s in checkouts)
    text = path.read_text()
    assert "--to junit" in text and "GITHUB_STEP_SUMMARY" in text and "PASS_PERCENT" in text


def test_there_is_a_classroom_variant():
    assert {p.name for p in WORKFLOWS} >= {"grade.yml", "classroom.yml"}
