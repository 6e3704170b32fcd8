"""Warm runner containers for a batch: started ahead of need, each used for one runner life.

A cold docker runner costs about 0.6 s before the first test can call it: creating and starting the
container, then Python and numpy starting inside it. A pool does that while earlier submissions are
graded. Each warm container is an ordinary runner container (grader.sandbox.docker's limits, labels
and lifetime cap) whose workspace is a slot folder made for it alone and still empty, and whose runner
has imported what the step needs and waits for its config as the first frame. `take` hands one to a
judge, which copies its submission into the slot, attaches, sends the config and from then on owns the
container as if it had made it: one submission, then removed with its slot. Nothing of one submission
can reach another: no container and no slot is used twice.

The pool refills in a thread of its own, off the judges' critical path. It never holds more than
`size` waiting containers (a batch gives its number of judges: each waiting container is an idle
Python, tens of MB), replaces one that waited `idle_seconds` (its runner ends a margin later), and
hands out nothing when the engine fails: the judge then starts a cold container, as without a pool.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Callable

from grader import jobdirs
from grader.errors import GraderError, InfrastructureError
from grader.sandbox import socket_channel, write_runtime
from grader.sandbox.docker import ENGINE_ERRORS, LABEL, channel_folder, remove_slot, warm_container_options
from grader.sandbox.image import connect, ensure_image, variant_for
from grader.spec import AssignmentSpec, Limits

IDLE_SECONDS = 300.0
# `take` waits this long for a container the pool is starting (about 0.3 s): a cold start takes longer.
PATIENCE_SECONDS = 2.0
# After the engine refused a container, the pool waits this long before it asks again.
RETRY_SECONDS = 5.0


class WarmPool:
    """Up to `size` warm containers for `spec`'s runners (never for a GPU step: its device is locked per
    job). Use as a context manager, or call `close`: whatever nobody took is removed then."""

    def __init__(self, spec: AssignmentSpec, size: int, *, idle_seconds: float = IDLE_SECONDS,
                 limit: int | None = None) -> None:
        """`limit`: how many containers it may start in all (a batch's jobs); None for a service's pool."""
        if spec.gpu:
            raise ValueError(f"{spec.id}: a GPU step has no warm pool (each job locks its own device)")
        self.spec, self.size, self.idle_seconds, self.limit = spec, max(0, size), idle_seconds, limit
        self.id = uuid.uuid4().hex[:12]
        self.client = connect()
        self.image = ensure_image(self.client, variant=variant_for(spec.needs, gpu=False))
        self._tmp = jobdirs.make_job_dir("grader-warm-")
        self._tmp.chmod(0o755)
        self.runtime = write_runtime(self._tmp / "runtime")
        self._ready: deque[tuple[dict, float]] = deque()
        self._wake = threading.Condition()
        self._closed = False
        self.made = self.taken = self.failures = 0
        self._making = False
        self._filler = threading.Thread(target=self._fill, name=f"warm-pool-{self.id}", daemon=True)
        self._filler.start()

    def __enter__(self) -> "WarmPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def take(self) -> dict | None:
        """A warm container for one judge (`container`, `slot`, `image`), now the judge's to remove;
        None when none is ready or being started (the judge then starts a cold one)."""
        deadline, stale = time.monotonic() + PATIENCE_SECONDS, []
        try:
            with self._wake:
                while not self._closed:
                    while self._ready:
                        warm, since = self._ready.popleft()
                        self._wake.notify_all()
                        if time.monotonic() - since < self.idle_seconds:
                            self.taken += 1
                            return warm
                        stale.append(warm)
                    if not self._making or time.monotonic() >= deadline:
                        return None
                    self._wake.wait(timeout=deadline - time.monotonic())
            return None
        finally:  # removing is an engine call: never while other judges wait for the lock
            for warm in stale:
                self._remove(warm)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        self._filler.join(timeout=60)
        with self._wake:
            left = [warm for warm, _ in self._ready]
            self._ready.clear()
        for warm in left:
            self._remove(warm)
        # A container a judge took but never adopted (the judge died first) carries the pool's label.
        with contextlib.suppress(*ENGINE_ERRORS):
            for container in self.client.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}.pool={self.id}"}):
                with contextlib.suppress(*ENGINE_ERRORS):
                    container.remove(force=True)
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _fill(self) -> None:
        while True:
            stale: list[dict] = []
            with self._wake:
                while not self._closed and (len(self._ready) >= self.size or self._spent()):
                    self._wake.wait(timeout=self.idle_seconds / 4)
                    stale += self._expired()
                closed = self._closed
                self._making = not closed
            for warm in stale:
                self._remove(warm)
            if closed:
                return
            try:
                warm = self._make()
            except InfrastructureError:
                with self._wake:
                    self.failures += 1
                    self._making = False
                    self._wake.notify_all()
                    self._wake.wait(timeout=RETRY_SECONDS)
                continue
            with self._wake:
                self._making = False
                if self._closed:
                    self._remove(warm)
                    return
                self._ready.append((warm, time.monotonic()))
                self.made += 1
                self._wake.notify_all()

    def _spent(self) -> bool:
        """Whether it started all the containers its batch can take: one more would only be removed."""
        return self.limit is not None and self.made + self.failures >= self.limit

    def _expired(self) -> list[dict]:
        """Take out the containers that waited too long, for the caller to remove once it let go of the
        lock (called with the lock held); the filler then starts their replacements."""
        now, expired = time.monotonic(), []
        while self._ready and now - self._ready[0][1] >= self.idle_seconds:
            expired.append(self._ready.popleft()[0])
        return expired

    def _make(self) -> dict:
        slot = self._tmp / f"slot-{uuid.uuid4().hex[:12]}"
        container = start_warm_container(self.client, self.spec.needs, self.spec.limits, image=self.image,
                                         runtime=self.runtime, slot=slot, pool=self.id,
                                         idle_seconds=self.idle_seconds)
        return {"container": container, "slot": str(slot), "image": self.image}

    def _remove(self, warm: dict) -> None:
        with contextlib.suppress(*ENGINE_ERRORS):
            self.client.containers.get(warm["container"]).remove(force=True)
        remove_slot(warm["slot"])


def start_warm_container(client, needs: tuple[str, ...], limits: Limits, *, image: str, runtime: Path, slot: Path,
                         pool: str, idle_seconds: float, job: str | None = None,
                         labels: dict[str, str] | None = None) -> str:
    """Make the empty `slot` (and its channel folder where runners use the socket) and start a warm
    runner container on it, labelled `pool` and `labels`; its id. When the engine refuses, nothing of
    it is left (no container, no slot) and an InfrastructureError says why."""
    slot.mkdir(mode=0o755)
    slot.chmod(0o755)
    if socket_channel():
        channel_folder(slot).mkdir(mode=0o700)
    options = warm_container_options(needs, limits, image=image, runtime=runtime, slot=slot,
                                     job=job or uuid.uuid4().hex[:12], pool=pool, idle_seconds=idle_seconds)
    options["labels"].update(labels or {})
    container = None
    try:
        container = client.containers.create(**options)
        container.start()
    except ENGINE_ERRORS as exc:
        if container is not None:
            with contextlib.suppress(*ENGINE_ERRORS):
                container.remove(force=True)
        remove_slot(slot)
        raise InfrastructureError(f"the warm pool could not start a runner container: {exc}") from None
    return container.id


class WarmPools:
    """Warm pools for a long-running grader (the grading service): one per assignment, made at that
    step's first job and closed once no job of it came for `idle_seconds`, so a quiet step holds no
    containers. A step whose pool the engine refused is asked again only after `idle_seconds`."""

    def __init__(self, size: int, *, idle_seconds: float = IDLE_SECONDS) -> None:
        self.size, self.idle_seconds = size, idle_seconds
        self._pools: dict[tuple, tuple[WarmPool | None, float]] = {}  # key -> (pool, last used)
        self._lock = threading.Lock()
        self._closed = False

    def taker(self, spec: AssignmentSpec) -> Callable[[], dict | None] | None:
        """`take` of `spec`'s pool (made now if need be), or None: cold starts for this job. A pool is
        kept per step and per limits, so an edited assignment.toml gets containers of its new limits."""
        if spec.gpu or self.size <= 0:
            return None
        key, now = (spec.id, spec.limits, spec.needs), time.monotonic()
        with self._lock:
            quiet = [k for k, (_, since) in self._pools.items() if k != key and now - since >= self.idle_seconds]
            closing = [self._pools.pop(k)[0] for k in quiet]
            pool, since = self._pools.get(key, (None, None))
            opening = not self._closed and pool is None and (since is None or now - since >= self.idle_seconds)
            # While it opens (an image check, perhaps a build) the key reads as refused: other jobs of
            # the step start cold instead of waiting, and jobs of other steps never wait for it.
            self._pools[key] = (pool, now if pool or opening else since)
        for old in closing:
            if old:
                old.close()
        if opening:
            pool = self._open(spec, key, now)
        return pool.take if pool else None

    def _open(self, spec: AssignmentSpec, key: tuple, asked: float) -> WarmPool | None:
        """Start `spec`'s pool outside the lock; a refusal is remembered from `asked` on (asked again
        after idle_seconds), and a pool that finished opening after `close` is closed at once."""
        try:
            pool = WarmPool(spec, self.size, idle_seconds=self.idle_seconds)
        except GraderError:
            pool = None
        with self._lock:
            if not self._closed:
                self._pools[key] = (pool, time.monotonic() if pool else asked)
                return pool
        if pool:
            pool.close()
        return None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pools, self._pools = [pool for pool, _ in self._pools.values() if pool], {}
        for pool in pools:
            pool.close()
