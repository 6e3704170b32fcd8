"""The sandbox image: find it, or build it offline from Debian's archive, named by a content hash.

Two layers, each tagged with a hash of what made it, so "is it current?" is one lookup:
`dl-grader-base:<hash of build-base.sh>` (debootstrap, minutes, rarely changes) and
`dl-grader:<hash of the Dockerfile, the base tag and the runner's runtime>` (seconds). Nothing is ever
pulled: there is no registry. It never runs student code and never removes an image it did not build.
`doctor()` gathers the facts `grader doctor` prints: engine, image, GPUs, NVIDIA runtime.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import grader
from grader.errors import InfrastructureError
from grader.sandbox import RUNTIME_FILES, write_runtime

IMAGE_REPO = "dl-grader"
BASE_REPO = "dl-grader-base"
# The image definition lives next to the package in the course repository (top-level sandbox/).
SANDBOX_DIR = Path(grader.__file__).resolve().parent.parent / "sandbox"
# Debian's bookworm takes about a minute to bootstrap; the Python SDK's default timeout is 60 s.
BUILD_TIMEOUT = 1800
LOCK = Path(tempfile.gettempdir()) / "dl-grader-image.lock"


def connect(timeout: int = 60):
    """A Docker client that answered a ping, or an InfrastructureError that says why not."""
    import docker

    try:
        client = docker.from_env(version="auto", timeout=timeout)
        client.ping()
    except docker.errors.DockerException as exc:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise InfrastructureError(f"no Docker engine answers at {where}: {exc}") from None
    return client


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def base_tag() -> str:
    """The base image: DL_GRADER_BASE (any image with python3 and numpy) or the debootstrapped one."""
    if override := os.environ.get("DL_GRADER_BASE"):
        return override
    script = _sandbox_file("build-base.sh").read_bytes()
    suite = os.environ.get("DEBIAN_SUITE", "bookworm").encode()
    return f"{BASE_REPO}:{_digest(script, suite)}"


def image_tag() -> str:
    """The sandbox image's tag: changes whenever the Dockerfile, the base or the runner code does."""
    runtime = Path(grader.__file__).parent
    parts = [_sandbox_file("Dockerfile").read_bytes(), base_tag().encode()]
    parts += [(runtime / name).read_bytes() for name in RUNTIME_FILES]
    return f"{IMAGE_REPO}:{_digest(*parts)}"


def _sandbox_file(name: str) -> Path:
    path = SANDBOX_DIR / name
    if not path.is_file():
        raise InfrastructureError(f"the sandbox image definition {path} is missing (the grader must run "
                                  "from the course repository, where sandbox/ sits next to grader/)")
    return path


def ensure_image(client=None, *, log=None) -> str:
    """The current image's tag, built first when it is missing. Safe to call from parallel judges."""
    import docker
    import requests

    client = client or connect()
    tag = image_tag()
    try:
        if _present(client, tag):
            return tag
        with _build_lock():  # a second judge waits for the first one's build instead of repeating it
            if not _present(client, tag):
                build_image(client, tag, log=log)
                prune_old_images(client, keep={tag, base_tag()})
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise InfrastructureError(f"the Docker engine failed while looking for {tag}: {exc}") from None
    return tag


def _present(client, tag: str) -> bool:
    import docker

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    with open(LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prune_old_images(client, keep: set[str]) -> list[str]:
    """Remove earlier builds of our two repositories (each is 133 MB); one still in use stays."""
    import docker

    removed = []
    for repo in (IMAGE_REPO, BASE_REPO):
        for image in client.images.list(name=repo):
            tags = [t for t in image.tags if t.split(":")[0] == repo]
            if tags and not set(image.tags) & keep:
                for old in tags:
                    try:
                        client.images.remove(old, noprune=False)
                        removed.append(old)
                    except docker.errors.APIError:
                        pass  # a container of a grader still running the old version holds it
    return removed


def build_image(client, tag: str, *, log=None) -> None:
    """Build the base (when missing) and then the image on top of it."""
    import docker

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    base = base_tag()
    if not _present(client, base):
        if os.environ.get("DL_GRADER_BASE"):
            raise InfrastructureError(f"DL_GRADER_BASE={base} names an image this engine does not have")
        build_base(base, log=log)
    log(f"building the sandbox image {tag} on {base}")
    with tempfile.TemporaryDirectory(prefix="dl-grader-image-") as context:
        shutil.copyfile(_sandbox_file("Dockerfile"), Path(context) / "Dockerfile")
        write_runtime(Path(context) / "runtime")
        try:
            client.images.build(path=context, tag=tag, buildargs={"BASE": base}, pull=False, rm=True,
                                forcerm=True, timeout=BUILD_TIMEOUT)
        except (docker.errors.BuildError, docker.errors.APIError) as exc:
            raise InfrastructureError(f"building the sandbox image {tag} failed: {exc}") from None


def build_base(tag: str, *, log=None) -> None:
    """Run build-base.sh (debootstrap; needs root and the debootstrap package)."""
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    missing = [why for why in (
        None if os.geteuid() == 0 else "root (debootstrap chroots)",
        None if shutil.which("debootstrap") or Path("/usr/sbin/debootstrap").exists()
        else "debootstrap (apt-get install -y debootstrap)",
    ) if why]
    if missing:
        raise InfrastructureError(f"the sandbox base image {tag} is missing and cannot be built here: "
                                  f"building it needs {' and '.join(missing)}; run `make image` once "
                                  "as root, or set DL_GRADER_BASE to an image with python3 and numpy")
    log(f"building the sandbox base image {tag} from Debian's archive (debootstrap, about a minute)")
    proc = subprocess.run(["sh", str(_sandbox_file("build-base.sh")), tag], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT)
    if proc.returncode != 0:
        tail = proc.stdout.decode("utf-8", "replace")[-3000:]
        raise InfrastructureError(f"building the sandbox base image {tag} failed "
                                  f"(exit code {proc.returncode}):\n{tail}")


# ---------------------------------------------------------------------------------------------------
# grader doctor


def doctor() -> dict:
    """What this machine offers the docker sandbox, as plain facts; `problems` lists what is missing."""
    facts: dict = {"engine": None, "image": None, "gpus": gpus(), "nvidia_runtime": False,
                   "can_build_base": os.geteuid() == 0 and bool(shutil.which("debootstrap")
                                                                or Path("/usr/sbin/debootstrap").exists()),
                   "problems": []}
    try:
        client = connect(timeout=10)
    except InfrastructureError as exc:
        facts["problems"].append(str(exc))
        return facts
    info, version = client.info(), client.version()
    runtimes = sorted(info.get("Runtimes", {}))
    facts["engine"] = {"version": version.get("Version"), "api_version": version.get("ApiVersion"),
                       "os": info.get("OperatingSystem"), "kernel": info.get("KernelVersion"),
                       "cgroup_version": info.get("CgroupVersion"), "storage": info.get("Driver"),
                       "runtimes": runtimes, "cpus": info.get("NCPU"),
                       "memory_gb": round(info.get("MemTotal", 0) / 2**30, 1)}
    facts["nvidia_runtime"] = "nvidia" in runtimes
    tag, base = image_tag(), base_tag()
    facts["image"] = {"tag": tag, "present": _present(client, tag), "base": base,
                      "base_present": _present(client, base)}
    if facts["image"]["present"]:
        image = client.images.get(tag)
        facts["image"].update(id=image.id, size_mb=round(image.attrs.get("Size", 0) / 1e6, 1))
    elif not facts["image"]["base_present"] and not facts["can_build_base"]:
        facts["problems"].append(f"the image {tag} is missing and this user cannot build its base "
                                 "(needs root and debootstrap): run `make image` as root")
    hook = any(shutil.which(tool) for tool in ("nvidia-container-cli", "nvidia-container-runtime-hook"))
    facts["nvidia_container_toolkit"] = hook
    if facts["gpus"] and not (facts["nvidia_runtime"] or hook):
        facts["problems"].append("GPUs exist but Docker has no nvidia runtime (install the NVIDIA "
                                 "Container Toolkit): assignments with gpu = true cannot be graded")
    return facts


def gpus() -> list[dict]:
    """The NVIDIA GPUs nvidia-smi reports (none where it is missing or fails)."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        proc = subprocess.run(["nvidia-smi", "--query-gpu=index,uuid,name,memory.total,driver_version",
                               "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = []
    for line in proc.stdout.splitlines() if proc.returncode == 0 else []:
        index, uuid, name, memory, driver = (part.strip() for part in line.split(",", 4))
        found.append({"index": index, "uuid": uuid, "name": name, "memory": memory, "driver": driver})
    return found


def main(argv: list[str] | None = None) -> int:
    """`python -m grader.sandbox.image [--doctor]`: build the image if it is not current, or report."""
    import json
    import time

    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--doctor"]:
        print(json.dumps(doctor(), indent=2))
        return 0
    started = time.monotonic()
    try:
        client = connect()
        tag = ensure_image(client)
    except InfrastructureError as exc:
        print(f"image: {exc}", file=sys.stderr)
        return 1
    size = client.images.get(tag).attrs.get("Size", 0) / 1e6
    print(f"{tag} ({size:.0f} MB, ready in {time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
