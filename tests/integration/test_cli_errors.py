"""Does every mistake a user can type get one line that names the thing and says what to do, exit 2?

A table of bad inputs is fed to the CLI (in this process, so it costs no start-up per row; one row
also as a real process). For every row: exit code 2, no traceback, no "internal error", and stderr
names what was wrong. Nothing in the table grades anything: each error must come before grading.
"""

import json
import signal
import subprocess
import sys

import pytest

from grader.cli import main
from grader.report.build import build_report
from grader.report.write import write_report
from tests.conftest import COURSE

SOLUTION = str(COURSE / "solutions" / "05-backprop")

# (arguments, words stderr must contain); {tmp} is a scratch folder holding the files below.
BAD_INPUTS = [
    (["grade", "backprop", "{tmp}/nonexistent", "--out", "{tmp}/o"], "no such submission: {tmp}/nonexistent"),
    (["grade", "backprop", SOLUTION, "--out", "{tmp}/afile"], "--out {tmp}/afile: is a file"),
    (["grade", "backprop", SOLUTION, "--out", "{tmp}/o", "-j", "0"], "-j/--jobs: must be at least 1"),
    (["grade", "backprop", SOLUTION, "--out", "{tmp}/o", "-j", "two"], "'two' is not a whole number"),
    (["grade", "backprop", SOLUTION, "--out", "{tmp}/o", "--sandbox", "vm"], "invalid choice: 'vm'"),
    (["grade", "nosuch", SOLUTION, "--out", "{tmp}/o"], "no assignment 'nosuch'"),
    (["grade"], "required: assignment, SUBMISSION, --out"),
    (["show", "{tmp}/missing.json"], "{tmp}/missing.json: no such report file"),
    (["show", "{tmp}/adir"], "{tmp}/adir: no such report file"),
    (["show", "{tmp}/notreport.json"], "{tmp}/notreport.json: not a grader report"),
    (["show", "{tmp}/garbage.txt"], "{tmp}/garbage.txt: not a grader report"),
    (["show", "{tmp}/binary.json"], "{tmp}/binary.json: not a grader report"),
    (["report", "convert", "{tmp}/missing.json", "--to", "html"], "no such report file"),
    (["report", "convert", "{tmp}/notreport.json", "--to", "junit"], "not a grader report"),
    (["report", "convert", "{tmp}/good.json", "--to", "pdf"], "invalid choice: 'pdf'"),
    (["report", "convert", "{tmp}/good.json", "--to", "html", "--out", "{tmp}/adir"], "--out {tmp}/adir: is a folder"),
    (["report", "gradebook", "{tmp}/missing.json", "--out", "{tmp}/g.csv"], "no such report file"),
    (["check", "no-such-assignment"], "no assignment 'no-such-assignment'"),
    (["check", "backprop", "{tmp}/nonexistent"], "no such file or folder: {tmp}/nonexistent"),
    (["check"], "which assignment?"),  # run in {tmp}, which is no step's folder
    (["check", "backprop"], "no layers.py in {tmp}: run `grader check` in the folder that holds your work"),
    (["list", "extra"], "unrecognized arguments: extra"),
    (["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
    (["release", "backprop", "--out", "{tmp}/afile"], "--out {tmp}/afile: is a file"),
    (["release", "nosuch", "--out", "{tmp}/handout"], "no assignment 'nosuch'"),
    (["validate", "nosuch"], "no assignment 'nosuch'"),
    (["examples", "nosuch"], "no assignment 'nosuch'"),
    (["examples", "backprop", "--out", "{tmp}/afile"], "--out {tmp}/afile: is a file"),
    (["examples", "backprop", "--only", "nosuch", "--out", "{tmp}/o"], "--only nosuch: no example of the chosen"),
    (["nbgrader", "grade", "{tmp}/missing.ipynb", "{tmp}/x.ipynb", "--out", "{tmp}/o"], "no such notebook"),
    (["nbgrader", "grade", "{tmp}/good.json", "{tmp}/x.ipynb", "--out", "{tmp}/o", "-j", "0"], "must be at least 1"),
    (["nbgrader", "export", "{tmp}/missing.json", "--db", "sqlite:///{tmp}/g.db", "--assignment", "ps1"],
     "no such report file"),
    (["--course", "{tmp}/nonexistent", "list"], "no assignments/ folder"),
    (["--course", "{tmp}/afile", "list"], "no assignments/ folder"),
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad-inputs")
    (tmp / "afile").write_text("not a folder")
    (tmp / "adir").mkdir()
    (tmp / "notreport.json").write_text(json.dumps({"a": 1}))
    (tmp / "garbage.txt").write_text("garbage")
    (tmp / "binary.json").write_bytes(b"\xff\xfe\x00\x01")
    report = build_report(assignment={"id": "05-backprop", "title": "t", "sha256": "0" * 64},
                          submission={"name": "good", "sha256": None, "files": []},
                          outcome={"tests": []}, started=0.0, finished=1.0, fingerprint="0" * 64)
    write_report(report, tmp / "good.json")
    return tmp


@pytest.mark.parametrize("argv, expected", BAD_INPUTS, ids=[" ".join(a)[:60] for a, _ in BAD_INPUTS])
def test_a_bad_input_is_one_line_and_exit_2(argv, expected, scratch, capsys, monkeypatch):
    monkeypatch.chdir(scratch)
    sigint = signal.getsignal(signal.SIGINT)
    args = [a.replace("{tmp}", str(scratch)) for a in argv]
    if args[0] not in ("--course",):
        args = ["--course", str(COURSE), *args]
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors leave through SystemExit, with our one line
        code = exc.code
    finally:
        signal.signal(signal.SIGINT, sigint)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert expected.replace("{tmp}", str(scratch)) in err
    assert len(err.strip().splitlines()) == 1, f"one line, not:\n{err}"
    assert not (scratch / "o").exists() and not (scratch / "handout").exists(), "nothing ran"


def test_a_real_process_prints_no_traceback_either(scratch):
    """The same path through the `grader` entry point, as a user's shell runs it."""
    result = subprocess.run([sys.executable, "-m", "grader", "show", str(scratch / "notreport.json")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "not a grader report" in result.stderr
