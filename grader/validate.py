"""Prove an assignment is sound before students see it.

The spec loads; every test collects and carries points that add up to the spec's total; public tests
don't use the solution; starter and solution define every API function with the same signature and
docstring, so the starter tells students exactly what the tests will call.
"""

from __future__ import annotations

import ast
from pathlib import Path

from grader import api
from grader.spec import AssignmentSpec


def validate(spec: AssignmentSpec) -> list[str]:
    outcome = api.run_judge(spec, None, invalid="validation run", sandbox="local", isolate=False,
                            visibility="all")
    found = list(outcome.get("spec_errors") or [])
    if outcome.get("infra_error"):
        found.append(outcome["infra_error"])
    if not outcome.get("tests"):
        found.append("no tests were collected")
    for filename, names in spec.api.items():
        found += _same_signatures(spec.starter / filename, spec.solution / filename, names)
    return found


def _same_signatures(starter: Path, solution: Path, names: list[str]) -> list[str]:
    found = []
    try:
        theirs, ours = _functions(starter), _functions(solution)
    except (OSError, SyntaxError) as exc:
        return [f"cannot read {exc.filename}: {exc}"]
    for name in names:
        if name not in theirs:
            found.append(f"{starter}: does not define {name}()")
        elif name not in ours:
            found.append(f"{solution}: does not define {name}()")
        elif theirs[name] != ours[name]:
            found.append(f"{name}(): starter and solution differ in signature or docstring")
    return found


def _functions(path: Path) -> dict[str, tuple[str, str | None]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {node.name: (ast.dump(node.args), ast.get_docstring(node))
            for node in tree.body if isinstance(node, ast.FunctionDef)}
