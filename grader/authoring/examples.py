"""The course's example submissions and what each must score, from `examples/<id>/expected.toml`.

Two cases exist for every assignment without being listed: `reference` (solutions/<id>, full marks)
and `starter` (the untouched starter, zero). Other cases are folders beside expected.toml:

    [forgot-bias-sum]
    score = "between"              # "full", "between", "zero" or a number (the exact score)
    fails = ["hidden/test_layers.py::test_affine_backward_db"]   # optional: exactly these lose points
    mentions = "sum over the batch" # optional: some failing message says this
    student_sees = "db must be summed" # optional: the student's copy of the report says this

`examples/hostile/` holds cases that attack the grader; their expected.toml names the assignment each
one targets (`assignment = "05-backprop"`). This module only reads those files: it never grades and
never writes a pin; `grader examples` and `grader validate` do the grading.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import SpecError
from grader.spec import AssignmentSpec

KEYS = {"score", "fails", "mentions", "assignment", "about", "student_sees"}


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    score: str | float
    fails: tuple[str, ...] | None = None
    mentions: str | None = None
    about: str = ""
    assignment: str | None = field(default=None, compare=False)
    student_sees: str | None = None


def cases_for(spec: AssignmentSpec) -> list[Case]:
    cases = [Case("reference", spec.solution, "full"), Case("starter", spec.starter, "zero")]
    table = _table(spec.course / "examples" / spec.id / "expected.toml")
    for name, entry in table.items():
        if name in ("reference", "starter"):
            raise SpecError(f"{spec.course / 'examples' / spec.id}: `{name}` is implicit; don't list it")
        cases.append(_case(spec.course / "examples" / spec.id, name, entry))
    return cases


def hostile_cases(course: Path) -> list[Case]:
    folder = course / "examples" / "hostile"
    return [_case(folder, name, entry) for name, entry in _table(folder / "expected.toml").items()]


def _table(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None


def _case(folder: Path, name: str, entry: dict) -> Case:
    unknown = set(entry) - KEYS
    if unknown:
        raise SpecError(f"{folder / 'expected.toml'} [{name}]: unknown key {sorted(unknown)[0]!r}")
    path = folder / name
    if not path.exists():
        matches = [p for p in folder.glob(name + ".*") if p.name != "expected.toml"]
        if len(matches) != 1:
            raise SpecError(f"{folder / 'expected.toml'}: case {name!r} has no folder or file beside it")
        path = matches[0]
    fails = entry.get("fails")
    return Case(name, path, entry.get("score", "between"), tuple(fails) if fails is not None else None,
                entry.get("mentions"), entry.get("about", ""), entry.get("assignment"), entry.get("student_sees"))


def problems(case: Case, report: dict) -> list[str]:
    """What is wrong with `report` as a grade for `case`; empty when it scored as expected."""
    if report["status"] == "infra_error":
        return [f"infra_error: {report['reason']}"]
    if report["status"] == "skipped":
        return []  # the sandbox lacks what the step needs: nothing to compare, and the table says so
    score, top = report["score"], report["max_score"]
    wanted = {"full": score == top, "zero": score == 0, "between": 0 < score < top}
    ok = wanted.get(case.score, score == case.score) if isinstance(case.score, str) else score == case.score
    found = []
    if not ok:
        found.append(f"scored {score:g}/{top:g}, expected {case.score}")
    lost = sorted(t["name"] for t in report["tests"] if t["status"] != "passed")
    if case.fails is not None and lost != sorted(case.fails):
        found.append(f"lost points on {lost}, expected exactly {sorted(case.fails)}")
    if case.mentions and not any(case.mentions.lower() in t["message"].lower() for t in report["tests"]):
        found.append(f"no failing message mentions {case.mentions!r}")
    return found


def example_problems(case: Case, report: dict) -> list[str]:
    """`problems`, plus the rule for a step's own examples: a mistake loses some points but not all
    (a mistake scoring zero or full would teach nothing about what it gets wrong)."""
    found = problems(case, report)
    mistake = case.name not in ("reference", "starter")
    if mistake and report["status"] == "graded" and not 0 < report["score"] < report["max_score"]:
        found.append(f"a mistake must lose some points but not all "
                     f"(scored {report['score']:g}/{report['max_score']:g})")
    return found
