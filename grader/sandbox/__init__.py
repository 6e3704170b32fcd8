"""Where the runner lives: one small interface, two backends (local subprocess, Docker container).

A backend starts runner processes for one workspace. The judge sees only `RunnerProcess`: a channel,
a way to kill it, and the facts of how it ended. Limits are one frozen value, filled from the
assignment's spec, so both backends enforce the same numbers. Nothing here reads a test, a reference
value or a report: the sandbox only runs the runtime (grader/runtime) with the student's files.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Callable, Protocol

import grader
from grader.spec import Limits

if TYPE_CHECKING:  # numpy comes with it: the grader's own process (the CLI) never needs it
    from grader.runtime import wire

# One BLAS thread for the runner and the judge alike: the limits mean the same on every machine, results
# do not depend on threading, and in a -j 2 batch no process spins a thread per core against the others.
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# The runner's whole environment, under both backends (the local subprocess's env, the container's).
RUNNER_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    **ONE_BLAS_THREAD,
    # numpy's temporaries reuse heap pages instead of faulting fresh ones in: glibc keeps 32 MB spare at
    # the heap's top after a free, and serves arrays under 64 MB from the heap rather than a mapping of
    # their own (setting the pad alone fixes the mapping threshold at 128 KB: every array over it was
    # mapped, faulted in and unmapped). 11-mnist-cnn's train() on 20,000 digits in the jail: 257 k minor
    # faults -> 1-1.6 k, 5.9-6.5 s -> 4.6-5.2 s, same peak RSS (no settings: 1.36 M faults, 8.3 s).
    # RLIMIT_AS and the cgroup still cap the runner; arrays of 64 MB and more are still mapped and unmapped.
    "MALLOC_TOP_PAD_": str(32 << 20),
    "MALLOC_MMAP_THRESHOLD_": str(64 << 20),
}
# `python -I` puts neither the script's folder nor PYTHONPATH on sys.path: the runtime folder (a copy of
# the four files below, nothing else of the grader) is named explicitly.
BOOTSTRAP = "import sys; sys.path.insert(0, sys.argv[1]); from grader.runtime.runner import main; main()"
# Paths under grader/: the package marker (its version only) and the runtime package, nothing else.
RUNTIME_FILES = ("__init__.py", "runtime/__init__.py", "runtime/wire.py", "runtime/runner.py")


@dataclass(frozen=True)
class RunnerConfig:
    """What the runner needs to load a submission: the files and names of the API, and the seed."""

    workspace: Path
    api: dict[str, list[str]]
    seed: int
    gpu: bool | str = False  # True, False or "optional" (a GPU when the machine has one)
    needs: tuple[str, ...] = ()  # modules the assignment requires of the sandbox (e.g. torch)

    def as_json(self, *, workspace: str, scratch: str) -> dict:
        """The runner's command-line config, with the paths as the runner will see them."""
        return {"workspace": workspace, "scratch": scratch, "api": self.api, "seed": self.seed,
                "gpu": self.gpu, "needs": list(self.needs)}


class RunnerProcess(Protocol):
    channel: wire.Channel

    def kill(self) -> None: ...

    def ended(self, within: float) -> bool:
        """Whether the runner has ended by itself, waited for up to `within` seconds."""

    def ending(self) -> str:
        """How the process ended, in words a student can act on ("killed at memory_mb=512", ...)."""

    def close(self) -> None: ...


class Backend(Protocol):
    name: str
    output: "OutputBuffer"  # everything every runner of this backend printed, capped

    def start(self) -> RunnerProcess: ...

    def environment(self) -> dict:
        """Facts for the report's reproducibility block (image id, isolation, ...)."""

    def close(self) -> None: ...


def choose_sandbox(kind: str) -> str:
    """`auto` is docker wherever an engine answers, else the jailed local sandbox; others pass through."""
    if kind != "auto":
        return kind
    return "docker" if engine_answers(timeout=5) else "local"


def engine_answers(*, timeout: float) -> bool:
    """Whether a Docker engine answers a ping. On a unix socket (DOCKER_HOST's or the default) it is
    asked directly: importing the docker SDK to ask cost every `auto` command about 0.15 s before
    its grading could start. Any other DOCKER_HOST (tcp, ssh) is asked through the SDK."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        from grader.errors import InfrastructureError
        from grader.sandbox.image import connect

        try:
            connect(timeout=int(timeout))
        except InfrastructureError:
            return False
        return True
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as engine:
            engine.settimeout(timeout)
            engine.connect(host[len("unix://"):])
            engine.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            status = engine.recv(64).split(b"\r\n", 1)[0].split()
    except OSError:
        return False
    return len(status) >= 2 and status[0].startswith(b"HTTP/1.") and status[1] == b"200"


def make_backend(kind: str, config: RunnerConfig, limits: Limits, *, isolate: bool = True,
                 warm: Callable[[], dict | None] | None = None) -> Backend:
    """The sandbox `kind` for one job; `warm` (docker only) is a container a WarmPool started for it."""
    if kind == "local":
        from grader.sandbox.local import LocalBackend

        return LocalBackend(config, limits, isolate=isolate)
    if kind == "docker":
        from grader.sandbox.docker import DockerBackend

        return DockerBackend(config, limits, warm=warm)
    raise ValueError(f"unknown sandbox {kind!r} (choose local or docker)")


def socket_channel() -> bool:
    """Whether docker runners talk over a socket (else docker's attach stream): the judge must be root
    to check who connects (SO_PEERCRED, the peer's pid namespace); GRADER_DOCKER_CHANNEL=attach opts
    out, e.g. for a grader in a container of its own that cannot see the runners' processes."""
    return os.environ.get("GRADER_DOCKER_CHANNEL", "socket") != "attach" and os.geteuid() == 0


def write_runtime(dest: Path) -> Path:
    """Copy the runner and its protocol module (and nothing else of the grader) to `dest/grader/`."""
    package = dest / "grader"
    (package / "runtime").mkdir(parents=True, exist_ok=True)
    source = Path(grader.__file__).parent
    for name in RUNTIME_FILES:
        shutil.copyfile(source / name, package / name)
    for path in (dest, *dest.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dest


class OutputBuffer:
    """Keeps the first `cap` bytes a runner prints and counts the rest: a flood costs nothing."""

    def __init__(self, cap: int) -> None:
        self.cap, self.total = cap, 0
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()

    def drain(self, stream: IO[bytes], *, limit: int | None = None,
              on_flood: "Callable[[], None] | None" = None) -> threading.Thread:
        """Read `stream` to its end in a daemon thread; call `on_flood` once past `limit` bytes."""

        def pump() -> None:
            flooded, start = False, self.total
            for chunk in iter(lambda: stream.read1(65536), b""):
                self.add(chunk)
                if limit is not None and not flooded and self.total - start > limit and on_flood:
                    flooded = True
                    on_flood()

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        return thread

    def add(self, chunk: bytes) -> None:
        with self._lock:
            room = self.cap - min(self.total, self.cap)
            if room:
                self._chunks.append(chunk[:room])
            self.total += len(chunk)

    def text(self) -> tuple[str, bool]:
        with self._lock:
            return b"".join(self._chunks).decode("utf-8", "replace"), self.total > self.cap
