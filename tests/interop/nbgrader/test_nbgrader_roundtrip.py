"""The round trip with the real nbgrader: `nbgrader generate_assignment` and `autograde` make a course
and its gradebook, we grade the same submissions, `grader nbgrader export` puts our scores into that
same gradebook, and nbgrader's formgrader (its Jupyter server extension, started on loopback) serves
each submission's page and the grades that page loads. An export that fails half-way, or that does not
fit the gradebook, leaves the gradebook byte-identical and writes no notebook.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.interop.nbgrader.compat import grade_notebook, master_notebook, nbgrader_meta
from grader.interop.nbgrader.gradebook import MANUAL_PREFIX, ExportError, export_reports
from grader.report.write import write_report
from tests.interop.nbgrader.nbgrader_cases import CASES, run_nbgrader

pytestmark = pytest.mark.slow
ASSIGNMENT = "ps1"


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course after nbgrader's generate_assignment and autograde, with our reports in reports/."""
    root = tmp_path_factory.mktemp("course")
    run_nbgrader(root, ASSIGNMENT, CASES["ps1"])
    for notebook, _, students in CASES["ps1"]:
        for student in students:
            report = grade_notebook(root / "source" / ASSIGNMENT / f"{notebook}.ipynb",
                                    root / "submitted" / student / ASSIGNMENT / f"{notebook}.ipynb",
                                    name=student, isolate=False)
            assert report["status"] == "graded", report["reason"]
            write_report(report, root / "reports" / notebook / f"{student}.json")
    return root


def _reports(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "reports").rglob("*.json"))]


def _digest(root: Path) -> dict[str, str]:
    """sha256 of the gradebook and of every autograded file: what an export may change."""
    files = [root / "gradebook.db", *sorted((root / "autograded").rglob("*"))]
    return {str(f.relative_to(root)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}


def _copy(root: Path, tmp_path: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(root, target)
    return target


def _maxima(db: Path) -> dict:
    with Gradebook(f"sqlite:///{db}") as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        return {"assignment": float(assignment.max_score),
                **{nb.name: (float(nb.max_score), sorted(c.name for c in nb.grade_cells))
                   for nb in assignment.notebooks}}


def test_export_failing_half_way_changes_nothing(course, tmp_path, monkeypatch):
    root = _copy(course, tmp_path)
    before = _digest(root)
    calls = {"n": 0}
    real = Gradebook.find_grade

    def failing(self, *args, **kwargs):  # a fault after some grades were already set
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("disk gone")
        return real(self, *args, **kwargs)

    reports = _reports(root)
    reports[0]["submission"]["name"] = "newcomer"  # a new student and submission: rows to insert ...
    for test in reports[1]["tests"]:
        test["score"] = 0  # ... and grades to change, before the fault
    monkeypatch.setattr(Gradebook, "find_grade", failing)
    with pytest.raises(RuntimeError, match="disk gone"):
        export_reports(reports, f"sqlite:///{root / 'gradebook.db'}", ASSIGNMENT)
    assert calls["n"] == 5
    assert _digest(root) == before
    monkeypatch.setattr(Gradebook, "find_grade", real)
    export_reports(reports, f"sqlite:///{root / 'gradebook.db'}", ASSIGNMENT)  # the same export, no fault
    assert _digest(root) != before


def test_export_that_does_not_fit_the_gradebook_changes_nothing(course, tmp_path):
    root = _copy(course, tmp_path)
    before = _digest(root)
    reports = _reports(root)
    reports[-1]["tests"][0]["name"] = "problem2.ipynb::not-a-cell-of-this-gradebook"
    with pytest.raises(ExportError, match="not-a-cell-of-this-gradebook"):
        export_reports(reports, f"sqlite:///{root / 'gradebook.db'}", ASSIGNMENT)
    assert _digest(root) == before


def test_export_into_a_fresh_gradebook_uses_nbgrader_names_and_cell_types(course, tmp_path):
    root = _copy(course, tmp_path)
    shutil.rmtree(root / "autograded")
    db = root / "fresh.db"
    assert export_reports(_reports(root), f"sqlite:///{db}", ASSIGNMENT, course=root) == 4
    with Gradebook(f"sqlite:///{db}") as gb:
        for notebook, _, _ in CASES["ps1"]:
            master = master_notebook(nbformat.read(root / "source" / ASSIGNMENT / f"{notebook}.ipynb", 4))
            wanted = {nbgrader_meta(c)["grade_id"]: c.cell_type for c in master.cells if nbgrader_meta(c).get("grade")}
            stored = {c.name: c.cell_type for c in gb.find_notebook(notebook, ASSIGNMENT).grade_cells}
            assert stored == wanted
        for report in _reports(root):
            found = gb.find_submission_notebook(report["assignment"]["id"], ASSIGNMENT, report["submission"]["name"])
            assert float(found.score) == float(report["score"])
    assert "markdown" in {t for notebook, _, _ in CASES["ps1"] for t in _cell_types(root, notebook)}
    assert (root / "autograded" / "hacker" / ASSIGNMENT / "problem2.ipynb").is_file()


def _cell_types(root: Path, notebook: str) -> list[str]:
    master = master_notebook(nbformat.read(root / "source" / ASSIGNMENT / f"{notebook}.ipynb", 4))
    return [c.cell_type for c in master.cells if nbgrader_meta(c).get("grade")]


@pytest.fixture(scope="module")
def exported(course) -> Path:
    """`grader nbgrader export` (its CLI) into the gradebook nbgrader's autograde made."""
    before = _maxima(course / "gradebook.db")
    shutil.rmtree(course / "autograded")  # so the notebooks formgrader opens are ours
    result = subprocess.run([sys.executable, "-m", "grader", "nbgrader", "export", str(course / "reports"),
                             "--db", f"sqlite:///{course / 'gradebook.db'}", "--assignment", ASSIGNMENT],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert _maxima(course / "gradebook.db") == before  # no cell added, no maximum doubled
    return course


def test_scores_in_nbgrader_gradebook_are_ours(exported):
    with Gradebook(f"sqlite:///{exported / 'gradebook.db'}") as gb:
        for report in _reports(exported):
            notebook, student = report["assignment"]["id"], report["submission"]["name"]
            found = gb.find_submission_notebook(notebook, ASSIGNMENT, student)
            assert float(found.score) == float(report["score"]), (notebook, student)
            assert float(found.max_score) == float(report["max_score"])
            for test in report["tests"]:
                grade = gb.find_grade(test["name"].split("::")[-1], notebook, ASSIGNMENT, student)
                if test["message"].startswith(MANUAL_PREFIX):
                    assert grade.auto_score is None and grade.needs_manual_grade
                else:
                    assert grade.auto_score == test["score"] and not grade.needs_manual_grade


def test_autograded_notebooks_carry_nbgrader_metadata(exported):
    for notebook, _, students in CASES["ps1"]:
        master = master_notebook(nbformat.read(exported / "source" / ASSIGNMENT / f"{notebook}.ipynb", 4))
        types = {nbgrader_meta(c)["grade_id"]: c.cell_type for c in master.cells if nbgrader_meta(c).get("grade_id")}
        for student in students:
            nb = nbformat.read(exported / "autograded" / student / ASSIGNMENT / f"{notebook}.ipynb", 4)
            nbformat.validate(nb)
            found = {nbgrader_meta(c)["grade_id"]: c.cell_type for c in nb.cells if nbgrader_meta(c).get("grade_id")}
            assert found == types


@pytest.fixture(scope="module")
def formgrader(exported):
    """nbgrader's formgrader: a Jupyter server with its extension, on loopback, in the course folder.

    Without a token: Chromium opens one URL, and the page's own requests for the grades would not carry
    a token given in that URL (the server answers them with a redirect to its login page). The server
    listens on 127.0.0.1 only, on a free port, for this module's tests."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "HOME": str(exported), "JUPYTER_RUNTIME_DIR": str(exported / ".runtime")}
    log = open(exported / "formgrader.log", "wb")  # noqa: SIM115 (closed below)
    server = subprocess.Popen([sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1",
                               f"--port={port}", "--IdentityProvider.token=", "--ServerApp.password=",
                               f"--ServerApp.root_dir={exported}", "--allow-root"],
                              cwd=exported, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(f"{base}/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("formgrader's server did not start:\n" + (exported / "formgrader.log").read_text())
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (loopback)
        return response.status, response.read().decode()


def test_formgrader_shows_each_submission_with_our_scores(exported, formgrader):
    with Gradebook(f"sqlite:///{exported / 'gradebook.db'}") as gb:
        ids = {(nb.notebook.name, nb.student.id): nb.id for s in gb.find_assignment(ASSIGNMENT).submissions
               for nb in s.notebooks}
    for report in _reports(exported):
        notebook, student = report["assignment"]["id"], report["submission"]["name"]
        status, page = _get(f"{formgrader}/formgrader/submissions/{ids[(notebook, student)]}/")
        assert status == 200 and "notebook file not found" not in page
        _, grades = _get(f"{formgrader}/formgrader/api/grades?submission_id={ids[(notebook, student)]}")
        shown = {g["name"]: g for g in json.loads(grades)}
        for test in report["tests"]:
            gid = test["name"].split("::")[-1]
            assert f'id="{gid}"' in page, gid  # the score box formgrader's page fills from the grades
            assert shown[gid]["max_score"] == test["max_score"]
            if not shown[gid]["needs_manual_grade"]:
                assert shown[gid]["auto_score"] == test["score"], (notebook, student, gid)



def test_formgrader_page_in_headless_chromium_shows_our_scores(exported, formgrader, tmp_path):
    """formgrader's own JavaScript fetches the grades and puts each auto score into its score box (as
    the box's placeholder); the page as Chromium rendered it must show our scores there."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.fail("no headless Chromium: install Debian's `chromium` package (make install does, as root)")
    report = max(_reports(exported), key=lambda r: (len({t["score"] for t in r["tests"]}), r["score"]))
    notebook, student = report["assignment"]["id"], report["submission"]["name"]
    with Gradebook(f"sqlite:///{exported / 'gradebook.db'}") as gb:
        submission_id = gb.find_submission_notebook(notebook, ASSIGNMENT, student).id
    url = f"{formgrader}/formgrader/submissions/{submission_id}/"
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000",
                          "--dump-dom", url], capture_output=True, text=True, timeout=180, check=True).stdout
    checked = 0
    for test in report["tests"]:
        if test["message"].startswith(MANUAL_PREFIX):
            continue
        gid = test["name"].split("::")[-1]
        box = re.search(rf'<input[^>]*\bid="{re.escape(gid)}"[^>]*>', dom)
        assert box is not None, (gid, dom[-2000:])
        assert f'placeholder="{test["score"]:g}"' in box.group(0), (gid, box.group(0))
        checked += 1
    assert checked >= 2 and len({t["score"] for t in report["tests"]}) >= 2  # a page with passes and fails


def test_cli_settings_reach_the_grading_and_the_cache(tmp_path):
    """`grader nbgrader grade --cell-timeout/--add-missing-cells`: the hanging cell is interrupted and
    the deleted grade cell put back; a report graded under other settings is graded again, not reused."""
    robust = CASES["robust"][0][1].parent
    out = tmp_path / "reports"

    def grade(*options: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "grader", "nbgrader", "grade", str(robust / "source.ipynb"),
                               str(robust / "hang.ipynb"), str(robust / "deleted.ipynb"), "--out", str(out),
                               "--sandbox", "local", *options], capture_output=True, text=True, timeout=300)

    first = grade("--cell-timeout", "3")
    assert first.returncode == 0, first.stderr
    scores = {n: json.loads((out / f"{n}.json").read_text())["score"] for n in ("hang", "deleted")}
    assert scores == {"hang": 3, "deleted": 2}
    assert "2 cached" in grade("--cell-timeout", "3").stderr
    added = grade("--cell-timeout", "3", "--add-missing-cells")
    assert added.returncode == 0 and "cached" not in added.stderr, added.stderr
    assert json.loads((out / "deleted.json").read_text())["score"] == 3
