"""Fixtures of the docker backend's tests: a live engine (or a loud failure) and a runner helper."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from grader.judge.proxy import ENDING_GRACE_SECONDS
from grader.runtime import wire
from grader.sandbox import RunnerConfig
from grader.spec import Limits
from grader.sandbox.docker import HOST, LABEL, DockerBackend, DockerProcess
from grader.janitor import claimant


def ours(client, job: str | None = None, grader: int | None = None) -> list:
    """Containers that still exist of one backend's `job`, of this test process's own backends, or
    of the judges of the grader process `grader` (a batch: this process or a `grader` command).
    Never counts another grader's containers on the same engine. A grader's own include the warm
    containers it claimed from the shelf (grader.sandbox.shelf), as its janitor's do."""
    label = (f"{LABEL}.job={job}" if job else f"{LABEL}.grader={_owner(grader)}" if grader
             else f"{LABEL}.owner={_owner()}")
    found = client.containers.list(all=True, sparse=True, filters={"label": label})
    if grader:
        shelved = client.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}.owner={HOST}:shelf"})
        found += [c for c in shelved if claimant(c.attrs.get("Labels") or {}) == _owner(grader)]
    return found


def _owner(pid: int | None = None) -> str:
    return f"{HOST}:{pid or os.getpid()}"


class Runner:
    """A backend and one started runner over a workspace holding `m.py`, for one test."""

    def __init__(self, client, workspace: Path, source: str, names: list[str], limits: Limits,
                 gpu: bool = False) -> None:
        workspace.chmod(0o755)  # as ingest leaves it: readable by the runner's uid, nothing more
        (workspace / "m.py").write_text(source)
        (workspace / "m.py").chmod(0o644)
        self.client = client
        self.backend = DockerBackend(RunnerConfig(workspace, {"m.py": names}, 1, gpu), limits)
        self.process: DockerProcess = self.backend.start()
        started, _ = self.process.channel.receive(deadline=time.monotonic() + 30)
        assert started["ok"] and started["phase"] == "started", started
        self.hello, _ = self.process.channel.receive(deadline=time.monotonic() + 30)
        if self.hello.get("ok"):
            self.hello["value"] = wire.decode(self.hello["value"], [])

    def request(self, name: str, *args, seconds: float = 10.0) -> dict:
        """The raw reply to one call; a channel error propagates (the judge's timeout or death)."""
        tree, blobs = wire.encode(list(args))
        deadline = time.monotonic() + seconds
        self.process.channel.send({"op": "call", "name": name, "args": tree}, blobs, deadline=deadline)
        reply, out = self.process.channel.receive(deadline=deadline)
        if reply.get("ok"):
            reply["value"] = wire.decode(reply["value"], out, on_handle=lambda tag: tag)
        return reply

    def call(self, name: str, *args, seconds: float = 10.0):
        reply = self.request(name, *args, seconds=seconds)
        assert reply["ok"], reply
        return reply["value"]

    def stop(self, *, ended: bool = False) -> str:
        """What the judge does after a timeout (kill, then ask how it ended) or, `ended`, a closed channel
        (first give the runner ENDING_GRACE_SECONDS to finish ending by itself)."""
        if ended:
            self.process.ended(within=ENDING_GRACE_SECONDS)
        self.process.kill()
        return self.process.ending()

    def close(self) -> None:
        job = self.backend.job
        self.backend.close()
        assert ours(self.client, job) == [], "a container of this test was left behind"


@pytest.fixture
def runner(engine, tmp_path):
    """`runner(source, names, **limits)` starts one; every one started is closed and checked gone."""
    made: list[Runner] = []

    def start(source: str, names: list[str], gpu: bool = False, **limits) -> Runner:
        made.append(Runner(engine, tmp_path, source, names, Limits(**limits), gpu))
        return made[-1]

    yield start
    for r in made:
        r.close()
