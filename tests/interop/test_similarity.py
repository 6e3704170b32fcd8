"""Does `grader similarity` rank a copied submission first, find exact duplicates from the reports'
sha256, and leave the starter's code out? The page is read in headless Chromium."""

from __future__ import annotations

import re
import shutil

import pytest

from grader import cli
from grader.pipeline.grade import grade
from grader.interop.similarity import find_pairs, load_entries
from grader.report.write import write_report
from grader.spec import find_assignment
from tests.conftest import COURSE
from tests.report.views.browser import chromium

ASSIGNMENT = "05-backprop"
RENAMES = {"dout": "upstream", "cache": "saved", "scores": "logits", "probs": "p", "loss": "total_loss",
           "grads": "gradients", "hidden": "h"}


def _disguise(code: str) -> str:
    """What a copier does: rename variables, reword comments, add a few lines."""
    for old, new in RENAMES.items():
        code = re.sub(rf"\b{old}\b", new, code)
    code = re.sub(r"#.*", "# my own work", code)
    return "import math  # unused\n\n" + code


@pytest.fixture(scope="module")
def course_subs(tmp_path_factory):
    """alice wrote the solution; bob disguised a copy; carol copied it byte for byte; dave handed in
    the starter untouched (he shares only the skeleton everyone got)."""
    subs = tmp_path_factory.mktemp("subs")
    solution = (COURSE / "solutions" / ASSIGNMENT / "layers.py").read_text()
    for name, code in (("alice", solution), ("bob", _disguise(solution)), ("carol", solution),
                       ("dave", (COURSE / "assignments" / ASSIGNMENT / "starter" / "layers.py").read_text())):
        (subs / name).mkdir()
        (subs / name / "layers.py").write_text(code)
    return subs


def test_pairs_ranked_with_the_starter_left_out(course_subs):
    spec = find_assignment(COURSE, ASSIGNMENT)
    entries = load_entries(spec, sorted(course_subs.iterdir()))
    pairs = find_pairs(spec, entries, threshold=0.0)
    ranked = [(p.a, p.b, p.kind) for p in pairs]
    assert ranked[0] == ("alice", "carol", "exact")
    near = {(p.a, p.b): p for p in pairs if p.kind == "near"}
    assert near[("alice", "bob")].score > 0.8 and near[("bob", "carol")].score > 0.8
    assert all(p.score < 0.2 for p in pairs if "dave" in (p.a, p.b))  # the skeleton alone is not shared code
    assert near[("alice", "bob")].shared_lines[0]


def test_exact_duplicates_from_reports_alone(course_subs, tmp_path):
    spec = find_assignment(COURSE, ASSIGNMENT)
    report = grade(spec, course_subs / "alice", isolate=False)
    for name in ("alice", "erin"):
        report["submission"]["name"] = name
        write_report(report, tmp_path / "reports" / f"{name}.json")
    pairs = find_pairs(spec, load_entries(spec, [tmp_path / "reports"]))
    assert [(p.a, p.b, p.kind) for p in pairs] == [("alice", "erin", "exact")]


def test_page_in_headless_chromium(course_subs, tmp_path):
    page = tmp_path / "similarity.html"
    shutil.copytree(course_subs, tmp_path / "subs")
    (tmp_path / "subs" / "mallory").mkdir()
    (tmp_path / "subs" / "mallory" / "layers.py").write_text("# <script>alert(1)</script>\n")
    assert cli.main(["--course", str(COURSE), "similarity", ASSIGNMENT, str(tmp_path / "subs"),
                     "--out", str(page)]) == 0
    dom = chromium(page, "--dump-dom")
    rows = re.findall(r'<tr class="pair (\w+)" data-rank="(\d+)" data-a="(\w+)" data-b="(\w+)"', dom)
    assert rows[0] == ("exact", "1", "alice", "carol")
    assert {(a, b) for _, _, a, b in rows} == {("alice", "carol"), ("alice", "bob"), ("bob", "carol")}
    assert dom.count('class="shared"') > 20  # the shared lines are marked
    assert "<script>" not in page.read_text()  # student text is escaped
