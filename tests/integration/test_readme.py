"""Do the README's two "first five minutes" blocks work exactly as printed?

Each block is cut out of README.md and run verbatim by bash (`set -e`) in a scratch HOME, so a README
that drifts from the CLI fails here. The instructor's block runs in a scratch copy of the course (with
this checkout's .venv linked in); the student's in a handout that the instructor's `grader release`
wrote, with a fresh venv and the handout's wheel, as a student would. The sandbox is the local one
(DOCKER_HOST points nowhere, so `auto` picks it): the docker path has its own tests.

The student's install needs PyPI (or pip's cache, which is shared in from the real HOME).
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import COURSE

README = COURSE / "README.md"


def block(heading: str) -> str:
    """The first ```sh block under `## heading` in README.md, as written."""
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found, f"README.md: no ```sh block under '## {heading}'"
    return found.group(1)


def run(script: str, cwd: Path, home: Path, path: str) -> subprocess.CompletedProcess:
    real_cache = Path(os.environ.get("PIP_CACHE_DIR", Path.home() / ".cache" / "pip"))
    env = {"HOME": str(home), "PATH": path, "EDITOR": "true", "LANG": "C.UTF-8",
           "DOCKER_HOST": "unix:///nonexistent/docker.sock", "PIP_CACHE_DIR": str(real_cache),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_QUIET": "1"}
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900)


@pytest.fixture(scope="module")
def instructor(tmp_path_factory):
    """The instructor's block, run in a scratch course; its handout is the student's starting point."""
    home = tmp_path_factory.mktemp("home")
    course = home / "course"
    course.mkdir()
    for name in ("assignments", "solutions", "examples"):
        shutil.copytree(COURSE / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
    (course / ".venv").symlink_to(COURSE / ".venv")
    result = run(block("An instructor's first five minutes"), course, home, "/usr/local/bin:/usr/bin:/bin")
    return course, home, result


@pytest.mark.slow
def test_the_instructors_block_runs_as_printed(instructor):
    course, _, result = instructor
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "05-backprop" in result.stdout
    assert (course / "reports" / "05-backprop" / "no-bias-sum.json").is_file()
    assert "not as expected" in result.stdout and ", 0 not as expected" in result.stdout
    assert (course / "handout" / "assignments" / "05-backprop" / "starter").is_dir()
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
def test_the_students_block_runs_as_printed(instructor):
    course, home, made = instructor
    assert (course / "handout" / "wheels").is_dir(), made.stdout[-2000:] + made.stderr[-2000:]
    python_dir = str(Path(shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")).parent)
    result = run(block("A student's first five minutes") + "\n", course / "handout", home,
                 f"{python_dir}:/usr/bin:/bin")
    # The starter is untouched ($EDITOR is `true`): `grader check` runs every public test and fails them.
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "not implemented yet" in result.stdout and "Score: 0/" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    venv = course / "handout" / ".venv"
    installed = subprocess.run([str(venv / "bin" / "python"), "-c",
                                "import importlib.util as u; print([m for m in ('nbgrader', 'docker', 'rich') "
                                "if u.find_spec(m)])"], capture_output=True, text=True).stdout
    assert installed.strip() == "[]", f"the student install holds instructor packages: {installed}"
