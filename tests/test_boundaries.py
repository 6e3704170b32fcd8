"""The package's shape, read from its source with `ast`: who may import whom, no cycles, a docstring on
every module that says its job and what it never does, no function longer than 40 lines.

The table below is the architecture (DESIGN.md): data flows ingest -> sandbox -> judge -> report, the
pipeline drives the stages, the runtime is all that crosses into the sandbox, and the front ends
(cli, service, interop, authoring) sit on top. A new import that breaks it fails here with the file
and the line, so the picture stays true as the code grows.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "grader"
BASE = {"grader", "errors", "spec", "jobdirs"}  # vocabulary and housekeeping every part may use
STAGES = {"ingest", "runtime", "sandbox", "judge", "report"}
# Each part of grader and the parts it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "grader": set(), "errors": set(), "spec": {"errors"}, "jobdirs": set(), "janitor": {"jobdirs"},
    "runtime": set(),  # copied into the sandbox: it may import nothing of the grader but itself
    "ingest": BASE,
    "sandbox": BASE | {"runtime", "janitor"},
    "judge": BASE | {"runtime", "sandbox"},
    "report": BASE,
    "pipeline": BASE | STAGES,
    "interop": BASE | STAGES | {"pipeline"},
    "authoring": BASE | STAGES | {"pipeline", "interop"},
    "service": BASE | STAGES | {"pipeline", "interop"},
    "cli": BASE | STAGES | {"pipeline", "interop", "authoring", "service"},
    "__main__": {"cli"},
}
MAX_FUNCTION_LINES = 40
# Third-party modules the runtime may import inside the sandbox (numpy: the frame format needs it).
RUNTIME_THIRD_PARTY = {"numpy"}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ["grader", *path.relative_to(PACKAGE).with_suffix("").parts]
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = modules()


def part(module: str) -> str:
    """The part of grader a dotted module belongs to: its first package below grader, or its name."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "grader"


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every grader module `path` imports, at any depth (TYPE_CHECKING included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from grader import wire` imports a module; `__version__` does not
                child = f"{node.module}.{alias.name}"
                found.append((node.lineno, child if child in MODULES else node.module))
    return [(line, name) for line, name in found if name == "grader" or name.startswith("grader.")]


def test_every_part_is_in_the_table():
    assert {part(m) for m in MODULES} <= set(ALLOWED), "a new part of grader: add it to ALLOWED"


def test_parts_import_only_what_the_architecture_allows():
    wrong = [f"{path.relative_to(PACKAGE.parent)}:{line}: {part(module)} imports {name}"
             for module, path in MODULES.items() for line, name in imports(path)
             if part(name) != part(module) and part(name) not in ALLOWED[part(module)]]
    assert not wrong, "imports across the architecture's boundaries:\n" + "\n".join(wrong)


def test_no_import_cycles_between_modules():
    graph = defaultdict(set)
    for module, path in MODULES.items():
        graph[module] = {name for _, name in imports(path) if name in MODULES and name != module
                         and not module.startswith(name + ".")}  # a package's own __init__ is no cycle
    cycle = _find_cycle(graph)
    assert cycle is None, "an import cycle: " + " -> ".join(cycle or [])


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_runtime_imports_only_the_standard_library_and_numpy():
    allowed = set(sys.stdlib_module_names) | RUNTIME_THIRD_PARTY | {"grader"}
    wrong = []
    for module, path in MODULES.items():
        if part(module) != "runtime":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            wrong += [f"{module}: {n}" for n in names if n.split(".")[0] not in allowed
                      or (n.startswith("grader") and n != "grader" and not n.startswith("grader.runtime"))]
    assert not wrong, "the runtime runs in the sandbox; it may not import " + ", ".join(wrong)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_says_its_job_and_what_it_never_does(module):
    doc = ast.get_docstring(ast.parse(MODULES[module].read_text())) or ""
    assert len(doc.split()) >= 8, f"{MODULES[module]}: its docstring must say the module's job"
    assert any(word in doc.lower() for word in ("never", "nothing", "none", " not ", " no ")), (
        f"{MODULES[module]}: its docstring must say what the module never does")


def test_no_function_is_longer_than_forty_lines():
    long = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}: {lines} lines")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (split them):\n" + "\n".join(long)
