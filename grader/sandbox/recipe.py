"""What the sandbox images are made of: their names, the recipe files in the top-level sandbox/ folder,
and the content hash that names an image after everything that decides it.

Pure values only: nothing here talks to the Docker engine or builds anything (grader.sandbox.image and
grader.sandbox.cuda do, both from these names).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import grader
from grader.errors import InfrastructureError

IMAGE_REPO = "dl-grader"
BASE_REPO = "dl-grader-base"
# variant -> (image repository, its base's repository); "numpy" is the base itself.
VARIANTS = {"numpy": (IMAGE_REPO, BASE_REPO), "torch": ("dl-grader-torch", "dl-grader-torch-base"),
            "cuda": ("dl-grader-cuda", "dl-grader-cuda-base")}

# The image definition lives next to the package in the course repository (top-level sandbox/).
SANDBOX_DIR = Path(grader.__file__).resolve().parent.parent / "sandbox"


def digest(*parts: bytes) -> str:
    """A short content hash of `parts` (each hashed first, so no two sequences of parts collide)."""
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(hashlib.sha256(part).digest())
    return hashed.hexdigest()[:16]


def sandbox_file(name: str) -> Path:
    """A file of the image recipe (Dockerfile, build scripts), or an InfrastructureError naming it."""
    path = SANDBOX_DIR / name
    if not path.is_file():
        raise InfrastructureError(f"the sandbox image definition {path} is missing (the grader must run "
                                  "from the course repository, where sandbox/ sits next to grader/)")
    return path
