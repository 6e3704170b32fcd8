"""The course's example submissions and what each must score, from `examples/<id>/expected.toml`.

Two cases exist for every assignment without being listed: `reference` (solutions/<id>, full marks)
and `starter` (the untouched starter, zero). Other cases sit beside expected.toml: a mistake that is
the reference with a few lines changed is `<case>.patch`, a unified diff against solutions/<id>/
(grader/authoring/patches.py applies it to a copy in a job folder when the case is graded); anything
else (a notebook, an archive, code not derived from the reference) is a folder or file `<case>[.ext]`.

    [forgot-bias-sum]
    score = "between"              # "full", "between", "zero" or a number (the exact score)
    fails = ["hidden/test_layers.py::test_affine_backward_db"]   # optional: exactly these lose points
    mentions = "sum over the batch" # optional: some failing message says this
    student_sees = "db must be summed" # optional: the student's copy of the report says this

`examples/hostile/` holds cases that attack the grader; their expected.toml names the assignment each
one targets (`assignment = "05-backprop"`). This module only reads those files and materialises patch
cases in temporary job folders: it never grades, never writes a pin and never edits examples/;
`grader examples` and `grader validate` do the grading.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader import jobdirs
from grader.authoring.patches import apply_patch
from grader.errors import SpecError
from grader.spec import AssignmentSpec, find_assignment

KEYS = {"score", "fails", "mentions", "assignment", "about", "student_sees"}


@dataclass(frozen=True)
class Case:
    name: str
    stored: Path               # what lies in the course: a folder, a file, or a `.patch`
    score: str | float
    fails: tuple[str, ...] | None = None
    mentions: str | None = None
    about: str = ""
    assignment: str | None = field(default=None, compare=False)
    student_sees: str | None = None
    reference: Path | None = field(default=None, compare=False)  # what a `.patch` applies to

    @property
    def path(self) -> Path:
        """The submission to grade: the stored folder or file, or for a patch the reference with the
        patch applied, in a job folder of this process (made once, named `<case>/`)."""
        if self.stored.suffix != ".patch":
            return self.stored
        if self.reference is None:
            raise SpecError(f"{self.stored}: a patch case needs a step's reference; this one has none")
        return _materialised(self.name, self.stored, self.reference)


def cases_for(spec: AssignmentSpec) -> list[Case]:
    cases = [Case("reference", spec.solution, "full"), Case("starter", spec.starter, "zero")]
    table = _table(spec.course / "examples" / spec.id / "expected.toml")
    for name, entry in table.items():
        if name in ("reference", "starter"):
            raise SpecError(f"{spec.course / 'examples' / spec.id}: `{name}` is implicit; don't list it")
        cases.append(_case(spec.course / "examples" / spec.id, name, entry, spec.solution))
    return cases


def materialise(course: Path, step: str, name: str) -> Path:
    """The gradable folder or file of example `name` of `step` (`hostile` for the attack corpus):
    how code outside this module reaches an example, whether it is stored as a folder or a patch."""
    cases = hostile_cases(course) if step == "hostile" else cases_for(find_assignment(course, step))
    for case in cases:
        if case.name == name:
            return case.path
    raise SpecError(f"{course / 'examples' / step}: no example {name!r}; "
                    f"known: {', '.join(c.name for c in cases)}")


def gradable(cases: list[Case]) -> tuple[list[Case], list[str]]:
    """The cases whose submission can be made, and a problem for each one that cannot (a patch that
    no longer fits its reference), so one stale patch does not stop the rest from being graded."""
    kept, found = [], []
    for case in cases:
        try:
            case.path
        except SpecError as exc:
            found.append(f"example {case.name}: {exc}")
        else:
            kept.append(case)
    return kept, found


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


def _case(folder: Path, name: str, entry: dict, reference: Path | None = None) -> Case:
    unknown = set(entry) - KEYS
    if unknown:
        raise SpecError(f"{folder / 'expected.toml'} [{name}]: unknown key {sorted(unknown)[0]!r}")
    path = folder / name
    if not path.exists():
        matches = [p for p in folder.glob(name + ".*") if p.name != "expected.toml"]
        if len(matches) != 1:
            raise SpecError(f"{folder / 'expected.toml'}: case {name!r} has no folder or file beside it")
        path = matches[0]
    if path.suffix == ".patch" and reference is None:
        raise SpecError(f"{path}: only a step's own examples may be patches (against solutions/<step>/)")
    fails = entry.get("fails")
    return Case(name, path, entry.get("score", "between"), tuple(fails) if fails is not None else None,
                entry.get("mentions"), entry.get("about", ""), entry.get("assignment"), entry.get("student_sees"),
                reference)


_MADE: dict[tuple[str, str], tuple[str, Path]] = {}  # (patch, reference) -> (their digest, the folder)
_MAKING = threading.Lock()


def _materialised(name: str, patch: Path, reference: Path) -> Path:
    """`reference` + `patch` as `<job folder>/<name>/`, made again only when either changed or the
    folder went away. The job folder is this process's: its janitor removes it when the process ends."""
    key, digest = (str(patch), str(reference)), _digest(patch, reference)
    with _MAKING:
        made = _MADE.get(key)
        if made and made[0] == digest and made[1].is_dir():
            return made[1]
        target = jobdirs.make_job_dir("grader-example-") / name
        shutil.copytree(reference, target, ignore=shutil.ignore_patterns("__pycache__"))
        apply_patch(patch, target)
        _MADE[key] = (digest, target)
        return target


def _digest(patch: Path, reference: Path) -> str:
    digest = hashlib.sha256(patch.read_bytes())
    for path in sorted(reference.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(reference)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


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
