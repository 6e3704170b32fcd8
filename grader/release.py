"""Write the student bundle of an assignment: never the hidden tests, never the solution.

The bundle is a small course folder of its own, so `grader --course BUNDLE check ID PATH` works in it:
assignments/<id>/ with assignment.toml, README.md, starter/ and tests/public/, plus data/mnist when
the public tests read MNIST.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.errors import GraderError
from grader.spec import AssignmentSpec

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


def release(spec: AssignmentSpec, out: Path) -> Path:
    target = out / "assignments" / spec.id
    if target.exists():
        raise GraderError(f"{target} already exists; remove it or choose another --out")
    target.mkdir(parents=True)
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
    import nbformat

    from grader.nbgrader_compat import release_notebook

    for path in notebooks:
        nbformat.write(release_notebook(nbformat.read(path, as_version=4)), starter / path.name)
