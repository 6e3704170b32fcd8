"""Grade nbgrader-format notebooks in compatibility mode: nbgrader's rules, our sandbox and report.

The trusted side derives the "master" notebook from the instructor's source with nbgrader's own
preprocessors (as `nbgrader generate_assignment` does before it saves cells to its gradebook), then
treats the student's notebook as nbgrader's autograde does: duplicate ids lose their metadata, and every
cell that has an id in the master takes the master's type, points, lock state and checksum; locked
cells take the master's source. Which cells are tests and what they are worth comes from the master
only. The student's cells then run one by one in the sandbox runner (grader/nbgrader_cellrunner.py), and the
test cells run in the judge (grader/nbgrader_judge_tests.py) against the notebook's namespace reached
through the runner, so a test's assertions are evaluated where the student cannot reach them; the
result is our JSON report. This module never executes
notebook code itself and never reads a grade from the student's metadata or outputs.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import tempfile
from pathlib import Path

import nbformat

from grader import api
from grader.errors import SpecError, SubmissionError
from grader.ingest import submission_name
from grader.notebook import parse_notebook, read_capped, strip_magics
from grader.report.write import validate_report
from grader.spec import load_spec

ASSIGNMENT_SLUG = "90-nbgrader"
CELL_FILE = "nbgrader_cells.py"
CELL_API = ["run_cell", "get_name", "set_name", "del_name"]
HIDDEN_MARK = re.compile(r"^\s*#+\s*BEGIN HIDDEN TESTS", re.MULTILINE)
LIMITS = {"call_seconds": 30, "import_seconds": 30, "total_seconds": 600, "memory_mb": 2048}


def nbgrader_meta(cell: dict) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def is_grade(cell: dict) -> bool:
    return bool(nbgrader_meta(cell).get("grade"))


def is_solution(cell: dict) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_task(cell: dict) -> bool:
    return bool(nbgrader_meta(cell).get("task"))


def _run(nb: nbformat.NotebookNode, preprocessors: list) -> nbformat.NotebookNode:
    resources = {"nbgrader": {"notebook": "notebook", "assignment": "assignment"}}
    for cls in preprocessors:
        nb, resources = cls().preprocess(nb, resources)
    return nb


def master_notebook(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What nbgrader's generate_assignment saves to its gradebook: solutions cleared, hidden tests kept."""
    from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, ClearSolutions,  # noqa: PLC0415
                                        ComputeChecksums, LockCells)

    if any("### AUTOTEST" in cell.get("source", "") for cell in source.cells):
        raise SpecError("this notebook uses nbgrader AUTOTEST cells, which need a kernel to expand; run "
                        "`nbgrader generate_assignment` and grade against its gradebook instead")
    return _run(copy.deepcopy(source), [LockCells, ClearSolutions, ClearOutput, CheckCellMetadata,
                                        ComputeChecksums])


def release_notebook(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student's notebook: the master without hidden tests or mark schemes, checksums recomputed."""
    from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests,  # noqa: PLC0415
                                        ClearMarkScheme, ComputeChecksums)

    return _run(master_notebook(source), [ClearHiddenTests, ClearMarkScheme, ComputeChecksums,
                                          CheckCellMetadata])


def overwrite_cells(master: nbformat.NotebookNode, submitted: nbformat.NotebookNode) -> list[dict]:
    """The submitted cells after nbgrader's DeduplicateIds and OverwriteCells, as plain dicts."""
    known = {nbgrader_meta(c).get("grade_id"): c for c in master.cells if nbgrader_meta(c).get("grade_id")}
    seen: set[str] = set()
    cells = []
    for cell in copy.deepcopy(submitted.cells):
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if not gid:
            cells.append(_plain(cell))
            continue
        if gid in seen or gid not in known:
            cells.append(_plain(cell))  # nbgrader drops the metadata of a duplicate or unknown id
            continue
        seen.add(gid)
        cells.append(_overwrite(cell, known[gid]))
    return cells


def _plain(cell: dict) -> dict:
    return {"cell_type": cell.get("cell_type"), "source": cell.get("source", ""), "nbgrader": {}}


def _overwrite(cell: dict, master: dict) -> dict:
    from nbgrader.utils import compute_checksum, is_locked  # noqa: PLC0415

    meta = copy.deepcopy(nbgrader_meta(master))
    merged = nbformat.from_dict({"cell_type": master["cell_type"], "source": cell.get("source", ""),
                                 "metadata": {"nbgrader": meta}})
    if is_locked(master) and compute_checksum(merged) != meta.get("checksum"):
        merged["source"] = master["source"]  # a changed locked cell is put back, as nbgrader does
    changed = compute_checksum(merged) != meta.get("checksum") if (meta.get("grade") or meta.get("solution")) \
        else True
    return {"cell_type": merged["cell_type"], "source": merged["source"], "nbgrader": meta, "changed": changed}


def build_plan(master: nbformat.NotebookNode, submitted: nbformat.NotebookNode, label: str) -> dict:
    """The judge's plan: every cell in order (code to run, or None) and the grade it carries, if any."""
    cells = overwrite_cells(master, submitted)
    steps, present = [], set()
    for cell in cells:
        meta = cell["nbgrader"]
        source = strip_magics(cell["source"])[0] if cell["cell_type"] == "code" else None
        grade = None
        if meta.get("grade") or meta.get("task"):
            present.add(meta["grade_id"])
            grade = {"id": meta["grade_id"], "points": float(meta.get("points") or 0), "kind": _kind(cell)}
        steps.append({"source": source, "grade": grade})
    for cell in master.cells:  # graded cells the student deleted still count, as failures
        meta = nbgrader_meta(cell)
        if (meta.get("grade") or meta.get("task")) and meta["grade_id"] not in present:
            steps.append({"source": None, "grade": {"id": meta["grade_id"],
                                                    "points": float(meta.get("points") or 0), "kind": "missing"}})
    hidden = {nbgrader_meta(c).get("grade_id") for c in master.cells if HIDDEN_MARK.search(c.get("source", ""))}
    return {"notebook": label, "steps": steps, "hidden": sorted(h for h in hidden if h)}


def _kind(cell: dict) -> str:
    meta = cell["nbgrader"]
    if meta.get("task") or cell["cell_type"] != "code" and not meta.get("solution"):
        return "manual"
    if meta.get("solution"):
        return "manual" if cell["changed"] else "unanswered"
    return "auto"


def grade_notebook(source_nb: Path, submitted: Path, *, name: str | None = None, sandbox: str = "local",
                   isolate: bool = True) -> dict:
    """Our report for `submitted`, graded against the instructor's nbgrader notebook `source_nb`."""
    master = master_notebook(nbformat.read(source_nb, as_version=4))
    label = source_nb.stem
    name = name or submission_name(submitted)
    with tempfile.TemporaryDirectory(prefix="grader-nbgrader-") as tmp:
        try:
            student = parse_notebook(read_capped(submitted), submitted)
            plan = build_plan(master, student, label)
            invalid = None
        except SubmissionError as exc:
            plan, invalid = build_plan(master, nbformat.v4.new_notebook(), label), str(exc)
        spec = _assignment(Path(tmp), plan, label)
        workspace = _workspace(Path(tmp), submitted, invalid)
        report = api.grade(spec, workspace, sandbox=sandbox, isolate=isolate, name=name)
    return _rename(report, plan, invalid)


def _assignment(tmp: Path, plan: dict, label: str):
    root = tmp / "course" / "assignments" / ASSIGNMENT_SLUG
    (root / "tests" / "hidden").mkdir(parents=True)
    (root / "tests" / "public").mkdir()
    (root / "data").mkdir()
    (root / "starter").mkdir()
    shutil.copyfile(Path(__file__).with_name("nbgrader_judge_tests.py"), root / "tests/hidden/test_notebook.py")
    (root / "data" / "plan.json").write_text(json.dumps(plan))
    points = sum(s["grade"]["points"] for s in plan["steps"] if s["grade"])
    limits = "\n".join(f"{k} = {v}" for k, v in LIMITS.items())
    (root / "assignment.toml").write_text(
        f'schema = 1\ntitle = {json.dumps("nbgrader notebook " + label)}\npoints = {points!r}\n'
        f'[files]\nrequired = ["{CELL_FILE}"]\n[api]\n"{CELL_FILE}" = {json.dumps(CELL_API)}\n'
        f"[limits]\n{limits}\n[runtime]\nseed = 0\n")
    return load_spec(root, course=tmp / "course")


def _workspace(tmp: Path, submitted: Path, invalid: str | None) -> Path:
    """The runner's folder: our cell runner plus the student's notebook (so the report hashes it)."""
    folder = tmp / "submission"
    folder.mkdir()
    if invalid is None:
        shutil.copyfile(Path(__file__).with_name("nbgrader_cellrunner.py"), folder / CELL_FILE)
        shutil.copyfile(submitted, folder / "submitted.ipynb")
    return folder


def _rename(report: dict, plan: dict, invalid: str | None) -> dict:
    """Tests named `<notebook>.ipynb::<grade_id>`; visible unless the master hides the cell's tests."""
    report["assignment"]["id"] = plan["notebook"]
    for test in report["tests"]:
        gid = test["name"].rsplit("[", 1)[-1].rstrip("]")
        test["name"] = f"{plan['notebook']}.ipynb::{gid}"
        test["visibility"] = "hidden" if gid in plan["hidden"] else "visible"
    if invalid and report["status"] == "invalid_submission":
        report["reason"] = invalid
    validate_report(report)
    return report
