"""A git repository as a submission is fetched without running any of its code; reports export into
nbgrader's own gradebook."""

from __future__ import annotations

import shutil
import subprocess

from grader.pipeline.grade import grade
from grader.interop.nbgrader.gradebook import export_reports
from grader.spec import find_assignment
from grader.authoring.examples import materialise
from tests.conftest import COURSE

GIT = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t"]


def _repo(tmp_path):
    repo = tmp_path / "alice"
    repo.mkdir()
    subprocess.run([*GIT, "init", "-q", "-b", "main", str(repo)], check=True)
    shutil.copyfile(COURSE / "assignments/05-backprop/starter/layers.py", repo / "layers.py")
    (repo / "Makefile").write_text("all:\n\ttouch PWNED\n")
    subprocess.run([*GIT, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "start"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "checkout", "-qb", "done"], check=True)
    shutil.copyfile(COURSE / "solutions/05-backprop/layers.py", repo / "layers.py")
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qam", "done"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "checkout", "-q", "main"], check=True)
    return repo


def test_git_repository_with_a_ref_and_no_hooks(tmp_path, monkeypatch):
    repo = _repo(tmp_path)
    marker = tmp_path / "hook-ran"
    hooks = tmp_path / "template" / "hooks"
    hooks.mkdir(parents=True)
    for name in ("post-checkout", "post-merge", "reference-transaction", "pre-auto-gc"):
        (hooks / name).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (hooks / name).chmod(0o755)
    (tmp_path / "gitconfig").write_text(f"[core]\n\thooksPath = {hooks}\n")
    monkeypatch.setenv("GIT_TEMPLATE_DIR", str(tmp_path / "template"))  # would plant hooks in a clone
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))  # would point git at them
    spec = find_assignment(COURSE, "05-backprop")
    done = grade(spec, tmp_path / "alice#done", isolate=False)
    head = grade(spec, repo, isolate=False)
    assert (done["status"], done["score"]) == ("graded", done["max_score"])
    assert (head["status"], head["score"]) == ("graded", 0)
    assert not marker.exists() and not (repo / "PWNED").exists()
    assert sorted(done["submission"]["files"]) == ["Makefile", "layers.py"]


def test_missing_repository_is_invalid(tmp_path):
    spec = find_assignment(COURSE, "05-backprop")
    report = grade(spec, tmp_path / "nothing.git", isolate=False)
    assert report["status"] == "invalid_submission" and "cannot fetch" in report["reason"]


def test_export_into_nbgrader_gradebook(tmp_path):
    from nbgrader.api import Gradebook

    spec = find_assignment(COURSE, "05-backprop")
    reports = [grade(spec, materialise(COURSE, "05-backprop", "no-bias-sum"), isolate=False)]
    manual = {**reports[0], "submission": {**reports[0]["submission"], "name": "bob"},
              "tests": [{**t, "status": "not_run", "score": 0, "message": "skipped: graded by hand"}
                        if i == 0 else t for i, t in enumerate(reports[0]["tests"])]}
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    assert export_reports([*reports, manual], db, "hw5") == 2
    with Gradebook(db) as gb:
        notebook = gb.find_submission_notebook("05-backprop", "hw5", "no-bias-sum")
        assert notebook.score == reports[0]["score"] and notebook.max_score == reports[0]["max_score"]
        assert gb.find_submission_notebook("05-backprop", "hw5", "bob").needs_manual_grade


def test_nbgrader_commands_grade_and_export(tmp_path, capsys):
    """`grader nbgrader grade` then `grader nbgrader export`: the path an nbgrader course takes."""
    import json

    from nbgrader.api import Gradebook

    from grader import cli
    from tests.interop.nbgrader.nbgrader_cases import CASES

    _, source, students = CASES["ps1"][0]
    out = tmp_path / "reports"
    assert cli.main(["nbgrader", "grade", str(source), str(students["hacker"]), "--out", str(out),
                     "--sandbox", "local"]) == 0
    assert "hacker" in capsys.readouterr().out
    report = json.loads((out / "hacker.json").read_text())  # named as nbgrader's layout names students
    assert report["status"] == "graded" and report["max_score"] > 0
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    assert cli.main(["nbgrader", "export", str(out), "--db", db, "--assignment", "ps1"]) == 0
    with Gradebook(db) as gb:
        assert gb.find_submission_notebook(report["assignment"]["id"], "ps1", "hacker").score == report["score"]
    assert cli.main(["nbgrader", "grade", str(tmp_path / "missing.ipynb"), str(students["hacker"]),
                     "--out", str(out)]) == 2
    assert "missing.ipynb: no such notebook" in capsys.readouterr().err
