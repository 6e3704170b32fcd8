"""Mutation testing of the assignments' tests: does a small bug in the reference lose points?

`python -m grader.authoring.mutants [ASSIGNMENT...]` (`make mutants`) parses each reference solution, makes
single-point mutants inside the solution blocks (an operator, a comparison, a constant, an axis, a
reduction swapped for its sibling), grades each mutant like a submission and reports, per assignment,
the share of mutants that lost points. Survivors are listed with the line they changed, so each can be
explained (an equivalent mutant) or answered with a new test. Mutants live in temporary folders; the
reference solutions themselves are never edited.
"""

from __future__ import annotations

import argparse
import ast
import random
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from grader.pipeline.grade import grade
from grader.pipeline.progress import Progress, make_progress
from grader.spec import AssignmentSpec, find_assignment, find_assignments

BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
          ast.FloorDiv: ast.Div, ast.Pow: ast.Mult, ast.MatMult: ast.Mult}
COMPARES = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq}
NAMES = {"sum": "mean", "mean": "sum", "max": "min", "min": "max", "maximum": "minimum",
         "minimum": "maximum", "argmax": "argmin", "argmin": "argmax", "exp": "log", "log": "exp",
         "tanh": "sin", "sqrt": "abs", "zeros": "ones", "ones": "zeros", "T": "conj"}


@dataclass(frozen=True)
class Mutant:
    file: str
    line: int
    description: str
    source: str


def solution_lines(text: str) -> set[int]:
    """Line numbers between BEGIN/END SOLUTION markers: the only code students write.

    A line whose comment starts with `# free:` holds a choice the assignment leaves to the student
    (a hidden size, a learning rate, a number of steps): its constants are not mutated, since another
    value that still meets the tests is not a bug. Its operators still are.
    """
    inside, lines = False, set()
    for number, line in enumerate(text.splitlines(), 1):
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside:
            lines.add(number)
    return lines


def free_lines(text: str) -> set[int]:
    return {n for n, line in enumerate(text.splitlines(), 1) if "# free:" in line}


def mutants_of(path: Path) -> list[Mutant]:
    text = path.read_text()
    allowed, free = solution_lines(text), free_lines(text)
    tree = ast.parse(text)
    original = ast.unparse(tree)
    found: dict[str, Mutant] = {}
    sites = [node for node in ast.walk(tree) if getattr(node, "lineno", None) in allowed]
    unknown_dims = _reshape_unknown_dims(tree)
    for index, node in enumerate(sites):
        for description, apply in _mutations(node):
            if node.lineno in free and description.startswith(("constant", ".zeros", ".ones")):
                continue
            if id(node) in unknown_dims and description.startswith("constant"):
                continue
            mutated = ast.parse(text)
            target = [n for n in ast.walk(mutated) if getattr(n, "lineno", None) in allowed][index]
            apply(target)
            source = ast.unparse(mutated)
            if source != original and source not in found:
                found[source] = Mutant(path.name, node.lineno, description, source)
    return list(found.values())


def _reshape_unknown_dims(tree: ast.AST) -> set[int]:
    """The `1` of each `-1` passed to reshape: numpy reads any negative size as "infer this one",
    so changing it to -2 or -0.5 makes an equivalent (or merely crashing) mutant, not a bug."""
    found = set()
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "attr", getattr(call.func, "id", "")) == "reshape":
            sizes = [e for a in call.args for e in (a.elts if isinstance(a, ast.Tuple) else [a])]
            for arg in sizes:
                if (isinstance(arg, ast.UnaryOp) and isinstance(arg.op, ast.USub)
                        and isinstance(arg.operand, ast.Constant)):
                    found.add(id(arg.operand))
    return found


def _mutations(node: ast.AST) -> list[tuple[str, object]]:
    out = []
    if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
        new = BINOPS[type(node.op)]
        out.append((f"{type(node.op).__name__} -> {new.__name__}", lambda n, new=new: setattr(n, "op", new())))
    if isinstance(node, ast.AugAssign) and type(node.op) in BINOPS:
        new = BINOPS[type(node.op)]
        out.append((f"{type(node.op).__name__}= -> {new.__name__}=", lambda n, new=new: setattr(n, "op", new())))
    if isinstance(node, ast.Compare) and type(node.ops[0]) in COMPARES:
        new = COMPARES[type(node.ops[0])]
        out.append((f"{type(node.ops[0]).__name__} -> {new.__name__}",
                    lambda n, new=new: n.ops.__setitem__(0, new())))
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = node.value
        for new in {value + 1, value - 1 if value else 1, value * 2 if value else 0.5} - {value}:
            out.append((f"constant {value!r} -> {new!r}", lambda n, new=new: setattr(n, "value", new)))
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        out.append((f"{node.value} -> {not node.value}", lambda n: setattr(n, "value", not n.value)))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        out.append(("drop unary minus", lambda n: setattr(n, "op", ast.UAdd())))
    if isinstance(node, ast.Attribute) and node.attr in NAMES:
        out.append((f".{node.attr} -> .{NAMES[node.attr]}", lambda n: setattr(n, "attr", NAMES[n.attr])))
    if isinstance(node, ast.Name) and node.id in NAMES and node.id not in ("T",):
        out.append((f"{node.id} -> {NAMES[node.id]}", lambda n: setattr(n, "id", NAMES[n.id])))
    if isinstance(node, ast.keyword) and node.arg == "axis" and isinstance(node.value, ast.Constant):
        out.append((f"axis={node.value.value!r} -> other axis",
                    lambda n: setattr(n, "value", ast.Constant(1 if n.value.value in (0, -2) else 0))))
    return out


def run(spec: AssignmentSpec, *, limit: int, jobs: int, seed: int = 0,
        progress: Progress | None = None) -> tuple[int, int, list[Mutant]]:
    """(killed, total, survivors) over at most `limit` mutants, sampled reproducibly."""
    candidates = [m for name in spec.api for m in mutants_of(spec.solution / name)]
    random.Random(seed).shuffle(candidates)
    chosen = candidates[:limit]
    shown = progress or Progress()
    shown.begin(len(chosen))

    def killed(mutant: Mutant) -> bool:
        label = f"{mutant.file}:{mutant.line} {mutant.description}"
        shown.started(label)
        verdict = _killed(mutant)
        shown.finished(label, "killed" if verdict else "survived")
        return verdict

    def _killed(mutant: Mutant) -> bool:
        with tempfile.TemporaryDirectory(prefix="grader-mutant-") as tmp:
            folder = Path(tmp) / "mutant"
            shutil.copytree(spec.solution, folder)
            (folder / mutant.file).write_text(mutant.source)
            report = grade(spec, folder)
        if report["status"] == "skipped":
            raise Unavailable(report["reason"])
        return report["status"] == "graded" and report["score"] < report["max_score"]

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        verdicts = list(pool.map(killed, chosen))
    survivors = [m for m, k in zip(chosen, verdicts) if not k]
    return sum(verdicts), len(chosen), survivors


class Unavailable(Exception):
    """The sandbox cannot run this assignment here (it lacks a module the step needs)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.authoring.mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--course", type=Path, default=Path("."))
    parser.add_argument("--max", type=int, default=40, help="mutants per assignment (sampled)")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    specs = [find_assignment(args.course, a) for a in args.assignments] or find_assignments(args.course)
    print("| assignment | mutants | killed | score |\n| --- | ---: | ---: | ---: |")
    lines = []
    for spec in specs:
        try:
            with make_progress(sys.stderr, label=f"mutants of {spec.id}") as progress:
                killed, total, survivors = run(spec, limit=args.max, jobs=args.jobs, progress=progress)
        except Unavailable as why:
            print(f"| {spec.id} | - | - | not run here: {why} |", flush=True)
            continue
        print(f"| {spec.id} | {total} | {killed} | {killed / max(total, 1):.0%} |", flush=True)
        lines += [f"- {spec.id}: {m.file}:{m.line} {m.description}" for m in survivors]
    print("\nSurviving mutants:\n" + ("\n".join(lines) or "- none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
