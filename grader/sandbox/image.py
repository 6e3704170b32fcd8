"""The sandbox images: find them, or build them offline from Debian's archive, named by content hashes.

Each layer is tagged with a hash of what made it, so "is it current?" is one lookup:
`dl-grader-base:<hash of build-base.sh>` (debootstrap, a minute, rarely changes) and
`dl-grader:<hash of the Dockerfile, the base tag and the runner's runtime>` (seconds) serve the numpy
steps. An assignment that `needs` torch runs on `dl-grader-torch`: the same Dockerfile on
`dl-grader-torch-base`, which is ONE layer on `dl-grader-base` holding Debian's python3-torch (1.13, CPU)
and only the libraries it loads (`build-layer.sh`). `dl-grader-cuda` (opt-in, `make image GPU=1`) is
the same on a layer of PyPI's CUDA wheels of torch (see grader.sandbox.cuda). Nothing is ever pulled:
there is no registry. It never runs student code and never removes an image it did not build.
`doctor()` gathers the facts `grader doctor` prints: engine, images, GPUs, NVIDIA runtime.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import grader
from grader import jobdirs
from grader.errors import InfrastructureError
from grader.sandbox import RUNTIME_FILES, write_runtime
from grader.sandbox.recipe import BASE_REPO, VARIANTS, digest, sandbox_file

# What the torch layer holds, and the training step that proves it works (build-layer.sh runs it before
# and after pruning; what it imports decides which Python packages stay).
TORCH_PACKAGES = ("python3-torch",)
TORCH_SMOKE = """
import numpy as np, torch
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10))
x = torch.tensor(np.ones((4, 784), dtype=np.uint8), dtype=torch.float32) / 255
y = torch.tensor(np.arange(4), dtype=torch.int64)
for opt in (torch.optim.SGD(model.parameters(), lr=0.1), torch.optim.Adam(model.parameters())):
    opt.zero_grad(); nn.functional.cross_entropy(model(x), y).backward(); opt.step()
model(x).detach().cpu().numpy().argmax(axis=1)
torch.randperm(8, generator=torch.Generator().manual_seed(1)).split(3)
"""
# Debian's bookworm takes about a minute to bootstrap; the Python SDK's default timeout is 60 s.
BUILD_TIMEOUT = 1800
LOCK = Path(tempfile.gettempdir()) / "dl-grader-image.lock"
DEB_CACHE = "/var/tmp/dl-grader-debs"
# Each tag's image id as this process last found it present, so a judge's report need not ask again.
IMAGE_IDS: dict[str, str] = {}


def connect(timeout: int = 60):
    """A Docker client that answered a ping, or an InfrastructureError that says why not."""
    import docker

    jobdirs.expect_containers()  # what this process makes there, its janitor removes if it is killed
    try:
        client = docker.from_env(version="auto", timeout=timeout)
        client.ping()
    except docker.errors.DockerException as exc:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise InfrastructureError(f"no Docker engine answers at {where}: {exc}") from None
    return client


def image_id(client, tag: str) -> str:
    """`tag`'s image id, as this process last found it present (ensure_image), else asked now."""
    if tag not in IMAGE_IDS:
        IMAGE_IDS[tag] = client.images.get(tag).id
    return IMAGE_IDS[tag]


def variant_for(needs: tuple[str, ...] | list[str], gpu: bool = False) -> str:
    """The image an assignment runs on: "cuda" for torch on a GPU, "torch" for torch, else "numpy"."""
    if "torch" in needs:
        return "cuda" if gpu else "torch"
    return "numpy"


def base_tag(variant: str = "numpy", *, overrides: bool = True) -> str:
    """A variant's base: DL_GRADER_BASE (any image with python3 and numpy) or the debootstrapped one
    for "numpy"; for the others DL_GRADER_<VARIANT>_BASE or the layer built on the numpy base.
    `overrides=False` names what would be built without those variables."""
    if overrides and (override := os.environ.get("DL_GRADER_BASE" if variant == "numpy" else
                                                 f"DL_GRADER_{variant.upper()}_BASE")):
        return override
    suite = os.environ.get("DEBIAN_SUITE", "bookworm").encode()
    if variant == "numpy":
        return f"{BASE_REPO}:{digest(sandbox_file('build-base.sh').read_bytes(), suite)}"
    if variant == "torch":
        parts = [sandbox_file("build-layer.sh").read_bytes(), base_tag(overrides=overrides).encode(), suite,
                 " ".join(TORCH_PACKAGES).encode(), TORCH_SMOKE.encode()]
        return f"{VARIANTS['torch'][1]}:{digest(*parts)}"
    if variant == "cuda":
        from grader.sandbox.cuda import cuda_base_tag

        return cuda_base_tag(base_tag(overrides=overrides))
    raise ValueError(f"unknown image variant {variant!r} (choose {', '.join(VARIANTS)})")


def image_tag(variant: str = "numpy") -> str:
    """A variant's image tag: changes whenever the Dockerfile, its base or the runner code does."""
    runtime = Path(grader.__file__).parent
    parts = [sandbox_file("Dockerfile").read_bytes(), base_tag(variant).encode()]
    parts += [(runtime / name).read_bytes() for name in RUNTIME_FILES]
    return f"{VARIANTS[variant][0]}:{digest(*parts)}"


def ensure_image(client=None, *, log=None, variant: str = "numpy") -> str:
    """The current image's tag, built first when it is missing. Safe to call from parallel judges.
    The CUDA variant is never built here (it downloads GBs): `make image GPU=1` builds it."""
    import docker
    import requests

    client = client or connect()
    tag = image_tag(variant)
    try:
        if _present(client, tag):
            return tag
        if variant == "cuda":
            raise InfrastructureError(f"the CUDA sandbox image {tag} is missing: build it with "
                                      "`make image GPU=1` (it downloads torch's CUDA wheels from PyPI)")
        with _build_lock():  # a second judge waits for the first one's build instead of repeating it
            if not _present(client, tag):
                build_image(client, tag, log=log, variant=variant)
                prune_old_images(client, keep=_current_tags())
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise InfrastructureError(f"the Docker engine failed while looking for {tag}: {exc}") from None
    return tag


def image_present(client, tag: str) -> bool:
    """Whether the engine has `tag` (never builds or pulls)."""
    return _present(client, tag)


def _present(client, tag: str) -> bool:
    import docker

    try:
        IMAGE_IDS[tag] = client.images.get(tag).id
        return True
    except docker.errors.ImageNotFound:
        IMAGE_IDS.pop(tag, None)
        return False


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    with open(LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _current_tags() -> set[str]:
    """Every variant's current image and base tag: what pruning must keep."""
    from grader.sandbox.cuda import libs_tag

    tags = set()
    for variant in VARIANTS:
        with contextlib.suppress(InfrastructureError, ImportError):
            # Also what is built without DL_GRADER_*_BASE: a run with an override must not prune it.
            tags |= {image_tag(variant), base_tag(variant), base_tag(variant, overrides=False)}
    with contextlib.suppress(InfrastructureError):
        tags |= {libs_tag(base_tag()), libs_tag(base_tag(overrides=False))}
    return tags


def prune_old_images(client, keep: set[str]) -> list[str]:
    """Remove earlier builds of our repositories (the base alone is 133 MB); one still in use stays."""
    import docker

    removed = []
    for repo in (*(name for pair in VARIANTS.values() for name in pair), "dl-grader-cuda-libs"):
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


def build_image(client, tag: str, *, log=None, variant: str = "numpy") -> None:
    """Build the base (when missing) and then the image on top of it."""
    import docker

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    base = base_tag(variant)
    if not _present(client, base):
        override = "DL_GRADER_BASE" if variant == "numpy" else f"DL_GRADER_{variant.upper()}_BASE"
        if os.environ.get(override):
            raise InfrastructureError(f"{override}={base} names an image this engine does not have")
        if variant == "numpy":
            build_base(base, log=log)
        elif variant == "torch":
            if not _present(client, base_tag()):
                build_base(base_tag(), log=log)
            build_layer(base_tag(), base, TORCH_PACKAGES, TORCH_SMOKE, log=log)
        else:
            raise InfrastructureError(f"the {variant} base {base} is missing: `make image GPU=1` builds it")
    log(f"building the sandbox image {tag} on {base}")
    with tempfile.TemporaryDirectory(prefix="dl-grader-image-") as context:
        shutil.copyfile(sandbox_file("Dockerfile"), Path(context) / "Dockerfile")
        write_runtime(Path(context) / "runtime")
        try:
            client.images.build(path=context, tag=tag, buildargs={"BASE": base}, pull=False, rm=True,
                                forcerm=True, timeout=BUILD_TIMEOUT)
        except (docker.errors.BuildError, docker.errors.APIError) as exc:
            raise InfrastructureError(f"building the sandbox image {tag} failed: {exc}") from None


def build_layer(base: str, tag: str, packages: tuple[str, ...], smoke: str, *, log=None) -> None:
    """Run build-layer.sh: Debian `packages` as one layer on `base` (debootstrap; root, debootstrap)."""
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    _can_debootstrap(tag)
    log(f"building the sandbox layer {tag} ({' '.join(packages)}) on {base} from Debian's archive "
        "(debootstrap, a few minutes)")
    _run_script("build-layer.sh", [base, tag, smoke, *packages], tag)


def _can_debootstrap(tag: str) -> None:
    missing = [why for why in (
        None if os.geteuid() == 0 else "root (debootstrap chroots)",
        None if shutil.which("debootstrap") or Path("/usr/sbin/debootstrap").exists()
        else "debootstrap (apt-get install -y debootstrap)",
    ) if why]
    if missing:
        raise InfrastructureError(f"the sandbox base image {tag} is missing and cannot be built here: "
                                  f"building it needs {' and '.join(missing)}; run `make image` once "
                                  "as root, or set DL_GRADER_BASE to an image with python3 and numpy")


def build_base(tag: str, *, log=None) -> None:
    """Run build-base.sh (debootstrap; needs root and the debootstrap package)."""
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    _can_debootstrap(tag)
    log(f"building the sandbox base image {tag} from Debian's archive (debootstrap, about a minute)")
    _run_script("build-base.sh", [tag], tag)


def _run_script(name: str, args: list[str], tag: str) -> None:
    # The .debs stay between builds: the torch layer's debootstrap then downloads only what is new.
    env = {**os.environ, "DEBOOTSTRAP_CACHE": os.environ.get("DEBOOTSTRAP_CACHE", DEB_CACHE)}
    proc = subprocess.run(["sh", str(sandbox_file(name)), *args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT, env=env)
    if proc.returncode != 0:
        tail = proc.stdout.decode("utf-8", "replace")[-3000:]
        raise InfrastructureError(f"building the sandbox image {tag} with {name} failed "
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
    facts["images"] = {variant: _variant_facts(client, variant) for variant in VARIANTS}
    hook = any(shutil.which(tool) for tool in ("nvidia-container-cli", "nvidia-container-runtime-hook"))
    facts["nvidia_container_toolkit"] = hook
    if facts["gpus"] and not (facts["nvidia_runtime"] or hook):
        facts["problems"].append("GPUs exist but Docker has no nvidia runtime (install the NVIDIA "
                                 "Container Toolkit): assignments with gpu = true cannot be graded")
    facts["cuda"] = _cuda_facts(client, facts)
    return facts


def _variant_facts(client, variant: str) -> dict:
    tag = image_tag(variant)
    found = {"tag": tag, "present": _present(client, tag), "base": base_tag(variant)}
    if found["present"]:
        image = client.images.get(tag)
        found.update(size_mb=round(image.attrs.get("Size", 0) / 1e6, 1), labels=image.labels)
    return found


def _cuda_facts(client, facts: dict) -> dict:
    """The host driver's CUDA version, the CUDA image's, and whether the one runs the other."""
    from grader.sandbox.cuda import CUDA_VERSION, driver_cuda_version, driver_supports

    image = facts["images"]["cuda"]
    built_for = (image.get("labels") or {}).get("dl-grader.cuda", CUDA_VERSION)
    driver = driver_cuda_version()
    found = {"driver": facts["gpus"][0]["driver"] if facts["gpus"] else None, "driver_cuda": driver,
             "image_cuda": built_for, "image_present": image["present"],
             "driver_matches": driver_supports(built_for, driver)}
    if facts["gpus"] and not image["present"]:
        facts["problems"].append(f"GPUs exist but the CUDA image {image['tag']} is missing: `make image "
                                 "GPU=1` builds it (gpu = \"optional\" steps run on the CPU until then)")
    elif facts["gpus"] and not found["driver_matches"]:
        facts["problems"].append(f"the driver supports CUDA {driver}, older than the CUDA image's "
                                 f"{built_for}: update the driver or rebuild with an older torch")
    return found


def doctor_lines(facts: dict) -> list[str]:
    """`grader doctor`'s lines for the torch and CUDA images, the driver (from `doctor()`'s facts) and
    the shelf (grader.sandbox.shelf.facts)."""
    lines = []
    for variant, image in facts.get("images", {}).items():
        if variant != "numpy":
            state = f"present, {image['size_mb']} MB" if image["present"] else (
                "missing (`make image GPU=1` builds it)" if variant == "cuda" else "missing (`make image`)")
            lines.append(f"{variant:<8} {image['tag']}: {state}")
    if shelf := facts.get("shelf"):
        state = (f"{shelf['running']} warm container(s) there, each waiting up to {shelf['seconds']:g} s "
                 "(GRADER_SHELF_SECONDS=0 turns it off)" if shelf["seconds"] else "off (GRADER_SHELF_SECONDS=0)")
        lines.append(f"shelf    {shelf['folder']}: {state}")
    cuda = facts.get("cuda") or {}
    if cuda.get("driver"):
        match = "runs" if cuda["driver_matches"] else "may not run"
        lines.append(f"driver   {cuda['driver']} (CUDA {cuda['driver_cuda']}): {match} the CUDA image's "
                     f"CUDA {cuda['image_cuda']}")
    return lines


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


def ensure_cuda_image(client, *, log=None, wheels: Path | None = None) -> str:
    """The CUDA image, built when missing: its layer from PyPI's wheels (GBs), then the runner on top."""
    from grader.sandbox import cuda

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    tag, base = image_tag("cuda"), base_tag("cuda")
    if _present(client, tag):
        return tag
    with _build_lock():
        numpy_base = base_tag()
        libs = cuda.libs_tag(numpy_base)
        if not _present(client, numpy_base):
            build_base(numpy_base, log=log)
        if not _present(client, libs):
            build_layer(numpy_base, libs, cuda.DEBS, cuda.DEBS_SMOKE, log=log)
        if not _present(client, base):
            cuda.build_cuda_base(client, libs, base, log=log, wheels=wheels)
        build_image(client, tag, log=log, variant="cuda")
        prune_old_images(client, keep=_current_tags())
    return tag


def main(argv: list[str] | None = None) -> int:
    """`python -m grader.sandbox.image [--gpu [--wheels DIR]] [--only VARIANT] [--doctor]`: build the
    images that are not current (numpy and torch; with --gpu the CUDA one too), or report."""
    import argparse
    import json
    import time

    parser = argparse.ArgumentParser(prog="python -m grader.sandbox.image")
    parser.add_argument("--doctor", action="store_true", help="print what this machine offers, as JSON")
    parser.add_argument("--gpu", action="store_true", help="also build dl-grader-cuda (PyPI, GBs)")
    parser.add_argument("--wheels", type=Path, help="with --gpu: a folder that already holds the wheels")
    parser.add_argument("--only", choices=sorted(VARIANTS), help="build this variant only")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.doctor:
        print(json.dumps(doctor(), indent=2))
        return 0
    variants = [args.only] if args.only else ["numpy", "torch", *(["cuda"] if args.gpu else [])]
    try:
        client = connect()
        for variant in variants:
            started = time.monotonic()
            tag = (ensure_cuda_image(client, wheels=args.wheels) if variant == "cuda"
                   else ensure_image(client, variant=variant))
            size = client.images.get(tag).attrs.get("Size", 0) / 1e6
            print(f"{tag} ({size:.0f} MB, ready in {time.monotonic() - started:.1f} s)", flush=True)
    except InfrastructureError as exc:
        print(f"image: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
