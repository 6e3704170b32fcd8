"""Load and validate `assignments/<id>/assignment.toml` into a frozen `AssignmentSpec`.

Every key is known: an unknown or misspelt key is an error naming the file and the key, never silently
ignored. Points are declared twice on purpose (the total here, each test's marker in the tests) and
`grader validate` proves the two agree.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import SpecError

SLUG = re.compile(r"^(\d\d)-([a-z0-9][a-z0-9-]*)$")
FILENAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.py$")
TOP_KEYS = {"schema", "title", "points", "files", "api", "limits", "runtime"}
# The one attribute of `submission` that is not a student's function.
RESERVED_NAME = "lazy"
FILES_KEYS = {"required", "max_kb"}
RUNTIME_KEYS = {"seed", "gpu", "needs"}


@dataclass(frozen=True)
class Limits:
    """What one submission may use; both sandboxes enforce these same numbers ([limits] in a spec)."""

    call_seconds: float = 10.0
    import_seconds: float = 10.0
    total_seconds: float = 120.0
    memory_mb: int = 1024
    pids: int = 64
    cpus: float = 1.0
    output_kb: int = 64
    frame_mb: int = 64
    disk_mb: int = 64
    open_files: int = 256
    # A runner that prints more than this is stopped (both backends): output_kb is what the report keeps.
    output_kill_mb: int = 16


LIMIT_FIELDS = {f.name: f.type for f in dataclasses.fields(Limits)}


@dataclass(frozen=True)
class AssignmentSpec:
    id: str
    root: Path
    title: str
    points: float
    files: tuple[str, ...]
    api: dict[str, list[str]]
    limits: Limits
    seed: int
    gpu: bool | str = False  # True: must have one; "optional": one when the machine has one
    needs: tuple[str, ...] = ()
    max_kb: int = 512
    # [api] mutates: API functions whose contract lets them change their arguments in place.
    mutates: tuple[str, ...] = ()
    course: Path = field(default=Path("."))

    @property
    def short(self) -> str:
        """`backprop` for `05-backprop`: what students may type instead of the full id."""
        return SLUG.match(self.id).group(2)

    @property
    def starter(self) -> Path:
        return self.root / "starter"

    @property
    def solution(self) -> Path:
        return self.course / "solutions" / self.id

    @property
    def public_tests(self) -> Path:
        return self.root / "tests" / "public"

    @property
    def hidden_tests(self) -> Path:
        return self.root / "tests" / "hidden"


def load_spec(root: Path, *, course: Path | None = None) -> AssignmentSpec:
    """The assignment at `root`, from its assignment.toml; every mistake in it is a SpecError naming it."""
    root = root.resolve()
    path = root / "assignment.toml"
    data = _read_toml(root, path)
    where = str(path)
    files = data.get("files", {})
    _known(files, FILES_KEYS, f"{where} [files]")
    runtime = data.get("runtime", {})
    _known(runtime, RUNTIME_KEYS, f"{where} [runtime]")
    api, mutates = _api_and_mutates(data.get("api"), where)
    required = tuple(_typed(files, "required", list, where, default=list(api)))
    _check_files(required, api, where)
    return AssignmentSpec(
        id=root.name, root=root, course=(course or root.parent.parent).resolve(),
        title=_typed(data, "title", str, where),
        points=_typed(data, "points", (int, float), where),
        files=required, api=api, limits=_limits(data.get("limits", {}), where),
        seed=_typed(runtime, "seed", int, where, default=0),
        gpu=_gpu(runtime, where),
        needs=tuple(_typed(runtime, "needs", list, where, default=[])),
        max_kb=_typed(files, "max_kb", int, where, default=512),
        mutates=mutates,
    )


def _read_toml(root: Path, path: Path) -> dict:
    if not SLUG.match(root.name):
        raise SpecError(f"{root}: an assignment folder is named NN-slug (e.g. 05-backprop)")
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SpecError(f"{path}: missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    _known(data, TOP_KEYS, str(path))
    if data.get("schema", 1) != 1:
        raise SpecError(f"{path}: schema {data['schema']!r} is not supported (this grader reads 1)")
    return data


def _api_and_mutates(table: Any, where: str) -> tuple[dict[str, list[str]], tuple[str, ...]]:
    """[api]: file -> names tests may call, and `mutates`: the names allowed to change arguments."""
    files = {k: v for k, v in table.items() if k != "mutates"} if isinstance(table, dict) else None
    mutates = _mutates(table.get("mutates", []) if files is not None else [], where)
    api = _api(files, where)
    unknown = [n for n in mutates if not any(n in names for names in api.values())]
    if unknown:
        raise SpecError(f"{where}: [api] mutates names {', '.join(unknown)}, which no [api] file lists")
    return api, mutates


def _check_files(required: tuple[str, ...], api: dict[str, list[str]], where: str) -> None:
    for name in (*required, *api):
        if not FILENAME.match(name):
            raise SpecError(f"{where}: {name!r} is not a Python file name a submission can hold")
    for name in api:
        if name not in required:
            raise SpecError(f"{where}: [api] names {name!r}, which [files] required does not list")


def _known(table: Any, allowed: set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise SpecError(f"{where}: expected a table")
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else f" (known: {', '.join(sorted(allowed))})"
            raise SpecError(f"{where}: unknown key `{key}`{hint}")


def _gpu(runtime: dict, where: str) -> bool | str:
    value = runtime.get("gpu", False)
    if isinstance(value, bool) or value == "optional":
        return value
    raise SpecError(f'{where}: `gpu` must be true, false or "optional", not {value!r}')


def _typed(table: dict, key: str, kind: Any, where: str, **default: Any) -> Any:
    if key not in table:
        if "default" in default:
            return default["default"]
        raise SpecError(f"{where}: `{key}` is required")
    value = table[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise SpecError(f"{where}: `{key}` has the wrong type ({type(value).__name__})")
    return value


def _api(table: Any, where: str) -> dict[str, list[str]]:
    if not isinstance(table, dict) or not table:
        raise SpecError(f"{where}: [api] must map each submitted file to the names tests may call")
    for filename, names in table.items():
        if not isinstance(names, list) or not all(isinstance(n, str) and n.isidentifier() for n in names):
            raise SpecError(f"{where}: [api] {filename!r} must be a list of function names")
        if RESERVED_NAME in names:  # a test's `submission.lazy` is the proxy's own (grader.judge.proxy.Lazy)
            raise SpecError(f"{where}: [api] {filename!r} names {RESERVED_NAME!r}, which tests reach as "
                            f"`submission.{RESERVED_NAME}` (described calls): give the function another name")
    return {k: list(v) for k, v in table.items()}


def _mutates(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(n, str) and n.isidentifier() for n in value):
        raise SpecError(f"{where}: [api] mutates must be a list of function names")
    return tuple(value)


def _limits(table: dict, where: str) -> Limits:
    _known(table, set(LIMIT_FIELDS), f"{where} [limits]")
    values = {}
    for key, value in table.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise SpecError(f"{where} [limits]: `{key}` must be a positive number")
        values[key] = float(value) if LIMIT_FIELDS[key] in (float, "float") else int(value)
    return Limits(**values)


def find_assignments(course: Path) -> list[AssignmentSpec]:
    folder = course / "assignments"
    if not folder.is_dir():
        raise SpecError(f"{course}: no assignments/ folder here (use --course DIR)")
    # `_template` and other `_` folders are material for authors (`grader new`), not steps.
    return [load_spec(p, course=course) for p in sorted(folder.iterdir())
            if (p / "assignment.toml").is_file() and not p.name.startswith("_")]


def find_assignment(course: Path, name: str) -> AssignmentSpec:
    specs = find_assignments(course)
    for spec in specs:
        if name in (spec.id, spec.short):
            return spec
    known = [s.id for s in specs]
    close = difflib.get_close_matches(name, known + [s.short for s in specs], n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise SpecError(f"no assignment {name!r} in {course / 'assignments'}{hint}; "
                    f"known: {', '.join(known) or 'none'}")
