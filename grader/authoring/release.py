"""Write the student handout of assignments: never the hidden tests, never the solution.

The handout is a small course folder of its own, so `grader check` run anywhere inside it finds it
(the CLI walks up to the folder holding assignments/ and the `.grader-course` marker):
assignments/<id>/ with assignment.toml, README.md, starter/ and tests/public/, data/mnist when the
public tests read MNIST, a README.md that says how to install and check, and wheels/ with the grader as
a student wheel: the same package, depending only on what `grader check` needs (STUDENT_NEEDS: no
nbgrader, no docker SDK, no rich), so a student's install is small and quick.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import zipfile
from pathlib import Path

import grader
from grader.errors import GraderError
from grader.spec import AssignmentSpec

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
MARKER = ".grader-course"
DISTRIBUTION = "dl-grader"
# What `grader check` needs, of the grader's dependencies (their versions come from pyproject.toml):
# the judge (pytest), arrays, notebooks as submissions, the report schema. Everything else (nbgrader
# with JupyterLab, the docker SDK, rich, the service) is the instructor's.
STUDENT_NEEDS = {"pytest", "numpy", "nbformat", "jsonschema", "fastjsonschema"}
PACKAGE_SUFFIXES = (".py", ".json", ".sh")  # what pyproject's package-data ships, and the code
WHEEL_TIME = (2026, 1, 1, 0, 0, 0)  # fixed, so one grader version always gives the same wheel


def release(spec: AssignmentSpec, out: Path) -> Path:
    target = out / "assignments" / spec.id
    if target.exists():
        raise GraderError(f"{target} already exists; remove it or choose another --out")
    target.mkdir(parents=True)
    (out / MARKER).write_text("This folder is a course handout: `grader check` finds it from inside.\n")
    for name in ("assignment.toml", "README.md"):
        if (spec.root / name).exists():
            shutil.copyfile(spec.root / name, target / name)
    shutil.copytree(spec.starter, target / "starter", ignore=IGNORE)
    shutil.copytree(spec.public_tests, target / "tests" / "public", ignore=IGNORE)
    _release_notebooks(spec, target / "starter")
    if _uses_mnist(spec.public_tests):
        shutil.copytree(spec.course / "data" / "mnist", out / "data" / "mnist", dirs_exist_ok=True)
    return target


def _uses_mnist(folder: Path) -> bool:
    return any("mnist" in path.read_text() for path in folder.rglob("*.py"))


def _release_notebooks(spec: AssignmentSpec, starter: Path) -> None:
    """A solution kept as an nbgrader notebook is released through nbgrader's own preprocessors."""
    notebooks = sorted(spec.solution.glob("*.ipynb")) if spec.solution.is_dir() else []
    if not notebooks:
        return
    from grader.ingest.notebook_format import nbformat

    from grader.interop.nbgrader.compat import release_notebook

    for path in notebooks:
        nbformat.write(release_notebook(nbformat.read(path, as_version=4)), starter / path.name)


def student_requirements() -> list[str]:
    """The installed grader's dependencies that are in STUDENT_NEEDS, as pyproject.toml declares them."""
    import re
    from importlib import metadata

    try:
        declared = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        raise GraderError(f"the {DISTRIBUTION} distribution is not installed here, so its dependencies "
                          "are unknown: run `make install`, or release with --no-wheel") from None
    base = [r for r in declared if "extra ==" not in r]
    return [r for r in base if re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() in STUDENT_NEEDS]


def student_wheel(folder: Path) -> Path:
    """Write the grader as a pure-Python wheel for students into `folder`; return its path."""
    dist = DISTRIBUTION.replace("-", "_")
    info = f"{dist}-{grader.__version__}.dist-info"
    package = Path(grader.__file__).resolve().parent
    files = {f"grader/{p.relative_to(package).as_posix()}": p.read_bytes()
             for p in sorted(package.rglob("*"))
             if p.is_file() and p.suffix in PACKAGE_SUFFIXES and "__pycache__" not in p.parts}
    metadata_lines = ["Metadata-Version: 2.1", f"Name: {DISTRIBUTION}", f"Version: {grader.__version__}",
                      "Summary: The course's grader, student edition: `grader check` runs the public tests",
                      "Requires-Python: >=3.11", *[f"Requires-Dist: {r}" for r in student_requirements()]]
    files[f"{info}/METADATA"] = ("\n".join(metadata_lines) + "\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: grader.authoring.release\nRoot-Is-Purelib: true\n" \
                             b"Tag: py3-none-any\n"
    files[f"{info}/entry_points.txt"] = b"[console_scripts]\ngrader = grader.cli:main\n"
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    files[f"{info}/RECORD"] = ("\n".join(record + [f"{info}/RECORD,,"]) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{dist}-{grader.__version__}-py3-none-any.whl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            entry = zipfile.ZipInfo(name, WHEEL_TIME)
            entry.external_attr = 0o644 << 16
            wheel.writestr(entry, data, zipfile.ZIP_DEFLATED)
    target.write_bytes(buffer.getvalue())
    return target


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_handout_readme(out: Path, specs: list[AssignmentSpec], wheel: Path | None) -> Path:
    """out/README.md: install the grader, then `grader check` in a step's starter folder."""
    steps = sorted(p.name for p in (out / "assignments").iterdir() if p.is_dir())
    install = (f"pip install wheels/{wheel.name}" if wheel else
               "pip install dl-grader   # from the course's package index (ask your instructor)")
    first = steps[0] if steps else (specs[0].id if specs else "NN-step")
    text = f"""# Course handout

Steps in this handout: {", ".join(steps)}.

## Install the grader (once)

Python 3.11 or newer. In this folder:

```sh
python3 -m venv .venv && . .venv/bin/activate
{install}
```

This installs `grader` with what it needs to run the public tests (pytest, numpy, nbformat), nothing
more. In a new terminal, `. .venv/bin/activate` again puts `grader` back on your PATH. With pipx, one
command does both and keeps `grader` on your PATH: `pipx install {f"wheels/{wheel.name}" if wheel else "dl-grader"}`.

## Work on a step

```sh
cd assignments/{first}/starter
$EDITOR *.py            # fill in the TODOs; the step's README.md explains them
grader check            # the public tests, on the folder you are in
```

`grader check` finds the step and this handout from the folder you are in. Elsewhere, name both:
`grader --course PATH/TO/HANDOUT check {first} PATH/TO/YOUR/WORK`. It exits 0 when every public
test passes and 1 otherwise.
"""
    target = out / "README.md"
    target.write_text(text, encoding="utf-8")
    return target
