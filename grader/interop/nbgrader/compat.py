"""Grade nbgrader-format notebooks in compatibility mode: nbgrader's rules, our sandbox and report.

The trusted side derives the "master" notebook from the instructor's source with nbgrader's own
preprocessors (as `nbgrader generate_assignment` does before it saves cells to its gradebook), then
treats the student's notebook as nbgrader's autograde does: duplicate ids lose their metadata, and every
cell that has an id in the master takes the master's type, points, lock state and checksum; locked
cells take the master's source. Which cells are tests and what they are worth comes from the master
only. The student's cells then run one by one in the sandbox runner (grader/interop/nbgrader/cellrunner.py), and the
test cells run in the judge (grader/interop/nbgrader/judge_tests.py) against the notebook's namespace reached
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

from grader.pipeline.grade import grade
from grader.errors import SpecError, SubmissionError
from grader.ingest.workspace import submission_name
from grader.ingest.notebook import parse_notebook, read_capped, strip_magics
from grader.ingest.notebook_format import nbformat
from grader.report.write import validate_report
from grader.spec import load_spec

ASSIGNMENT_SLUG = "90-nbgrader"
CELL_FILE = "nbgrader_cells.py"
CELL_API = ["run_cell", "call_timed", "get_name", "set_name", "del_name"]
HIDDEN_MARK = re.compile(r"^\s*#+\s*BEGIN HIDDEN TESTS", re.MULTILINE)
LIMITS = {"import_seconds": 30, "total_seconds": 600, "memory_mb": 2048}
CELL_SECONDS = 30  # nbgrader's Execute.timeout: a cell running longer is interrupted
CALL_MARGIN = 15  # the judge's per-call limit is the cell's plus this, for a cell that will not stop


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


def merged_cells(master: nbformat.NotebookNode, submitted: nbformat.NotebookNode, *,
                 add_missing_cells: bool = False) -> list[nbformat.NotebookNode]:
    """The submitted cells after nbgrader's DeduplicateIds and OverwriteCells, as notebook cells.

    A cell whose id the master knows takes the master's nbgrader metadata and cell type, and a changed
    locked cell the master's source; a duplicate or unknown id loses its metadata. With
    `add_missing_cells` (nbgrader's `OverwriteCells.add_missing_cells`), grade cells the student deleted
    come back after the cell that preceded them in the master, task cells at the end, as nbgrader adds them.
    """
    from nbgrader.utils import compute_checksum, is_locked  # noqa: PLC0415

    known = {nbgrader_meta(c).get("grade_id"): c for c in master.cells if nbgrader_meta(c).get("grade_id")}
    seen: set[str] = set()
    cells = []
    for cell in copy.deepcopy(submitted.cells):
        gid = nbgrader_meta(cell).get("grade_id")
        if not gid or gid in seen or gid not in known:
            cell.get("metadata", {}).pop("nbgrader", None)  # nbgrader drops a duplicate or unknown id
            cells.append(cell)
            continue
        seen.add(gid)
        original = known[gid]
        cell.metadata["nbgrader"] = copy.deepcopy(nbgrader_meta(original))
        _set_type(cell, original.cell_type)
        if is_locked(original) and compute_checksum(cell) != nbgrader_meta(original).get("checksum"):
            cell.source = original.source  # a changed locked cell is put back, as nbgrader does
        cells.append(cell)
    if add_missing_cells:
        _add_missing(master, cells, seen)
    return cells


def _set_type(cell: nbformat.NotebookNode, cell_type: str) -> None:
    if cell.cell_type == cell_type:
        return
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _add_missing(master: nbformat.NotebookNode, cells: list, present: set[str]) -> None:
    """nbgrader's add_missing_grade_cells and add_missing_task_cells, on `cells` in place."""
    order = [c for c in master.cells if nbgrader_meta(c).get("grade_id")]
    for index, original in enumerate(order):
        meta = nbgrader_meta(original)
        if not meta.get("grade") or meta["grade_id"] in present:
            continue
        added = _missing_cell(original)
        before = nbgrader_meta(order[index - 1]).get("grade_id") if index else None
        at = next((i + 1 for i, c in enumerate(cells) if before and nbgrader_meta(c).get("grade_id") == before
                   and (is_grade(c) or is_solution(c))), 0 if before is None else len(cells))
        cells.insert(at, added)
        present.add(meta["grade_id"])
    for original in order:
        if is_task(original) and nbgrader_meta(original)["grade_id"] not in present:
            cells.append(_missing_cell(original))


def _missing_cell(original: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A deleted cell as nbgrader puts it back: its source under a notice (commented out in code)."""
    meta = copy.deepcopy(nbgrader_meta(original))
    notice = (f"This cell (id:{meta['grade_id']}) was missing from the submission. "
              "It was added back by nbgrader.\n\n")
    cell = copy.deepcopy(original)
    cell.metadata["nbgrader"] = meta
    cell.source = ("# " if cell.cell_type == "code" else "") + notice + original.source
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def overwrite_cells(master: nbformat.NotebookNode, submitted: nbformat.NotebookNode, *,
                    add_missing_cells: bool = False) -> list[dict]:
    """merged_cells as plain dicts, each graded cell with whether it differs from the master."""
    from nbgrader.utils import compute_checksum  # noqa: PLC0415

    plain = []
    for cell in merged_cells(master, submitted, add_missing_cells=add_missing_cells):
        meta = nbgrader_meta(cell)
        entry = {"cell_type": cell.cell_type, "source": cell.source, "nbgrader": meta}
        if meta:
            entry["changed"] = compute_checksum(cell) != meta.get("checksum") \
                if (meta.get("grade") or meta.get("solution")) else True
        plain.append(entry)
    return plain


def build_plan(master: nbformat.NotebookNode, submitted: nbformat.NotebookNode, label: str, *,
               add_missing_cells: bool = False, cell_seconds: float = CELL_SECONDS) -> dict:
    """The judge's plan: every cell in order (code to run, or None) and the grade it carries, if any."""
    cells = overwrite_cells(master, submitted, add_missing_cells=add_missing_cells)
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
    return {"notebook": label, "steps": steps, "hidden": sorted(h for h in hidden if h),
            "cell_seconds": cell_seconds, "add_missing_cells": add_missing_cells}


def _kind(cell: dict) -> str:
    meta = cell["nbgrader"]
    if meta.get("task") or cell["cell_type"] != "code" and not meta.get("solution"):
        return "manual"
    if meta.get("solution"):
        return "manual" if cell["changed"] else "unanswered"
    return "auto"


def grade_notebook(source_nb: Path, submitted: Path, *, name: str | None = None, sandbox: str = "local",
                   isolate: bool = True, add_missing_cells: bool = False,
                   cell_seconds: float = CELL_SECONDS) -> dict:
    """Our report for `submitted`, graded against the instructor's nbgrader notebook `source_nb`.

    `add_missing_cells` and `cell_seconds` are nbgrader's OverwriteCells.add_missing_cells and
    Execute.timeout, with nbgrader's defaults."""
    if not 0 < cell_seconds <= LIMITS["total_seconds"]:
        raise SpecError(f"cell_seconds={cell_seconds!r}: give a time limit per cell between 0 and "
                        f"{LIMITS['total_seconds']} s")
    options = {"add_missing_cells": add_missing_cells, "cell_seconds": cell_seconds}
    master = master_notebook(nbformat.read(source_nb, as_version=4))
    label = source_nb.stem
    name = name or submission_name(submitted)
    with tempfile.TemporaryDirectory(prefix="grader-nbgrader-") as tmp:
        try:
            student = parse_notebook(read_capped(submitted), submitted)
            plan = build_plan(master, student, label, **options)
            invalid = None
        except SubmissionError as exc:
            plan, invalid = build_plan(master, nbformat.v4.new_notebook(), label, **options), str(exc)
        spec = _assignment(Path(tmp), plan, label)
        workspace = _workspace(Path(tmp), submitted, invalid)
        report = grade(spec, workspace, sandbox=sandbox, isolate=isolate, name=name)
    return _rename(report, plan, invalid)


def _assignment(tmp: Path, plan: dict, label: str):
    root = tmp / "course" / "assignments" / ASSIGNMENT_SLUG
    (root / "tests" / "hidden").mkdir(parents=True)
    (root / "tests" / "public").mkdir()
    (root / "data").mkdir()
    (root / "starter").mkdir()
    shutil.copyfile(Path(__file__).with_name("judge_tests.py"), root / "tests/hidden/test_notebook.py")
    (root / "data" / "plan.json").write_text(json.dumps(plan))
    points = sum(s["grade"]["points"] for s in plan["steps"] if s["grade"])
    limits = "\n".join(f"{k} = {v}" for k, v in
                        {**LIMITS, "call_seconds": plan["cell_seconds"] + CALL_MARGIN}.items())
    (root / "assignment.toml").write_text(
        f'schema = 1\ntitle = {json.dumps(notebook_title(label, plan))}\npoints = {points!r}\n'
        # mutates: a test cell's arguments may change in place, as in nbgrader's own kernel
        f'[files]\nrequired = ["{CELL_FILE}"]\n[api]\n"{CELL_FILE}" = {json.dumps(CELL_API)}\n'
        f"mutates = {json.dumps(CELL_API)}\n"
        f"[limits]\n{limits}\n[runtime]\nseed = 0\n")
    return load_spec(root, course=tmp / "course")


def notebook_title(label: str, options: dict) -> str:
    """The report's assignment title: the notebook, and the nbgrader settings it was graded under when
    they are not nbgrader's defaults (so a cached report graded under other settings is not reused)."""
    notes = []
    if options.get("add_missing_cells"):
        notes.append("add_missing_cells")
    if options.get("cell_seconds", CELL_SECONDS) != CELL_SECONDS:
        notes.append(f"cell timeout {options['cell_seconds']:g} s")
    return f"nbgrader notebook {label}" + (f" ({', '.join(notes)})" if notes else "")


def _workspace(tmp: Path, submitted: Path, invalid: str | None) -> Path:
    """The runner's folder: our cell runner plus the student's notebook (so the report hashes it)."""
    folder = tmp / "submission"
    folder.mkdir()
    if invalid is None:
        shutil.copyfile(Path(__file__).with_name("cellrunner.py"), folder / CELL_FILE)
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
