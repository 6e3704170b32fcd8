"""Example mistakes stored as patches: the strict applier (grader/authoring/patches.py) and the cases
it materialises (grader/authoring/examples.py)."""

import shutil
from pathlib import Path

import pytest

from grader import jobdirs
from grader.authoring.examples import Case, cases_for, materialise, problems
from grader.authoring.patches import PatchError, apply_patch
from grader.errors import SpecError
from grader.pipeline.grade import grade
from grader.spec import find_assignment, find_assignments
from tests.conftest import COURSE

LAYERS = "import numpy as np\n\n\ndef f(x):\n    return x + 1\n\n\ndef g(x):\n    return x * 2\n"


@pytest.fixture
def step(tmp_path: Path) -> Path:
    folder = tmp_path / "step"
    folder.mkdir()
    (folder / "layers.py").write_text(LAYERS)
    return folder


def write(tmp_path: Path, text: str) -> Path:
    patch = tmp_path / "mistake.patch"
    patch.write_text(text)
    return patch


TWO_HUNKS = """--- a/layers.py
+++ b/layers.py
@@ -3,3 +3,3 @@
 
 def f(x):
-    return x + 1
+    return x - 1
@@ -8,2 +8,3 @@
 def g(x):
+    x = x.copy()
     return x * 2
"""


def test_a_patch_applies_hunk_by_hunk(step, tmp_path):
    assert apply_patch(write(tmp_path, TWO_HUNKS), step) == ["layers.py"]
    assert (step / "layers.py").read_text() == LAYERS.replace("x + 1", "x - 1").replace(
        "def g(x):\n", "def g(x):\n    x = x.copy()\n")


def test_a_missing_final_newline_is_kept_as_the_patch_says(step, tmp_path):
    patch = "--- a/layers.py\t2026-01-01\n+++ b/layers.py\n@@ -9 +9 @@\n-    return x * 2\n+    return x * 3\n" \
            "\\ No newline at end of file\n"
    apply_patch(write(tmp_path, patch), step)
    assert (step / "layers.py").read_text().endswith("def g(x):\n    return x * 3")


def test_a_hunk_whose_context_does_not_match_is_refused_naming_patch_hunk_and_line(step, tmp_path):
    (step / "layers.py").write_text(LAYERS.replace("def g(x)", "def g(y)"))
    patch = write(tmp_path, TWO_HUNKS)
    with pytest.raises(PatchError) as caught:
        apply_patch(patch, step)
    assert str(caught.value) == (
        f"{patch}: layers.py: hunk 2 (@@ -8,2 +8,3 @@) does not match the reference at line 8: "
        "the patch expects 'def g(x):\\n', the file has 'def g(y):\\n'")
    # the first hunk fitted, but nothing is written unless the whole patch fits
    assert (step / "layers.py").read_text() == LAYERS.replace("def g(x)", "def g(y)")


def test_a_hunk_at_the_wrong_line_is_refused_not_searched_for(step, tmp_path):
    patch = write(tmp_path, TWO_HUNKS.replace("@@ -3,3 +3,3 @@", "@@ -4,3 +4,3 @@"))
    with pytest.raises(PatchError, match=r"hunk 1 \(@@ -4,3 \+4,3 @@\) does not match the reference at line 4"):
        apply_patch(patch, step)


@pytest.mark.parametrize("name", ["../outside.py", "../../etc/passwd", "/etc/passwd", "sub/../../x.py"])
def test_a_patch_that_escapes_the_step_folder_is_refused(step, tmp_path, name):
    (tmp_path / "outside.py").write_text(LAYERS)
    patch = write(tmp_path, TWO_HUNKS.replace("a/layers.py", f"a/{name}").replace("b/layers.py", f"b/{name}"))
    with pytest.raises(PatchError, match="escapes the step folder") as caught:
        apply_patch(patch, step)
    assert str(patch) in str(caught.value)
    assert (tmp_path / "outside.py").read_text() == LAYERS


def test_a_symlink_out_of_the_step_folder_is_not_followed(step, tmp_path):
    (tmp_path / "outside.py").write_text(LAYERS)
    (step / "layers.py").unlink()
    (step / "layers.py").symlink_to(tmp_path / "outside.py")
    with pytest.raises(PatchError, match="layers.py escapes the step folder"):
        apply_patch(write(tmp_path, TWO_HUNKS), step)
    assert (tmp_path / "outside.py").read_text() == LAYERS


@pytest.mark.parametrize("text, message", [
    (TWO_HUNKS.replace("@@ -8,2 +8,3 @@", "@@ -8,3 +8,4 @@"), r"hunk 2 \(@@ -8,3 \+8,4 @@\) ends early"),
    (TWO_HUNKS.replace("@@ -3,3 +3,3 @@", "@@ -3,2 +3,2 @@"), "a diff line outside any hunk"),
    (TWO_HUNKS.replace("+++ b/layers.py", "+++ b/other.py"), "renames layers.py to other.py"),
    (TWO_HUNKS.replace("a/layers.py", "/dev/null"), "creates or deletes a file"),
    (TWO_HUNKS.replace("a/layers.py", "layers.py"), "must start with 'a/'"),
    ("just some text\n", "no hunks: not a unified diff"),
])
def test_malformed_patches_are_refused_with_the_reason(step, tmp_path, text, message):
    with pytest.raises(PatchError, match=message):
        apply_patch(write(tmp_path, text), step)
    assert (step / "layers.py").read_text() == LAYERS


def test_every_patch_example_in_the_course_applies_to_its_reference():
    """Cheap and strict: a reference edited under a patch fails here, before any grading."""
    patched = [c for spec in find_assignments(COURSE) for c in cases_for(spec) if c.stored.suffix == ".patch"]
    assert patched, "no example is stored as a patch"
    for case in patched:
        assert case.path.name == case.name and case.path.is_dir()
        assert sorted(p.name for p in case.path.iterdir()) == sorted(
            p.name for p in case.reference.iterdir() if p.name != "__pycache__")


def test_a_patch_case_is_made_once_in_a_grader_job_folder_and_again_when_it_went_away():
    first = materialise(COURSE, "02-linear-regression", "gradient-not-divided-by-n")
    assert first.parent.name.startswith(jobdirs.PREFIX) and (first.parent / jobdirs.OWNER_FILE).is_file()
    assert materialise(COURSE, "02-linear-regression", "gradient-not-divided-by-n") == first
    shutil.rmtree(first.parent)
    again = materialise(COURSE, "02-linear-regression", "gradient-not-divided-by-n")
    assert again != first and again.is_dir()


def test_materialise_names_the_examples_it_knows_when_asked_for_another():
    with pytest.raises(SpecError, match="no example 'nosuch'; known: reference, starter, "):
        materialise(COURSE, "02-linear-regression", "nosuch")


def test_a_patch_without_a_reference_is_refused(tmp_path):
    case = Case("x", write(tmp_path, TWO_HUNKS), "between")
    with pytest.raises(SpecError, match="needs a step's reference"):
        case.path


def test_a_converted_example_grades_as_its_pin():
    spec = find_assignment(COURSE, "02-linear-regression")
    case = next(c for c in cases_for(spec) if c.name == "gradient-not-divided-by-n")
    assert case.stored.name == "gradient-not-divided-by-n.patch" and isinstance(case.score, int)
    report = grade(spec, case.path, isolate=False)
    assert report["status"] == "graded" and report["score"] == case.score
    assert problems(case, report) == []
