"""Notebook submissions: the same code as a notebook scores what its .py form scores; broken notebooks
get a clear invalid_submission or a normal grade, never a crash and never a pass they did not earn.

The agreement test is parametrised over every assignment and every example case that exists when the
tests run (reference, starter, examples/<id>/<case>), so new assignments are covered automatically.
Each assignment's .py forms and notebook forms are graded as one batch, two at a time.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.pipeline.grade import grade
from grader.pipeline.batch import grade_batch
from grader.ingest.notebook import notebook_from_code, split_module, strip_magics
from grader.spec import find_assignment, find_assignments
from tests.conftest import COURSE, quickest_mistakes, reports_by_case

SPECS = find_assignments(COURSE)
# IPython-only lines a student's notebook typically holds: removed, so they cannot change the grade.
NOISE = ["%matplotlib inline\n%load_ext autoreload\n%autoreload 2\n", "!pip install numpy\nfiles = !ls\n"]


def as_notebook(case_path: Path, filename: str, out: Path) -> Path:
    """The .py file of a case, cut into cells at top-level statements, with magics sprinkled in."""
    source = case_path / filename if case_path.is_dir() else case_path
    cells = split_module(source.read_text())
    nb = notebook_from_code([NOISE[0], *cells[:1], NOISE[1], *cells[1:], "%%bash\necho done\n"],
                            kernel="ir")  # a kernel name the grader must ignore
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


def per_test(report: dict) -> dict[str, tuple[str, float]]:
    return {t["name"]: (t["status"], t["score"]) for t in report["tests"]}


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_notebook_scores_what_the_py_scores(spec, tmp_path, local_example_reports):
    """Each step's starter and its two mistakes quickest to grade (none for the steps whose mistakes
    train a network: 11 and 16), as notebooks, score what their .py files score.

    The notebook path differs from the .py path only in ingest (cells -> one module), which a zero and
    two partial scores of every step exercise (a full one: the 05 reference as a notebook, below);
    grading every mistake, or a training step's reference, again as a notebook tested the steps, not
    the notebooks, and cost minutes a run."""
    every, reports = local_example_reports(spec)
    local = reports_by_case(every, reports)
    cases = [c for c in every if c.name == "starter"] + quickest_mistakes(every, local, 2)
    notebooks = [as_notebook(c.path, spec.files[0], tmp_path / "nb" / f"{c.name}.ipynb") for c in cases]
    nb = grade_batch(spec, notebooks, tmp_path / "nbr", jobs=2, progress=None)
    if len(spec.files) != 1:  # a notebook is one file: such an assignment refuses it, clearly
        assert all(r["status"] == "invalid_submission" and "folder or an archive" in r["reason"]
                   for r in nb.values())
        return
    for case, r_nb in zip(cases, nb.values()):
        r_py = local[case.name]
        assert (r_nb["status"], r_nb["score"]) == (r_py["status"], r_py["score"]), \
            (case.name, r_py["reason"], r_nb["reason"])
        assert per_test(r_nb) == per_test(r_py), case.name


def test_magics_and_escapes_are_removed_not_run():
    code, removed = strip_magics("%time x = 1\n!rm -rf /\nget_ipython().system('id')\ns = '''\n%keep\n'''\n")
    assert "x = 1" in code and "rm -rf" not in code.replace("!rm -rf / removed", "")
    assert "%keep" in code  # inside a string: not a magic
    assert len(removed) == 3


def test_magics_leave_a_comment_in_their_place():
    code, removed = strip_magics("import numpy as np\n%matplotlib inline\nif True:\n    !ls\nx = 7 % 3\n")
    assert code.splitlines() == ["import numpy as np", "pass  # grader: %matplotlib removed", "if True:",
                                 "    pass  # grader: !ls removed", "x = 7 % 3"]
    assert removed == ["%matplotlib removed", "!ls removed"]


def test_plain_python_is_kept_byte_for_byte():
    code = "x = 10 % 3  # modulo, what else?\nprint(f'{x!r}%')\n"
    assert strip_magics(code) == (code, [])


# -- malformed notebooks -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def backprop_spec():
    return find_assignment(COURSE, "05-backprop")


@pytest.fixture(scope="module")
def solution_code() -> str:
    return (COURSE / "solutions" / "05-backprop" / "layers.py").read_text()


def _write(path: Path, data) -> Path:
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_text(data)
    else:
        nbformat.write(data, path)
    return path


def _invalid(report: dict, *words: str) -> None:
    assert report["status"] == "invalid_submission", report["status"]
    assert report["score"] == 0
    assert all(w.lower() in report["reason"].lower() for w in words), report["reason"]


def test_truncated_json(backprop_spec, solution_code, tmp_path):
    text = json.dumps(notebook_from_code([solution_code]))
    report = grade(backprop_spec, _write(tmp_path / "cut.ipynb", text[: len(text) // 2]), isolate=False)
    _invalid(report, "not valid JSON")


@pytest.mark.parametrize("version", [2, 5, 99, "4"])
def test_unknown_nbformat(backprop_spec, solution_code, tmp_path, version):
    nb = json.loads(nbformat.writes(notebook_from_code([solution_code])))
    nb["nbformat"] = version
    report = grade(backprop_spec, _write(tmp_path / "v.ipynb", json.dumps(nb)), isolate=False)
    _invalid(report, "nbformat")


def test_nbformat_3_is_upgraded_and_graded(backprop_spec, solution_code, tmp_path):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "old"},
          "worksheets": [{"cells": [{"cell_type": "code", "language": "python", "input": solution_code,
                                     "outputs": [], "metadata": {}}]}]}
    report = grade(backprop_spec, _write(tmp_path / "old.ipynb", json.dumps(v3)), isolate=False)
    assert (report["status"], report["score"]) == ("graded", report["max_score"])


def test_zip_renamed_ipynb(backprop_spec, solution_code, tmp_path):
    path = tmp_path / "sneaky.ipynb"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("layers.py", solution_code)
    _invalid(grade(backprop_spec, path, isolate=False), "zip archive")


def test_300_mb_output_is_refused_before_parsing(backprop_spec, solution_code, tmp_path):
    nb = json.loads(nbformat.writes(notebook_from_code([solution_code])))
    head, tail = json.dumps(nb).rsplit('"outputs": []', 1)
    path = tmp_path / "huge.ipynb"
    with open(path, "w") as f:  # a stream output of 300 MB, written in chunks, never held in memory
        f.write(head + '"outputs": [{"output_type": "stream", "name": "stdout", "text": "')
        chunk = "x" * (1 << 20)
        for _ in range(300):
            f.write(chunk)
        f.write('"}]' + tail)
    assert path.stat().st_size > 300 << 20
    _invalid(grade(backprop_spec, path, isolate=False), "MB", "clear all outputs")


def test_cell_tags_are_ignored(backprop_spec, solution_code, tmp_path):
    """`skip` and `raises-exception` tags change nothing: the cells are code like any other."""
    skipped = notebook_from_code(split_module(solution_code))
    for cell in skipped.cells:
        cell.metadata["tags"] = ["skip"]
    report = grade(backprop_spec, _write(tmp_path / "skip.ipynb", skipped), isolate=False)
    assert (report["status"], report["score"]) == ("graded", report["max_score"])
    raising = notebook_from_code([solution_code, "raise RuntimeError('demo of an error')\n"])
    raising.cells[1].metadata["tags"] = ["raises-exception"]
    report = grade(backprop_spec, _write(tmp_path / "raises.ipynb", raising), isolate=False)
    assert (report["status"], report["score"]) == ("graded", 0)
    assert all(t["status"] != "passed" for t in report["tests"])


def test_nbformat_4_with_a_newer_minor_is_graded(backprop_spec, solution_code, tmp_path):
    nb = json.loads(nbformat.writes(notebook_from_code([solution_code])))
    nb["nbformat_minor"] = 99
    report = grade(backprop_spec, _write(tmp_path / "new.ipynb", json.dumps(nb)), isolate=False)
    assert (report["status"], report["score"]) == ("graded", report["max_score"])


def test_big_outputs_under_the_notebook_cap_are_fine(backprop_spec, solution_code, tmp_path):
    """The notebook may exceed files.max_kb (outputs); only the code extracted from it must not."""
    nb = notebook_from_code([solution_code])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="y" * (2 << 20))]
    path = _write(tmp_path / "plots.ipynb", nb)
    assert path.stat().st_size > backprop_spec.max_kb << 10
    report = grade(backprop_spec, path, isolate=False)
    assert (report["status"], report["score"]) == ("graded", report["max_score"])


def test_code_over_max_kb_is_refused(backprop_spec, solution_code, tmp_path):
    padding = "# padding\n" * ((backprop_spec.max_kb << 10) // 10 + 1)
    nb = notebook_from_code([solution_code, padding])
    _invalid(grade(backprop_spec, _write(tmp_path / "long.ipynb", nb), isolate=False),
             "layers.py", "max_kb", "long.ipynb")


def test_a_cell_that_raises_fails_the_import_like_the_py(backprop_spec, solution_code, tmp_path):
    nb = notebook_from_code([solution_code, "raise RuntimeError('oops')\n"])
    report = grade(backprop_spec, _write(tmp_path / "raises.ipynb", nb), isolate=False)
    assert (report["status"], report["score"]) == ("graded", 0)
    assert all(t["status"] != "passed" for t in report["tests"])


def test_forged_outputs_and_metadata_earn_nothing(backprop_spec, tmp_path):
    starter = (COURSE / "assignments" / "05-backprop" / "starter" / "layers.py").read_text()
    nb = notebook_from_code([starter])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="66/66 all tests passed")]
    nb.metadata["dl_grader"] = {"score": 66}
    report = grade(backprop_spec, _write(tmp_path / "forged.ipynb", nb), isolate=False)
    assert (report["status"], report["score"]) == ("graded", 0)


@pytest.mark.parametrize("text,words", [
    ("[1, 2, 3]", ["not an object"]), ('{"nbformat": 4, "nbformat_minor": 5, "cells": 7, "metadata": {}}',
                                       ["not a"]),
    ("", ["not valid JSON"]), ("\xff\xfe", ["not valid JSON"]), ("[" * 100000, ["not valid JSON"]),
])
def test_other_shapes_of_broken_file(backprop_spec, tmp_path, text, words):
    report = grade(backprop_spec, _write(tmp_path / "broken.ipynb", text), isolate=False)
    _invalid(report, *words)


def test_an_assignment_needing_several_files_refuses_a_notebook(tmp_path):
    from grader.errors import SubmissionError
    from grader.ingest.notebook import target_file

    with pytest.raises(SubmissionError, match="submit a folder or an archive"):
        target_file(("a.py", "b.py"), tmp_path / "x.ipynb")
