"""The janitor: what a grader leaves when it is killed is removed seconds later, not at the next start.

A grader process starts one janitor (`grader.jobdirs.ensure_janitor`, with its first job folder) in a session of its
own, so a kill of the grader's whole process group does not reach it. The janitor holds the read end
of a pipe whose write end only the grader has; when the grader ends, however it ends, the pipe closes
and the janitor removes the grader's leftovers: the containers its judges started (labelled with the
grader's pid) and every job folder whose owner is dead (the grader's and its judges', who die with it).
It asks the engine only where the grader wrote CONTAINERS_NOTE to the pipe (grader.jobdirs.expect_containers),
and it waits only for the folders of the grader's own judges. It never touches a live owner's folder
or another grader's containers, and it never grades anything.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

from grader import jobdirs

# Judges get SIGKILL when their grader dies; their runners follow them. Folders of the grader's judges
# whose owner is still alive are retried for this long before the janitor leaves them to the next
# grader's sweep.
SETTLE_SECONDS = 15
# Every container a grader makes carries this label and labels under it (.owner, .grader, .job, .pool);
# the docker backend and the shelf take it from here, which imports no docker code.
LABEL = "dl-grader"
# A shelved container's label naming its folder, and the file there that says which grader claimed it.
SHELF_LABEL = f"{LABEL}.shelf"
CLAIMANT = "claimant"


def clean_up_after(grader_pid: int, *, containers: bool = True) -> None:
    """Remove the job folders, and with `containers` the containers, that grader `grader_pid` (now gone)
    left behind."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        if containers:
            _remove_containers(grader_pid)
        jobdirs.remove_stale()
        if not _judges_alive(grader_pid) or time.monotonic() > deadline:
            return
        time.sleep(1)


def _judges_alive(grader_pid: int) -> bool:
    """Whether a folder of the grader's (a judge's, see grader.jobdirs.owner_record) still has a live
    owner: another grader's folders are no reason to wait (with two graders on the machine, every
    janitor waited the whole SETTLE_SECONDS, asking the engine each second)."""
    return any(jobdirs.made_for(record, grader_pid) and jobdirs.owner_alive(record)
               for _, record in jobdirs.owned_folders())


def _remove_containers(grader_pid: int) -> None:
    try:
        import docker

        client = docker.from_env(timeout=10)
        grader = f"{socket.gethostname()}:{grader_pid}"
        for container in client.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}.grader={grader}"}):
            container.remove(force=True)
        # A warm container the grader took from the shelf carries no pid of its: its claim says whose it is.
        shelved = client.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}.owner={socket.gethostname()}:shelf"})
        for container in shelved:
            if claimant(container.attrs.get("Labels") or {}) == grader:
                container.remove(force=True)
    except Exception:  # no SDK, no engine, or it went away: nothing of ours can be running there
        pass


def claimant(labels: dict) -> str | None:
    """`host:pid` of the grader that claimed the shelved container (grader.sandbox.shelf) with these
    labels: the claim file in the folder its SHELF_LABEL names. None for any other container, and for
    one still waiting on the shelf (it belongs to no grader)."""
    entry = labels.get(SHELF_LABEL)
    try:
        return (Path(entry) / CLAIMANT).read_text().strip() or None if entry else None
    except OSError:
        return None


def main(argv: list[str]) -> int:
    grader_pid = int(argv[0])
    notes = sys.stdin.buffer.read()  # until EOF: the grader is gone
    clean_up_after(grader_pid, containers=jobdirs.CONTAINERS_NOTE in notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
