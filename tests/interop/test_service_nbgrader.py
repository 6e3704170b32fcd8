"""The grading service's nbgrader export holds what formgrader needs: each counted report in a new
nbgrader gradebook, an autograded notebook per submission (a report of the service comes from no
notebook, so the notebook is made from the report), and each submission's arrival and late penalty.
Checked with nbgrader's own API and its formgrader (a Jupyter server on loopback, the page fetched
plainly and rendered by headless Chromium, whose JavaScript finds each score box by its grade id)."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.interop.nbgrader.compat import nbgrader_meta
from grader.interop.nbgrader.gradebook import SAFE_ID
from grader.pipeline.grade import grade
from grader.service.config import load_config
from grader.service.gradebook import nbgrader_zip
from grader.spec import find_assignment
from grader.authoring.examples import materialise
from tests.conftest import COURSE
from tests.interop.nbgrader.test_nbgrader_roundtrip import _get, formgrader  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow
ASSIGNMENT = "05-backprop"
DUE = dt.datetime(2026, 12, 20, 23, 59, tzinfo=dt.timezone.utc)
COURSE_TOML = f"""[service]
clone_url = "https://git.example.org/{{repo}}.git"
roster = "roster.csv"

[assignments.{ASSIGNMENT}]
deadline = {DUE.isoformat().replace("+00:00", "Z")}

[late]
policy = "percent_per_day"
percent_per_day = 10
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[object, list[dict], dict[int, dict]]:
    """The service's config, its job rows and their reports: alice on time, bob 1 d 2 h late, both
    graded for real (a mistake that loses some points, and the reference's full marks)."""
    root = tmp_path_factory.mktemp("service")
    (root / "course.toml").write_text(COURSE_TOML)
    (root / "roster.csv").write_text("student,name,repository\nalice,Alice,course/alice\nbob,Bob,course/bob\n")
    config = load_config(root / "course.toml", course=COURSE,
                         environ={"GRADER_WEBHOOK_SECRET": "s" * 32, "GRADER_INSTRUCTOR_TOKEN": "t" * 32})
    spec = find_assignment(COURSE, ASSIGNMENT)
    mistake = grade(spec, materialise(COURSE, ASSIGNMENT, "no-bias-sum"), isolate=False, name="alice")
    other = grade(spec, materialise(COURSE, ASSIGNMENT, "loss-summed"), isolate=False, name="bob")
    reports = {1: mistake, 2: copy.deepcopy(other)}
    late = (26 * 3600.0)
    jobs = [_job(1, "alice", reports[1], DUE.timestamp() - 3600, 0.0),
            _job(2, "bob", reports[2], DUE.timestamp() + late, late)]
    assert {r["status"] for r in reports.values()} == {"graded"}
    return config, jobs, reports


def _job(job: int, student: str, report: dict, received: float, late: float) -> dict:
    return {"id": job, "student": student, "assignment": ASSIGNMENT, "received_at": received, "state": "done",
            "score": report["score"], "max_score": report["max_score"], "late_seconds": late}


@pytest.fixture(scope="module")
def exported(graded, tmp_path_factory) -> Path:
    """The zip `/gradebook/nbgrader.zip` serves, unpacked: the folder formgrader is started in."""
    config, jobs, reports = graded
    data = nbgrader_zip(config, jobs, ASSIGNMENT, reports.__getitem__)
    folder = tmp_path_factory.mktemp("nbgrader-course")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["autograded/alice/05-backprop/05-backprop.ipynb",
                                              "autograded/bob/05-backprop/05-backprop.ipynb", "gradebook.db"]
        archive.extractall(folder)
    return folder


def _grade_ids(notebook: Path) -> list[str]:
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    return [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("grade")]


def test_gradebook_holds_scores_arrival_and_late_penalty(graded, exported):
    _, _, reports = graded
    with Gradebook(f"sqlite:///{exported / 'gradebook.db'}") as gb:
        alice, bob = gb.find_submission(ASSIGNMENT, "alice"), gb.find_submission(ASSIGNMENT, "bob")
        assert (alice.score, bob.score) == (reports[1]["score"], reports[2]["score"])
        assert alice.total_seconds_late == 0 and bob.total_seconds_late == pytest.approx(26 * 3600)
        assert alice.late_submission_penalty == 0
        assert bob.late_submission_penalty == pytest.approx(reports[2]["score"] * 0.2)  # 2 days started
    for student, job in (("alice", 1), ("bob", 2)):
        ids = _grade_ids(exported / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        assert len(ids) == len(reports[job]["tests"]) == len(set(ids))
        assert all(SAFE_ID.search(i) is None for i in ids)  # formgrader's page puts them in CSS selectors


def test_formgrader_shows_each_service_submission(graded, exported, formgrader):  # noqa: F811
    _, _, reports = graded
    with Gradebook(f"sqlite:///{exported / 'gradebook.db'}") as gb:
        ids = {s: gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s).id for s in ("alice", "bob")}
    for student, job in (("alice", 1), ("bob", 2)):
        status, page = _get(f"{formgrader}/formgrader/submissions/{ids[student]}/")
        assert status == 200 and "notebook file not found" not in page
        _, answer = _get(f"{formgrader}/formgrader/api/grades?submission_id={ids[student]}")
        shown = {g["name"]: g["auto_score"] for g in json.loads(answer)}
        assert sum(shown.values()) == reports[job]["score"]
        assert all(f'id="{gid}"' in page for gid in shown)


def test_formgrader_page_in_headless_chromium_fills_the_score_boxes(graded, exported, formgrader,  # noqa: F811
                                                                   tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.fail("no headless Chromium: install Debian's `chromium` package (make install does, as root)")
    _, _, reports = graded
    with Gradebook(f"sqlite:///{exported / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "alice")
        expected = {g.name: g.auto_score for g in submission.grades}
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000", "--dump-dom",
                          f"{formgrader}/formgrader/submissions/{submission.id}/"],
                         capture_output=True, text=True, timeout=180, check=True).stdout
    for gid, score in expected.items():
        box = re.search(rf'<input[^>]*\bid="{re.escape(gid)}"[^>]*>', dom)
        assert box is not None, (gid, dom[-2000:])
        assert f'placeholder="{score:g}"' in box.group(0), (gid, box.group(0))
    assert len(set(expected.values())) >= 2 and reports[1]["score"] < reports[1]["max_score"]
