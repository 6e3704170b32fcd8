"""The console and HTML views, byte for byte, against golden files made from fixed reports.

Each report under golden/reports/ is a small hand-written JSON file valid against report.schema.json
(one per status: graded with full marks, graded with failures and hints, invalid_submission,
infra_error, skipped). Each view variant (student's copy, instructor's copy, colour, override) of each
report is compared with golden/<report>.<variant>.<ext>. Nothing is normalised: the views take no
clock or version of their own, so any change in a golden is a change in what a reader sees.

After an intended change to a view, regenerate every golden with one command and review the diff:

    UPDATE_GOLDENS=1 .venv/bin/python -m pytest -q -p no:cacheprovider tests/report/views/test_goldens.py
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Callable

import pytest

from grader.report.views.console import to_text
from grader.report.views.gradebook import Override
from grader.report.views.html import to_html
from grader.report.write import validate_report

GOLDEN = Path(__file__).parent / "golden"
REPORTS = sorted(p.stem for p in (GOLDEN / "reports").glob("*.json"))
REGENERATE = ("UPDATE_GOLDENS=1 .venv/bin/python -m pytest -q -p no:cacheprovider "
              "tests/report/views/test_goldens.py")
OVERRIDE = Override(student="bob", assignment="05-backprop", points=9.5,
                    reason="regrade: the timeout was the grader's fault")

# variant name -> (file extension, view); every report is rendered by every variant listed here.
View = Callable[[dict], str]
VARIANTS: dict[str, tuple[str, View]] = {
    "console-student": ("txt", lambda r: to_text(r)),
    "console-instructor": ("txt", lambda r: to_text(r, show_hidden=True)),
    "html-student": ("html", lambda r: to_html(r)),
    "html-instructor": ("html", lambda r: to_html(r, show_hidden=True)),
}
# Variants that only one report needs: the colour codes and an instructor's override.
EXTRA: dict[str, dict[str, tuple[str, View]]] = {
    "graded-partial": {
        "console-student-color": ("txt", lambda r: to_text(r, color=True)),
        "html-instructor-override": ("html", lambda r: to_html(r, show_hidden=True, override=OVERRIDE)),
        # The student's copy never shows an override, even when one is passed.
        "html-student-override": ("html", lambda r: to_html(r, override=OVERRIDE)),
    },
}
CASES = [(report, variant, ext, view) for report in REPORTS
         for variant, (ext, view) in {**VARIANTS, **EXTRA.get(report, {})}.items()]


def load(name: str) -> dict:
    """A fixture report, refused if it does not match the schema (a view never sees a bad report)."""
    report = json.loads((GOLDEN / "reports" / f"{name}.json").read_text(encoding="utf-8"))
    validate_report(report)
    return report


def golden_path(report: str, variant: str, ext: str) -> Path:
    return GOLDEN / f"{report}.{variant}.{ext}"


def compare(path: Path, produced: str) -> None:
    """Fail with a unified diff (golden -> produced) unless `path` holds exactly `produced`."""
    data = produced.encode("utf-8")
    if os.environ.get("UPDATE_GOLDENS") == "1":
        path.write_bytes(data)
    if not path.exists():
        pytest.fail(f"{path.relative_to(GOLDEN.parent)} does not exist; create it with:\n  {REGENERATE}")
    expected = path.read_bytes()
    if expected == data:
        return
    diff = difflib.unified_diff(expected.decode("utf-8", "backslashreplace").splitlines(keepends=True),
                                produced.splitlines(keepends=True), fromfile=f"{path.name} (golden)",
                                tofile=f"{path.name} (produced now)")
    pytest.fail(f"{path.name} differs from what the view produces now:\n{''.join(diff)}\n"
                f"If the change is intended, regenerate the goldens and review `git diff`:\n  {REGENERATE}",
                pytrace=False)


def test_every_status_has_a_fixture_report():
    assert REPORTS == ["graded-full", "graded-partial", "infra-error", "invalid-submission", "skipped"]
    assert {load(name)["status"] for name in REPORTS} == {"graded", "invalid_submission", "infra_error",
                                                           "skipped"}


@pytest.mark.parametrize(("report", "variant", "ext", "view"), CASES,
                         ids=[f"{r}.{v}" for r, v, _, _ in CASES])
def test_view_matches_its_golden(report: str, variant: str, ext: str, view: View):
    compare(golden_path(report, variant, ext), view(load(report)))


def test_no_golden_is_left_without_a_case():
    """A golden no case produces (a renamed report or variant) would silently stop being checked."""
    produced = {golden_path(r, v, e).name for r, v, e, _ in CASES}
    on_disk = {p.name for p in GOLDEN.iterdir() if p.is_file()}
    stale = sorted(on_disk - produced)
    assert stale == [], f"goldens no case produces; delete them or add their case: {stale}"


def test_a_changed_view_is_caught_with_a_diff_and_the_command(tmp_path, monkeypatch):
    """The comparison itself can fail: one changed byte gives a diff naming the line and the command."""
    monkeypatch.delenv("UPDATE_GOLDENS", raising=False)
    produced = to_text(load("graded-partial"))
    path = tmp_path / "copy.txt"
    path.write_bytes(produced.encode("utf-8"))
    compare(path, produced)  # identical: passes
    with pytest.raises(pytest.fail.Exception) as failed:
        compare(path, produced.replace("Score: 4/20", "Score: 4/21"))
    assert "\n-Score: 4/20" in str(failed.value) and "\n+Score: 4/21" in str(failed.value)
    assert REGENERATE in str(failed.value)
    with pytest.raises(pytest.fail.Exception, match="differs"):  # a trailing newline is a difference too
        compare(path, produced + "\n")
