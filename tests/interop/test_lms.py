"""Do Canvas and Moodle get import files they read, with the instructor's overrides and the course's
late policy applied the same way in every gradebook and no zero for our failures? Read back with the
importers' own rules (tests/interop/lms_readers.py)."""

from __future__ import annotations

import copy
import csv
import io

import pytest

from grader import cli
from grader.pipeline.grade import grade
from grader.errors import GraderError
from grader.interop.lms import load_overrides, load_roster, load_submitted, lateness, to_canvas_csv, to_moodle_csv
from grader.report.views.gradebook import gradebook_table, to_gradebook_csv
from grader.report.views.html import to_html
from grader.report.write import write_report
from grader.service.gradebook import course_deadlines as load_deadlines
from grader.spec import find_assignment
from grader.authoring.examples import materialise
from tests.conftest import COURSE
from tests.interop.lms_readers import Refused, read_canvas, read_moodle

OVERRIDES = """student,assignment,points,extra_credit,reason
alice,05-backprop,60,,appeal: the grader's tolerance was too tight on her machine
bob,05-backprop,,2.5,found a bug in the starter
"""
ROSTER = """student,name,canvas_id,sis_user_id,sis_login_id,section,email,idnumber
alice,Alice Liddell,101,S-1,alice,Lab A,alice@uni.example,A1
bob,"=Bob, the builder",102,S-2,bob,Lab B,bob@uni.example,B2
carol,Carol Ann,103,S-3,carol,Lab A,carol@uni.example,C3
"""
COURSE_TOML = """[service]
forge = "github"

[assignments.05-backprop]
deadline = 2026-12-20T23:59:00Z

[late]
policy = "{policy}"
percent_per_day = 10
"""
# alice an hour early, bob 1 d 2 h late (two days started: -20%), carol (no score) an hour late
SUBMITTED = """student,assignment,submitted_at
alice,05-backprop,2026-12-20T22:59:00Z
bob,05-backprop,2026-12-22T02:59:00+01:00
carol,05-backprop,2026-12-21T00:59:00Z
"""


@pytest.fixture(scope="module")
def reports() -> list[dict]:
    """alice and bob graded (a real report), carol's grading failed on our side."""
    real = grade(find_assignment(COURSE, "05-backprop"), materialise(COURSE, "05-backprop", "no-bias-sum"),
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
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column]
    assert rows[1] == ["    Points Possible", "", "", "", "", str(reports[0]["max_score"])]
    table = {r[1]: r for r in rows[2:]}
    assert table["101"] == ["Alice Liddell", "101", "S-1", "alice", "Lab A", "60"]
    assert table["102"][0] == "'=Bob, the builder"  # a formula is defused
    canvas = read_canvas(text, assignments={48213: reports[0]["assignment"]["title"]})
    assert canvas["new_assignments"] == [] and canvas["points"] == {48213: str(reports[0]["max_score"])}
    assert canvas["grades"]["101"] == {48213: "60"}
    assert float(canvas["grades"]["102"][48213]) == reports[1]["score"] + 2.5
    assert canvas["grades"]["103"] == {48213: ""}  # our failure: blank, which Canvas leaves unchanged


def test_canvas_refuses_sis_user_id_without_sis_login_id():
    """The reader is Canvas's rule, not ours: the header this module wrote before is refused whole."""
    old = "Student,ID,SIS User ID,Section,Backprop (48213)\nAlice,101,S-1,Lab A,60\n"
    with pytest.raises(Refused, match="Section must be"):
        read_canvas(old, assignments={48213: "Backprop"})


def test_moodle_import_file(reports, files):
    book = gradebook_table(reports, load_overrides(files / "overrides.csv"))
    text = to_moodle_csv(book, load_roster(files / "roster.csv"))
    title = reports[0]["assignment"]["title"]
    grades = read_moodle(text, {"Email address": "user", "ID number": "ignore", "Full name": "ignore",
                                title: "grade:backprop"})
    assert list(grades) == ["alice@uni.example", "bob@uni.example", "carol@uni.example"]
    assert [g["backprop"] for g in grades.values()] == [60, reports[1]["score"] + 2.5, None]


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
    assert list(csv.reader(io.StringIO(out.read_text())))[2][5] == "60"
    assert cli.main(["report", "gradebook", str(tmp_path / "reports"), "--to", "moodle",
                     "--out", str(out)]) == 2  # needs a roster: a usage error, not a file without ids
    page = tmp_path / "alice.html"
    assert cli.main(["report", "convert", str(tmp_path / "reports" / "alice.json"), "--to", "html", "--hidden",
                     "--overrides", str(files / "overrides.csv"), "--out", str(page)]) == 0
    assert 'id="override"' in page.read_text()


# -- lateness: course.toml's deadline and policy, the instructor's record of when work arrived -------

def _late_files(tmp_path, policy: str = "percent_per_day"):
    (tmp_path / "course.toml").write_text(COURSE_TOML.format(policy=policy))
    (tmp_path / "submitted.csv").write_text(SUBMITTED)
    return tmp_path / "course.toml", tmp_path / "submitted.csv"


def _late_book(reports, files, policy="percent_per_day"):
    toml, times = _late_files(files, policy)
    late = lateness(reports, load_deadlines(toml, COURSE), load_submitted(times), times)
    return gradebook_table(reports, load_overrides(files / "overrides.csv"), late)


def test_late_submission_is_penalised_and_flagged_in_canvas(reports, files):
    title = reports[0]["assignment"]["title"]
    book = _late_book(reports, files)
    text = to_canvas_csv(book, load_roster(files / "roster.csv"), {"05-backprop": "48213"},
                         late_column="Late work")
    canvas = read_canvas(text, assignments={48213: title}, custom_columns={"Late work"})
    assert canvas["new_assignments"] == []  # the flag column is the course's custom column, no assignment
    bob = reports[1]["score"] * 0.8 + 2.5  # two days started at 10% each, then his extra credit
    assert float(canvas["grades"]["102"][48213]) == pytest.approx(bob)
    assert canvas["grades"]["101"][48213] == "60"  # on time: her override stands, no flag
    assert canvas["custom"]["101"] == {"Late work": ""}
    flag = canvas["custom"]["102"]["Late work"]
    assert "late 1 d 2 h (10% off per day started): -20%" in flag and title in flag
    assert canvas["grades"]["103"][48213] == "" and "late 1 h" in canvas["custom"]["103"]["Late work"]
    # without the course's custom column Canvas would make the flags a new assignment: left out by default
    plain = to_canvas_csv(book, load_roster(files / "roster.csv"), {"05-backprop": "48213"})
    assert read_canvas(plain, assignments={48213: title})["new_assignments"] == []


def test_late_submission_is_penalised_with_feedback_in_moodle(reports, files):
    title = reports[0]["assignment"]["title"]
    text = to_moodle_csv(_late_book(reports, files), load_roster(files / "roster.csv"), feedback=True)
    grades = read_moodle(text, {"Email address": "user", "ID number": "ignore", "Full name": "ignore",
                                title: "grade:backprop", f"{title} (feedback)": "feedback:backprop"})
    bob, alice = grades["bob@uni.example"], grades["alice@uni.example"]
    assert bob["backprop"] == pytest.approx(reports[1]["score"] * 0.8 + 2.5)
    assert bob["feedback:backprop"].startswith("late 1 d 2 h (10% off per day started): -20%, report ")
    assert alice == {"backprop": 60, "feedback:backprop": ""}


def test_late_cutoff_scores_zero_and_on_time_is_untouched(reports, files):
    book = _late_book(reports, files, policy="cutoff")
    assert book.cell("bob", "05-backprop").score == 2.5  # 0 after the cutoff, plus his extra credit
    assert book.cell("alice", "05-backprop").late is None
    assert book.cell("carol", "05-backprop").score is None  # still no score: never a zero for our failure


def test_late_notes_in_our_csv(reports, files):
    toml, times = _late_files(files)
    late = lateness(reports, load_deadlines(toml, COURSE), load_submitted(times), times)
    table = {r["student"]: r for r in csv.DictReader(io.StringIO(to_gradebook_csv(reports, lateness=late)))}
    assert float(table["bob"]["05-backprop"]) == pytest.approx(reports[1]["score"] * 0.8)
    assert f"report {reports[1]['score']:g} -> " in table["bob"]["notes"]
    assert table["alice"]["notes"] == "" and table["alice"]["05-backprop"] == f"{reports[0]['score']:g}"


@pytest.mark.parametrize("times, message", [
    ("student,assignment,submitted_at\nalice,05-backprop,2026-12-20T22:59:00Z\n",
     "no submitted_at for student 'bob' and assignment '05-backprop'"),
    ("student,assignment,submitted_at\nalice,05-backprop,2026-12-20T22:59:00\n", ":2: .* has no UTC offset"),
    ("student,assignment,submitted_at\nalice,05-backprop,yesterday\n", ":2: .* not an ISO 8601"),
])
def test_bad_submission_times_name_the_line(reports, tmp_path, times, message):
    toml, _ = _late_files(tmp_path)
    (tmp_path / "t.csv").write_text(times)
    with pytest.raises(GraderError, match=message):
        lateness(reports, load_deadlines(toml, COURSE), load_submitted(tmp_path / "t.csv"), tmp_path / "t.csv")


def test_report_gradebook_command_with_lateness(reports, files, tmp_path):
    toml, times = _late_files(files)
    for report in reports:
        write_report(report, tmp_path / "reports" / f"{report['submission']['name']}.json")
    out = tmp_path / "moodle.csv"
    common = ["--course", str(COURSE), "report", "gradebook", str(tmp_path / "reports"), "--out", str(out)]
    assert cli.main([*common, "--to", "moodle", "--roster", str(files / "roster.csv"),
                     "--deadlines", str(toml), "--submitted-at", str(times)]) == 0
    rows = {r["Email address"]: r for r in csv.DictReader(io.StringIO(out.read_text()))}
    title = reports[0]["assignment"]["title"]
    assert float(rows["bob@uni.example"][title]) == pytest.approx(reports[1]["score"] * 0.8)
    assert "-20%" in rows["bob@uni.example"][f"{title} (feedback)"]
    assert cli.main([*common, "--deadlines", str(toml)]) == 2  # a deadline without arrival times: usage
    assert cli.main([*common, "--to", "canvas", "--roster", str(files / "roster.csv"), "--deadlines", str(toml),
                     "--submitted-at", str(times), "--canvas-late-column", "Section"]) == 2  # Canvas's own
