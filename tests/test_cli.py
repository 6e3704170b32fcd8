"""The `grader` command as users meet it: exit codes, messages, files written."""

import json
import subprocess
import sys

import pytest

from grader.authoring.examples import materialise
from tests.conftest import COURSE


def grader(*args, cwd=COURSE):
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_help_and_usage_errors():
    assert grader("--help").returncode == 0
    assert "check" in grader("--help").stdout
    assert grader().returncode == 2
    result = grader("check", "no-such-assignment")
    assert result.returncode == 2 and "no assignment 'no-such-assignment'" in result.stderr


def test_list_shows_every_assignment():
    result = grader("list")
    assert result.returncode == 0
    assert "05-backprop" in result.stdout and "pts" in result.stdout


def test_check_passes_on_the_reference_and_fails_on_the_starter():
    ok = grader("check", "backprop", COURSE / "solutions" / "05-backprop")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "hidden" not in ok.stdout  # students see public tests only
    bad = grader("check", "backprop", COURSE / "assignments" / "05-backprop" / "starter")
    assert bad.returncode == 1 and "not implemented yet" in bad.stdout
    # while it runs, it says which test runs (one line per test when stderr is no terminal)
    assert "running public/test_layers.py::test_affine_forward" in bad.stderr
    assert "running public/test_layers.py::test_train_xor" in bad.stderr


def test_check_on_a_missing_file_says_which(tmp_path):
    result = grader("check", "backprop", tmp_path)
    assert result.returncode == 1
    assert "INVALID SUBMISSION" in result.stdout and "missing layers.py" in result.stdout


def test_grade_writes_one_report_per_submission(tmp_path):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip")
    result = grader("grade", "backprop", COURSE / "assignments" / "05-backprop" / "starter", broken,
                    "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    starter = json.loads((tmp_path / "out" / "starter.json").read_text())
    invalid = json.loads((tmp_path / "out" / "broken.json").read_text())
    assert starter["status"] == "graded" and starter["score"] == 0
    assert invalid["status"] == "invalid_submission" and "not a readable zip" in invalid["reason"]
    assert len(invalid["tests"]) == len(starter["tests"])  # every test appears in every report


def test_grade_refuses_two_submissions_with_one_name(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a.zip").write_bytes(b"")
    result = grader("grade", "backprop", tmp_path / "a", tmp_path / "a.zip", "--out", tmp_path / "o")
    assert result.returncode == 2 and "would both be reported as a.json" in result.stderr


def test_release_never_ships_hidden_tests_or_the_solution(tmp_path):
    result = grader("release", "backprop", "--out", tmp_path / "bundle")
    assert result.returncode == 0
    files = [p.relative_to(tmp_path / "bundle").as_posix() for p in (tmp_path / "bundle").rglob("*") if p.is_file()]
    assert "assignments/05-backprop/starter/layers.py" in files
    assert not [f for f in files if "hidden" in f or "solution" in f]
    solution = (COURSE / "solutions" / "05-backprop" / "layers.py").read_text()
    body = solution.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0].strip()
    assert all(body not in (tmp_path / "bundle" / f).read_text() for f in files if f.endswith(".py"))
    # the bundle is a course of its own: students can check in it
    check = grader("--course", tmp_path / "bundle", "check", "backprop",
                   tmp_path / "bundle" / "assignments" / "05-backprop" / "starter")
    assert check.returncode == 1 and "not implemented yet" in check.stdout
    # ... and without --course or a step's name, from inside the step's folder, as its README says
    starter = tmp_path / "bundle" / "assignments" / "05-backprop" / "starter"
    for args in (["check"], ["check", "backprop"]):
        inside = grader(*args, cwd=starter)
        assert inside.returncode == 1 and "Score: 0/36" in inside.stdout, inside.stderr  # the public points
    assert (tmp_path / "bundle" / ".grader-course").is_file()
    readme = (tmp_path / "bundle" / "README.md").read_text()
    assert "pip install wheels/dl_grader-" in readme and "cd assignments/05-backprop/starter" in readme


def test_the_student_wheel_holds_the_grader_and_only_what_check_needs(tmp_path):
    import zipfile

    assert grader("release", "backprop", "--out", tmp_path / "h").returncode == 0
    (wheel,) = (tmp_path / "h" / "wheels").glob("dl_grader-*-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        record = archive.read(next(n for n in names if n.endswith("RECORD"))).decode()
    requires = [line.split(": ", 1)[1] for line in meta.splitlines() if line.startswith("Requires-Dist")]
    assert {r.split(">")[0].split("=")[0] for r in requires} >= {"pytest", "numpy", "nbformat"}
    assert not [r for r in requires if r.startswith(("nbgrader", "docker", "rich"))], requires
    assert "grader = grader.cli:main" in entry
    assert {"grader/cli.py", "grader/judge/plugin.py", "grader/report/report.schema.json"} <= set(names)
    # Only the grader package and the wheel's metadata: no test, solution, assignment or example.
    assert not [n for n in names if not n.startswith(("grader/", "dl_grader-"))], names
    assert not [n for n in names if n.startswith("grader/") and not n.endswith((".py", ".json", ".html"))]
    assert all(n in record for n in names)


def test_a_syntax_error_is_shown_once_with_its_line_and_a_caret(tmp_path):
    import shutil

    work = tmp_path / "hw5"
    shutil.copytree(COURSE / "solutions" / "05-backprop", work)
    source = (work / "layers.py").read_text().splitlines()
    line = next(i for i, text in enumerate(source) if text.strip().startswith("return ") and i > 20)
    source[line] += " )"
    (work / "layers.py").write_text("\n".join(source) + "\n")
    result = grader("check", "backprop", work)
    assert result.returncode == 1
    assert result.stdout.count("SyntaxError") == 1 and f"layers.py, line {line + 1}" in result.stdout
    shown = result.stdout.splitlines()
    at = next(i for i, text in enumerate(shown) if text.strip() == source[line].strip())
    assert shown[at + 1].strip() == "^" and len(shown[at + 1]) == len(shown[at])  # caret under the `)`


def test_a_rerun_counts_current_reports_as_cached(tmp_path):
    starter = COURSE / "assignments" / "05-backprop" / "starter"
    first = grader("grade", "backprop", starter, "--out", tmp_path, "--sandbox", "local")
    again = grader("grade", "backprop", starter, "--out", tmp_path, "--sandbox", "local")
    assert first.returncode == again.returncode == 0
    assert "[1/1] starter: 0/" in first.stderr and "cached" not in first.stderr
    assert "(cached); 1 cached" in again.stderr and "[1/1] starter: 0/" in again.stderr


def test_every_command_has_worked_examples_and_every_argument_a_description():
    import argparse

    from grader.cli import _parser

    ours = {"list", "check", "grade", "examples", "release", "validate", "doctor", "show", "report",
            "nbgrader", "report convert", "report gradebook", "nbgrader grade", "nbgrader export"}
    found = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    found[(prefix + " " + name).strip()] = child
                    walk(child, prefix + " " + name)

    walk(_parser(), "")
    assert ours <= set(found)
    for name in found:  # every command, including those other modules register
        parser = found[name]
        epilog = parser.epilog or ""
        assert "examples:\n  " in epilog and "grader " in epilog, f"`grader {name} --help` has no examples"
        undescribed = [a.dest for a in parser._actions
                       if not a.help and not isinstance(a, argparse._SubParsersAction)]
        assert not undescribed, f"`grader {name}`: no help for {undescribed}"


@pytest.mark.slow
def test_a_hang_at_import_ends_within_its_limit_and_the_batch_goes_on(tmp_path):
    hang = materialise(COURSE, "hostile", "hang-at-import")
    result = grader("grade", "backprop", hang, COURSE / "solutions" / "05-backprop", "--out", tmp_path, "-j", "1")
    assert result.returncode == 0
    hung = json.loads((tmp_path / "hang-at-import.json").read_text())
    assert hung["score"] == 0 and hung["timings"]["seconds"] < 30
    assert "import_seconds=10" in hung["tests"][0]["message"]
    good = json.loads((tmp_path / "05-backprop.json").read_text())
    assert good["score"] == good["max_score"]


@pytest.mark.slow
def test_an_interrupted_batch_is_finished_by_running_it_again(tmp_path):
    """Ctrl-C in the middle of a batch; the rerun grades only what is missing, and the reports equal
    those of one uninterrupted run; --force grades everything again."""
    import os
    import shutil
    import signal
    import time

    # The second submission sleeps in every affine_forward until its time budget (total_seconds, 30 s)
    # runs out, so the Ctrl-C lands while it is graded however slow the machine is; it is mended before
    # the rerun, which then grades what the batch had left.
    slow = shutil.copytree(materialise(COURSE, "05-backprop", "no-bias-sum"), tmp_path / "no-bias-sum")
    layers = slow / "layers.py"
    mended = layers.read_text()
    layers.write_text(mended.replace('    """Fully connected layer: out = x @ w + b.',
                                     '    __import__("time").sleep(1)\n    """Fully connected layer:', 1))
    assert layers.read_text() != mended
    sources = [COURSE / "solutions" / "05-backprop", slow, materialise(COURSE, "05-backprop", "loss-summed")]
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "grade", "backprop", *map(str, sources), "--out", str(out),
               "--sandbox", "local", "-j", "1"]
    proc = subprocess.Popen(command, cwd=COURSE, start_new_session=True, stderr=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=60)
    first = {p.name: p.read_bytes() for p in out.glob("*.json")}
    assert sorted(first) == ["05-backprop.json"], f"the interruption should stop the batch part way: {sorted(first)}"
    assert not [p for p in out.iterdir() if p.suffix != ".json"], "no half-written report is left"
    # The submission whose judge Ctrl-C killed gets no report at all, never an infra_error or a zero.
    assert all(json.loads(data)["status"] == "graded" for data in first.values())
    layers.write_text(mended)

    assert grader("grade", "backprop", *sources, "--out", out, "--sandbox", "local").returncode == 0
    assert {p.name: p.read_bytes() for p in out.glob("*.json") if p.name in first} == first  # kept
    fresh = tmp_path / "fresh"
    assert grader("grade", "backprop", *sources, "--out", fresh, "--sandbox", "local").returncode == 0
    for name in ("05-backprop.json", "no-bias-sum.json", "loss-summed.json"):
        resumed, once = (json.loads((d / name).read_text()) for d in (out, fresh))
        assert resumed["fingerprint"] == once["fingerprint"]
        assert [(t["name"], t["status"], t["score"], t["message"]) for t in resumed["tests"]] == \
               [(t["name"], t["status"], t["score"], t["message"]) for t in once["tests"]]

    assert grader("grade", "backprop", *sources, "--out", out, "--sandbox", "local", "--force").returncode == 0
    again = {p.name: p.read_bytes() for p in out.glob("*.json") if p.name in first}
    assert all(json.loads(again[n])["timings"] != json.loads(first[n])["timings"] for n in first)


def test_plain_progress_says_done_total_rate_eta_running_and_cached():
    import io

    from grader.pipeline.progress import PlainProgress, Progress, make_progress

    stream = io.StringIO()
    progress = make_progress(stream, label="grading")
    assert isinstance(progress, PlainProgress)  # a StringIO is no terminal: plain lines
    with progress:
        progress.begin(3)
        progress.started("alice")
        progress.started("bob")
        progress.finished("alice", "12/20")
        progress.started("carol")
        progress.finished("carol", "20/20", cached=True)
        progress.finished("bob", "infra_error")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "grading: 3 to grade"
    assert lines[1].startswith("[1/3] alice: 12/20; ") and "/min, ETA " in lines[1] and "running: bob" in lines[1]
    assert lines[2].startswith("[2/3] carol: 20/20 (cached); 1 cached; ") and "running: bob" in lines[2]
    assert lines[3].startswith("[3/3] bob: infra_error; 1 cached; ") and "running" not in lines[3]
    assert progress.done == 3 and progress.cached == 1 and not progress.running
    assert type(make_progress(None)) is Progress  # silent


def test_live_progress_draws_a_bar_on_a_terminal():
    import io

    from grader.pipeline.progress import LiveProgress, make_progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = make_progress(stream, label="grading")
    assert isinstance(progress, LiveProgress)
    with progress:
        progress.begin(2)
        progress.started("alice")
        progress.finished("alice", "1/2")
        progress.started("bob")
        progress.finished("bob", "2/2", cached=True)
    shown = stream.getvalue()
    assert "grading" in shown and "2/2" in shown and "1 cached" in shown


@pytest.mark.slow
def test_nbgrader_grade_runs_in_parallel_and_reuses_current_reports(tmp_path):
    from tests.interop.nbgrader.nbgrader_cases import CASES

    _, source, students = CASES["ps1"][0]
    notebooks = [str(p) for p in students.values()]
    args = ("nbgrader", "grade", source, *notebooks, "--out", tmp_path, "--sandbox", "local", "-j", "2")
    first, again = grader(*args), grader(*args)
    assert first.returncode == again.returncode == 0, first.stderr
    assert "cached" not in first.stderr and f"{len(set(notebooks))} cached" in again.stderr
    forced = grader(*args, "--force")
    assert forced.returncode == 0 and "cached" not in forced.stderr


@pytest.mark.slow
def test_the_fast_report_check_refuses_what_jsonschema_refuses(tmp_path):
    """`show` reads reports through the compiled fastjsonschema check (jsonschema's import costs 1 s of
    CPU): on 600 seeded mutations of a real report, the two validators must agree on every one."""
    import copy
    import random

    import fastjsonschema
    import jsonschema

    from grader.report import SCHEMA_PATH
    from grader.report.write import _fast_check

    result = grader("grade", "backprop", materialise(COURSE, "05-backprop", "no-bias-sum"), "--out", tmp_path,
                    "--sandbox", "local")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "no-bias-sum.json").read_text())
    schema = json.loads(SCHEMA_PATH.read_text())
    exact = jsonschema.validators.validator_for(schema)(schema)

    def places(value, path=()):
        yield path
        children = value.items() if isinstance(value, dict) else enumerate(value[:2]) if isinstance(value, list) else []
        for key, child in children:
            yield from places(child, path + (key,))

    spots = list(places(report))[1:]
    rng = random.Random(16)
    values = [None, 1, 1.5, -1, "x", "", [], {}, True, "passed", "graded", 1e300]
    for _ in range(600):
        broken, path = copy.deepcopy(report), rng.choice(spots)
        parent = broken
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and rng.random() < 0.3:
            del parent[path[-1]]
        else:
            parent[path[-1]] = rng.choice(values)
        try:
            _fast_check()(broken)
            fast = True
        except fastjsonschema.JsonSchemaException:
            fast = False
        assert fast == exact.is_valid(broken), f"the validators disagree at {path}"


def test_examples_only_grades_the_examples_named(tmp_path):
    """While writing a mistake, an author grades it alone: `--only` takes names and patterns."""
    result = grader("examples", "backprop", "--only", "no-bias-*", "--only", "starter", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "05-backprop").glob("*.json")) == ["no-bias-sum.json", "starter.json"]
    assert "2 submissions graded, 0 not as expected" in result.stdout
