"""Prove an assignment is sound before students see it.

Structure (`validate`): the spec loads; every test collects and carries points that add up to the
spec's total; starter and solution define the same functions and classes, at any depth, with the same
signatures, docstrings, module docstring and imports, so the starter tells students exactly what the
tests will call. Proof (`prove`, what `grader validate` runs by default): the reference scores full
marks, the untouched starter zero, and each example mistake exactly its pinned score, graded as
students' work is graded. It never edits the step it checks.
"""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path

from grader.judge.launch import run_judge
from grader.spec import AssignmentSpec


def validate(spec: AssignmentSpec) -> list[str]:
    """Problems with the step's structure; empty when it is sound. Grades nothing."""
    outcome = run_judge(spec, None, invalid="validation run", sandbox="local", isolate=False,
                            visibility="all")
    found = list(outcome.get("spec_errors") or [])
    if outcome.get("infra_error"):
        found.append(outcome["infra_error"])
    if not outcome.get("tests"):
        found.append("no tests were collected")
    for filename in spec.files:
        found += same_interface(spec.starter / filename, spec.solution / filename)
    return found


def prove(spec: AssignmentSpec, *, sandbox: str = "local", jobs: int = 2) -> list[str]:
    """Structure problems, then grading problems: reference, starter and examples vs their pins."""
    from grader.pipeline.batch import grade_batch
    from grader.authoring.examples import cases_for, example_problems, gradable

    found = validate(spec)
    if found:
        return found
    cases, found = gradable(cases_for(spec))  # a patch that no longer applies is a problem, not a crash
    with tempfile.TemporaryDirectory(prefix="grader-validate-") as out:
        reports = grade_batch(spec, [c.path for c in cases], Path(out), sandbox=sandbox, jobs=jobs,
                              progress=None)
    for case, report in zip(cases, reports.values()):
        found += [f"example {case.name}: {problem}" for problem in example_problems(case, report)]
    return found


def same_interface(starter: Path, solution: Path) -> list[str]:
    """How `starter` and `solution` differ outside the solution blocks (empty when they agree)."""
    try:
        trees = [ast.parse(p.read_text(), filename=str(p)) for p in (starter, solution)]
    except (OSError, SyntaxError) as exc:
        return [f"cannot read {exc.filename}: {exc}"]
    theirs, ours = (interface(tree) for tree in trees)
    found = [f"{starter}: does not define {name}" for name in sorted(set(ours) - set(theirs))]
    found += [f"{solution}: does not define {name}" for name in sorted(set(theirs) - set(ours))]
    found += [f"{name}: starter and solution differ in {what}"
              for name in sorted(set(theirs) & set(ours))
              for what, a, b in zip(("signature", "docstring"), theirs[name], ours[name]) if a != b]
    if ast.get_docstring(trees[0]) != ast.get_docstring(trees[1]):
        found.append(f"{starter.name}: starter and solution differ in the module docstring")
    if _imports(trees[0]) != _imports(trees[1]):
        found.append(f"{starter.name}: starter and solution import different things")
    return found


def interface(tree: ast.AST, prefix: str = "") -> dict[str, tuple[str, str | None]]:
    """{qualified name: (signature, docstring)} of every function and class, at any depth."""
    found = {}
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            returns = ast.unparse(node.returns) if node.returns else ""
            found[prefix + node.name] = (f"({ast.unparse(node.args)}) -> {returns}", ast.get_docstring(node))
        elif isinstance(node, ast.ClassDef):
            found[prefix + node.name] = (", ".join(ast.unparse(b) for b in node.bases), ast.get_docstring(node))
        else:
            continue
        found.update(interface(node, prefix + node.name + "."))
    return found


def _imports(tree: ast.Module) -> list[str]:
    return [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
