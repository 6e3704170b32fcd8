"""Warm runner containers kept between commands: a single `grader grade` under docker leaves one
behind for the next, so grading one submission again (a regrade, a TA checking a fix) starts no
container on its critical path.

A shelved container is a warm pool's container (grader.sandbox.warm): the same options and limits,
still empty, used for one runner life and then removed by the judge that adopted it. It is handed out
for at most SHELF_SECONDS (GRADER_SHELF_SECONDS; 0 turns the shelf off) after it started, and its runner
ends a margin later (grader.sandbox.docker.WARM_MARGIN_SECONDS) if no judge took it. It carries no owner
pid, so the janitor of dead graders' containers leaves it alone; this module's `sweep` removes it once it
ended or its time is over.

The shelf is one folder per user and host, `<tmp>/dl-grader-shelf-<uid>-<host>/` (mode 0700, refused
when anyone else owns it): per container an entry folder (its runtime copy and its slot) and a marker
file named for what the container fits (image, needs, limits, channel). A command claims a container
by renaming its marker, which succeeds for one claimant only, so no container serves two submissions;
a claim not handed to a judge goes back. After a single grading, `restock` starts a detached `python -m
grader.sandbox.shelf` that makes the next container off the command's critical path: never more than
one waiting per key, and none while another restocker of that key works.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict
from pathlib import Path

from grader import jobdirs
from grader.janitor import CLAIMANT, LABEL, SHELF_LABEL
from grader.spec import Limits

SHELF_SECONDS = 300.0
# A marker this close to its container's end is not handed out: the judge's lifetime starts at claim.
MARGIN_SECONDS = 15.0
# An entry folder with no container yet may be one a restocker is making right now.
YOUNG_SECONDS = 120.0


def shelf_seconds() -> float:
    """How long a shelved container waits (GRADER_SHELF_SECONDS, default SHELF_SECONDS; 0: no shelf)."""
    try:
        return max(0.0, float(os.environ.get("GRADER_SHELF_SECONDS", SHELF_SECONDS)))
    except ValueError:
        return SHELF_SECONDS


def location() -> Path:
    """Where this user's shelf is on this host (a temp folder shared by hosts: each engine its own)."""
    host = socket.gethostname().replace("/", "_")
    return Path(tempfile.gettempdir()) / f"dl-grader-shelf-{os.geteuid()}-{host}"


def folder(*, make: bool = True) -> Path | None:
    """This user's shelf folder, made if need be (`make`); None when there is none or the path is not a
    private folder of ours (anyone may create names in the temp folder: a planted folder or link must
    never be used)."""
    path = location()
    if make:
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        return None
    return path


def key_for(needs: tuple[str, ...], limits: Limits) -> str:
    """What a container must match to serve a job: its image, what its runner preloads, its limits,
    its runner's environment (a grader that changed it never adopts an older grader's container) and
    how its runner talks (socket or attach stream)."""
    from grader.sandbox import RUNNER_ENV, socket_channel
    from grader.sandbox.image import image_tag, variant_for

    facts = [image_tag(variant_for(needs)), sorted(needs), asdict(limits), sorted(RUNNER_ENV.items()),
             socket_channel()]
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


def _fresh(marker: Path, now: float) -> dict | None:
    """The marker's content while its container may still be handed out; None once it is too near its
    end (the judge's lifetime starts at the claim) or unreadable."""
    try:
        entry = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) and entry.get("expires", 0) >= now + MARGIN_SECONDS else None


def claim(needs: tuple[str, ...], limits: Limits) -> dict | None:
    """A waiting container for these needs and limits, now this caller's (`container`, `slot`,
    `image`, and `marker` for `unclaim` and `done`); None when the shelf has none or is off."""
    shelf = folder(make=False) if shelf_seconds() > 0 else None
    if shelf is None:
        return None
    # Before anything is claimed: a claim needs no engine call, so no connect() has told the janitor that
    # this grader may own a container, and a grader killed right after its claim left it on the engine.
    jobdirs.expect_containers()
    now = time.time()
    for marker in sorted(shelf.glob(f"{key_for(needs, limits)}.*.ready")):
        if (entry := _fresh(marker, now)) is None:
            continue  # the next sweep removes it
        taken = marker.with_suffix(".taken")
        try:
            os.rename(marker, taken)  # atomic: of two commands, one wins and the other moves on
        except FileNotFoundError:
            continue
        # From now on it is this grader's: its janitor removes it should the grader be killed.
        try:
            (Path(entry["slot"]).parent / CLAIMANT).write_text(f"{socket.gethostname()}:{os.getpid()}")
        except OSError:  # a sweep removed it meanwhile: the next sweep removes the marker too
            continue
        return {**entry, "marker": str(taken)}
    return None


def unclaim(entry: dict) -> None:
    """Put back a claimed container no judge was given (it is still empty and waiting)."""
    with contextlib.suppress(OSError):
        (Path(entry["slot"]).parent / CLAIMANT).unlink()
        os.rename(entry["marker"], entry["marker"].removesuffix(".taken") + ".ready")


def done(entry: dict) -> None:
    """Forget a claimed container that a judge was given (the judge removes it and its slot): its
    marker and what is left of its entry (the runtime copy)."""
    with contextlib.suppress(OSError):
        os.unlink(entry["marker"])
    shutil.rmtree(Path(entry["slot"]).parent, ignore_errors=True)


def restock(needs: tuple[str, ...], limits: Limits) -> subprocess.Popen | None:
    """Start the detached process that makes the next container for these needs and limits (and
    sweeps what ended); None when the shelf is off."""
    if shelf_seconds() <= 0 or folder() is None:
        return None
    order = json.dumps({"needs": list(needs), "limits": asdict(limits)})
    try:
        return subprocess.Popen([sys.executable, "-m", "grader.sandbox.shelf", order], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:  # no process to spare: the next command starts its container cold, nothing worse
        return None


def stock(needs: tuple[str, ...], limits: Limits) -> str | None:
    """Sweep, then make one waiting container for `needs` and `limits` unless one already waits or
    another process is making one; its id, or None."""
    from grader.sandbox.image import connect, image_present, image_tag, variant_for

    shelf, seconds = folder(), shelf_seconds()
    if shelf is None or seconds <= 0:
        return None
    key = key_for(needs, limits)
    with open(shelf / f"{key}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # another restocker of this key is at work
        client = connect()
        sweep(client, shelf)
        image = image_tag(variant_for(needs))
        if claimable(needs, limits) or not image_present(client, image):
            return None  # never build an image from here: a grading does that, with its log
        return _make(client, shelf, key, needs, limits, image, seconds)


def claimable(needs: tuple[str, ...], limits: Limits) -> bool:
    """Whether a container for these needs and limits waits on the shelf, not too near its end."""
    shelf, now = folder(make=False), time.time()
    markers = shelf.glob(f"{key_for(needs, limits)}.*.ready") if shelf else []
    return any(_fresh(marker, now) for marker in markers)


def _make(client, shelf: Path, key: str, needs: tuple[str, ...], limits: Limits, image: str,
          seconds: float) -> str:
    """One waiting container and then its marker (so a claimant never finds a marker without one)."""
    from grader.sandbox import write_runtime
    from grader.sandbox.docker import HOST
    from grader.sandbox.warm import start_warm_container

    name = uuid.uuid4().hex[:12]
    entry = shelf / name
    entry.mkdir(mode=0o755)
    slot = entry / "slot"
    # No pid as owner: the janitor of dead graders' containers must not take it for residue.
    labels = {f"{LABEL}.owner": f"{HOST}:shelf", f"{LABEL}.grader": f"{HOST}:shelf", SHELF_LABEL: str(entry)}
    started = time.time()
    try:
        container = start_warm_container(client, needs, limits, image=image, slot=slot, job=name,
                                         runtime=write_runtime(entry / "runtime"), pool=pool_label(shelf),
                                         idle_seconds=seconds, labels=labels)
    except BaseException:
        shutil.rmtree(entry, ignore_errors=True)
        raise
    marker = {"container": container, "slot": str(slot), "image": image, "expires": started + seconds}
    part = shelf / f".{key}.{name}.part"
    part.write_text(json.dumps(marker))
    os.rename(part, shelf / f"{key}.{name}.ready")
    return container


def pool_label(shelf: Path) -> str:
    """The pool label of one shelf folder's containers: a sweep never touches another folder's."""
    return "shelf-" + hashlib.sha256(str(shelf).encode()).hexdigest()[:12]


def sweep(client, shelf: Path) -> None:
    """Remove what ended or will not be used: shelf containers no longer running, those whose wait is
    over (unclaimed past their marker's time), and the entries and markers of containers gone."""
    from grader.sandbox.docker import ENGINE_ERRORS

    now, running, over = time.time(), set(), set()
    for marker in shelf.glob("*.ready"):
        if _fresh(marker, now) is None:
            marker.unlink(missing_ok=True)  # unclaimable from now on: its container goes below
            over.add(marker.name.split(".")[1])
    waiting = {path.name.split(".")[1] for path in shelf.glob("*.*.ready")}
    for container in client.containers.list(all=True, sparse=True,
                                            filters={"label": f"{LABEL}.pool={pool_label(shelf)}"}):
        entry = Path((container.attrs.get("Labels") or {}).get(SHELF_LABEL, "")).name
        state, young = container.attrs.get("State"), now - container.attrs.get("Created", 0) < YOUNG_SECONDS
        # A young one without a marker may be another restocker's, between its start and its marker.
        if state in ("running", "created") and entry not in over and \
                (young or entry in waiting or any(shelf.glob(f"*.{entry}.taken"))):
            running.add(entry)
        else:
            with contextlib.suppress(*ENGINE_ERRORS):
                container.remove(force=True)
    for path in shelf.iterdir():
        name = path.name.split(".")[1] if path.suffix in (".ready", ".taken") else path.name
        if path.suffix == ".lock" or path.name.startswith(".") or name in running:
            continue
        if path.is_dir() and name not in over and now - path.stat().st_mtime < YOUNG_SECONDS:
            continue  # a restocker of another key may be making its container right now
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def facts(client) -> dict:
    """What `grader doctor` says of this user's shelf: where, how long a container waits, how many do."""
    path, seconds = location(), shelf_seconds()
    label = f"{LABEL}.pool={pool_label(path)}"
    waiting = client.containers.list(sparse=True, filters={"label": label, "status": "running"})
    return {"folder": str(path), "seconds": seconds, "running": len(waiting)}


def main(argv: list[str]) -> int:
    order = json.loads(argv[0])
    stock(tuple(order["needs"]), Limits(**order["limits"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
