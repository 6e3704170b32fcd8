"""Does the Gradescope autograder zip grade like `grader grade` when Gradescope runs it?

The zip is unpacked into a folder laid out like Gradescope's /autograder (source, submission,
results) and its own run_autograder is run: in a plain folder (paths parametrised by
AUTOGRADER_ROOT), and in a container of this project's sandbox image mounted at /autograder, as root
and without network, as Gradescope runs it. results.json is checked against Gradescope's documented
fields and its scores against the report `grader grade` writes for the same submission.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import cli
from grader.interop.gradescope import JUDGE_REQUIREMENTS, build_autograder_zip, run_in_gradescope
from grader.report.views.hidden import student_names
from grader.spec import find_assignment
from grader.authoring.examples import materialise
from tests.conftest import COURSE

ASSIGNMENT = "05-backprop"
SUBMISSIONS = {"no-bias-sum": materialise(COURSE, ASSIGNMENT, "no-bias-sum"),
               "solution": COURSE / "solutions" / ASSIGNMENT}
# Unjailed in a container, a submission's import forks a daemon (holding none of the runner's pipes)
# that keeps forging results.json after run_autograder has ended, when Gradescope reads it.
FORGER = """import os as _os, time as _time
if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        _os.closerange(0, 4096)
        for _ in range(1200):
            try:
                with open("/autograder/results/results.json", "w") as _f:
                    _f.write('{"score": 1000, "output": "forged"}')
            except OSError:
                pass
            _time.sleep(0.05)
    _os._exit(0)
"""
TOP_LEVEL = {"score", "execution_time", "output", "output_format", "test_output_format",
             "stdout_visibility", "visibility", "extra_data", "tests"}
TEST_FIELDS = {"name", "number", "score", "max_score", "status", "visibility", "output", "tags"}


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gs") / "autograder.zip"
    assert cli.main(["--course", str(COURSE), "gradescope", "package", ASSIGNMENT, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, dict]:
    """{submission: report} from `grader grade` itself, the scores the zip must reproduce."""
    out = tmp_path_factory.mktemp("reports")
    reports = {}
    for name, path in SUBMISSIONS.items():
        assert cli.main(["--course", str(COURSE), "grade", ASSIGNMENT, str(path), "--out", str(out / name),
                         "--sandbox", "local"]) == 0
        reports[name] = json.loads(next((out / name).glob("*.json")).read_text())
    return reports


def _layout(root: Path, autograder_zip: Path, submission: Path) -> Path:
    """/autograder as Gradescope lays it out: source (the zip), submission (the upload), results."""
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # zipfile drops the mode bits; Gradescope's unzip keeps them
            (root / "source" / info.filename).chmod(info.external_attr >> 16 & 0o777)
    shutil.copytree(submission, root / "submission")
    (root / "results").mkdir()
    os.chmod(root, 0o755)
    return root


def _check_results(results: dict, report: dict) -> None:
    assert set(results) == TOP_LEVEL
    assert all(set(t) == TEST_FIELDS for t in results["tests"])
    assert results["score"] == report["score"]
    assert [(t["name"], t["score"], t["max_score"]) for t in results["tests"]] == \
        [(n, t["score"], t["max_score"]) for n, t in zip(student_names(report["tests"]), report["tests"])]
    assert sum(t["max_score"] for t in results["tests"]) == report["max_score"]


def test_zip_holds_what_gradescope_runs(autograder_zip, tmp_path):
    with zipfile.ZipFile(autograder_zip) as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        manifest = json.loads(archive.read("manifest.json"))
        requirements = archive.read("requirements.txt").decode().split()
        scripts = {n: archive.read(n).decode() for n in ("setup.sh", "run_autograder")}
    assert {"setup.sh", "run_autograder", "requirements.txt", "grader/pipeline/grade.py", "grader/__main__.py",
            f"course/assignments/{ASSIGNMENT}/assignment.toml", f"course/solutions/{ASSIGNMENT}/layers.py"} <= names
    assert any(n.startswith(f"course/assignments/{ASSIGNMENT}/tests/hidden/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert all(modes[n] & stat.S_IXUSR for n in scripts)
    assert sorted(r.split("==")[0] for r in requirements) == sorted(JUDGE_REQUIREMENTS)
    assert set(manifest["files"]) == names - {"setup.sh", "run_autograder", "requirements.txt", "manifest.json"}
    assert f"gradescope run {ASSIGNMENT}" in scripts["run_autograder"]
    for name, text in scripts.items():
        (tmp_path / name).write_text(text)
        shell = "sh" if text.startswith("#!/bin/sh") else "bash"
        subprocess.run([shell, "-n", str(tmp_path / name)], check=True)
    assert not any(n.startswith("course/data/") for n in names)  # 05 reads no data set
    again = tmp_path / "again.zip"
    build_autograder_zip(find_assignment(COURSE, ASSIGNMENT), again)
    assert again.read_bytes() == autograder_zip.read_bytes()  # reproducible: same course, same bytes


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SUBMISSIONS))
def test_run_autograder_in_a_gradescope_layout(name, autograder_zip, graded, tmp_path):
    root = _layout(tmp_path / "autograder", autograder_zip, SUBMISSIONS[name])
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADER_PYTHON": sys.executable}
    proc = subprocess.run([str(root / "source" / "run_autograder")], env=env, cwd="/",
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    _check_results(json.loads((root / "results" / "results.json").read_text()), graded[name])


def test_a_data_set_the_tests_name_is_packed(tmp_path):
    out = tmp_path / "mlp.zip"
    manifest = build_autograder_zip(find_assignment(COURSE, "09-mnist-mlp"), out)
    assert any(name.startswith("course/data/mnist/") for name in manifest["files"])


def test_no_score_writes_no_results_and_fails(tmp_path, monkeypatch):
    """An infra_error must reach Gradescope as an autograder failure, never as a zero."""
    import grader.pipeline.grade

    def broken(spec, source, **kwargs):
        return {"score": None, "status": "infra_error", "reason": "engine down"}

    monkeypatch.setattr(grader.pipeline.grade, "grade", broken)
    results = tmp_path / "results" / "results.json"
    report, written = run_in_gradescope(find_assignment(COURSE, ASSIGNMENT), tmp_path, results, reap=False)
    assert not written and not results.exists() and report["status"] == "infra_error"


@pytest.mark.docker
@pytest.mark.slow
def test_run_autograder_in_the_sandbox_image(autograder_zip, graded, tmp_path):
    """The image has Python and numpy but not the judge's libraries, and no network to install them:
    the distributions setup.sh would install (requirements.txt and what they require, numpy being
    the image's own) are copied from this machine and mounted on the container's PYTHONPATH."""
    from grader.sandbox.image import connect, ensure_image

    client = connect()
    tag = ensure_image(client)
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    (hostile / "layers.py").write_text(FORGER + (SUBMISSIONS["no-bias-sum"] / "layers.py").read_text())
    root = _layout(tmp_path / "autograder", autograder_zip, hostile)
    site = _installed_like_setup_sh(tmp_path / "deps")
    output = client.containers.run(
        tag, ["sh", "-c", "/autograder/source/run_autograder; sleep 2"], user="0", network_disabled=True, remove=True,
        working_dir="/", entrypoint="", stdout=True, stderr=True,
        environment={"GRADER_PYTHON": "python3", "PYTHONPATH": "/opt/deps", "PATH": "/usr/bin:/bin"},
        volumes={str(root): {"bind": "/autograder", "mode": "rw"}, site: {"bind": "/opt/deps", "mode": "ro"}})
    results = json.loads((root / "results" / "results.json").read_text())
    _check_results(results, graded["no-bias-sum"])
    assert results["extra_data"]["sandbox"].startswith("local"), output
    assert "forged" not in json.dumps(results)  # the daemon was killed before results.json was written


def _installed_like_setup_sh(target: Path) -> str:
    """Copy the installed files of the judge's requirements and their dependencies, numpy excepted."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    todo, seen = [r for r in JUDGE_REQUIREMENTS if r != "numpy"], {"numpy"}
    while todo:
        name = todo.pop()
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        for required in map(Requirement, dist.requires or []):
            if required.marker is None or required.marker.evaluate({"extra": ""}):
                todo.append(required.name)
        for file in dist.files or []:
            source = Path(dist.locate_file(file))
            if source.is_file() and ".." not in file.parts:
                (target / file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / file)
    return str(target)
