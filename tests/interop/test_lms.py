"""Do Canvas and Moodle get import files they read, with the instructor's overrides applied the same
way in every gradebook and no zero for our failures? Read back with csv, as those importers do."""

from __future__ import annotations

import copy
import csv
import io

import pytest

from grader import cli
from grader.pipeline.grade import grade
from grader.errors import GraderError
from grader.interop.lms import load_overrides, load_roster, to_canvas_csv, to_moodle_csv
from grader.report.views.gradebook import gradebook_table, to_gradebook_csv
from grader.report.views.html import to_html
from grader.report.write import write_report
from grader.spec import find_assignment
from tests.conftest import COURSE

OVERRIDES = """student,assignment,points,extra_credit,reason
alice,05-backprop,60,,appeal: the grader's tolerance was too tight on her machine
bob,05-backprop,,2.5,found a bug in the starter
"""
ROSTER = """student,name,canvas_id,sis_user_id,section,email,idnumber
alice,Alice Liddell,101,S-1,Lab A,alice@uni.example,A1
bob,"=Bob, the builder",102,S-2,Lab B,bob@uni.example,B2
carol,Carol Ann,103,S-3,Lab A,carol@uni.example,C3
"""


@pytest.fixture(scope="module")
def reports() -> list[dict]:
    """alice and bob graded (a real report), carol's grading failed on our side."""
    real = grade(find_assignment(COURSE, "05-backprop"), COURSE / "examples" / "05-backprop" / "no-bias-sum",
                 isolate=False)
    made = []
    for name in ("alice", "bob", "carol"):
        report = copy.deepcopy(real)
        report["submission"]["name"] = name
        made.append(report)
    made[2].update(status="infra_error", score=None, reason="engine down")
    return made


@pytest.fixture
def files(tmp_path):
    (tmp_path / "overrides.csv").write_text(OVERRIDES)
    (tmp_path / "roster.csv").write_text(ROSTER)
    return tmp_path


def test_canvas_import_file(reports, files):
    book = gradebook_table(reports, load_overrides(files / "overrides.csv"))
    text = to_canvas_csv(book, load_roster(files / "roster.csv"), {"05-backprop": "48213"})
    rows = list(csv.reader(io.StringIO(text)))
    column = f"{reports[0]['assignment']['title']} (48213)"
    assert rows[0] == ["Student", "ID", "SIS User ID", "Section", column]
    assert rows[1] == ["    Points Possible", "", "", "", str(reports[0]["max_score"])]
    table = {r[1]: r for r in rows[2:]}
    assert table["101"] == ["Alice Liddell", "101", "S-1", "Lab A", "60"]
    assert table["102"][0] == "'=Bob, the builder"  # a formula is defused
    assert float(table["102"][4]) == reports[1]["score"] + 2.5
    assert table["103"][4] == ""  # our failure: blank, which Canvas leaves unchanged; never a zero


def test_moodle_import_file(reports, files):
    book = gradebook_table(reports, load_overrides(files / "overrides.csv"))
    rows = list(csv.DictReader(io.StringIO(to_moodle_csv(book, load_roster(files / "roster.csv")))))
    title = reports[0]["assignment"]["title"]
    assert [r["Email address"] for r in rows] == ["alice@uni.example", "bob@uni.example", "carol@uni.example"]
    assert [r[title] for r in rows] == ["60", f"{reports[1]['score'] + 2.5:g}", ""]


def test_overrides_apply_in_our_csv_with_a_note(reports, files):
    text = to_gradebook_csv(reports, overrides=load_overrides(files / "overrides.csv"))
    table = {r["student"]: r for r in csv.DictReader(io.StringIO(text))}
    assert table["alice"]["05-backprop"] == table["alice"]["total"] == "60"
    assert "override set to 60" in table["alice"]["notes"] and "appeal" in table["alice"]["notes"]
    assert table["carol"]["total"] == "" and "regrade pending" in table["carol"]["notes"]
    assert all(r["submission"]["name"] != "alice" or r["score"] != 60 for r in reports)  # no report edited


def test_overrides_in_the_instructors_html_only(reports, files):
    override = load_overrides(files / "overrides.csv")[0]
    instructor = to_html(reports[0], show_hidden=True, override=override)
    assert 'id="override"' in instructor and "appeal: the grader&#x27;s tolerance" in instructor
    assert 'id="override"' not in to_html(reports[0], override=override)


@pytest.mark.parametrize("text, message", [
    ("student,assignment,points,extra_credit,reason\ndave,05-backprop,3,,x\n", "no report for student 'dave'"),
    ("student,assignment,points,extra_credit,reason\nalice,05-backprop,3,1,x\n", ":2: give exactly one"),
    ("student,assignment,points,extra_credit,reason\nalice,05-backprop,3,,\n", ":2: reason is empty"),
    ("student,assignment,points,extra_credit,reason\nalice,05-backprop,nan,,x\n", "finite"),
    ("student,assignment,points,reason,grade\n", "columns must be among"),
])
def test_bad_overrides_name_the_line(reports, tmp_path, text, message):
    (tmp_path / "o.csv").write_text(text)
    with pytest.raises((GraderError, ValueError), match=message):
        gradebook_table(reports, load_overrides(tmp_path / "o.csv"))


def test_a_student_missing_from_the_roster_is_an_error(reports, tmp_path):
    (tmp_path / "r.csv").write_text("student,name,canvas_id\nalice,Alice,101\n")
    with pytest.raises(GraderError, match="no row for bob, carol"):
        to_canvas_csv(gradebook_table(reports), load_roster(tmp_path / "r.csv"), {})


def test_report_gradebook_command(reports, files, tmp_path):
    for report in reports:
        write_report(report, tmp_path / "reports" / f"{report['submission']['name']}.json")
    out = tmp_path / "canvas.csv"
    assert cli.main(["report", "gradebook", str(tmp_path / "reports"), "--to", "canvas", "--out", str(out),
                     "--roster", str(files / "roster.csv"), "--overrides", str(files / "overrides.csv"),
                     "--lms-id", "05-backprop=48213"]) == 0
    assert list(csv.reader(io.StringIO(out.read_text())))[2][4] == "60"
    assert cli.main(["report", "gradebook", str(tmp_path / "reports"), "--to", "moodle",
                     "--out", str(out)]) == 2  # needs a roster: a usage error, not a file without ids
    page = tmp_path / "alice.html"
    assert cli.main(["report", "convert", str(tmp_path / "reports" / "alice.json"), "--to", "html", "--hidden",
                     "--overrides", str(files / "overrides.csv"), "--out", str(page)]) == 0
    assert 'id="override"' in page.read_text()
