"""The bubblewrap command line of a jailed local runner: which namespaces, which files, which user.

The runner sees: /usr (and the merged-/usr links), three files of /etc, a fresh /proc and /dev, a
size-capped writable /tmp, its Python installation with that installation's own site-packages hidden,
/opt/runtime (the runner's four grader files plus the packages it needs: numpy, the assignment's
`needs` and their requirements, each bound one by one) and the workspace at /submission, read-only.
It does not see the grader's virtualenv beyond those packages, the course, /root, /home or any other
process. Namespaces: mount, pid, net, ipc, uts, cgroup. As root: no user namespace (a runner uid must
be a real host uid so that per-uid limits and keyrings are its own), bubblewrap keeps CAP_SETUID and
CAP_SETGID for `setpriv`, which drops to the slot's uid with no capabilities and no_new_privs. As an
ordinary user: a user namespace with nested ones disabled, the runner as uid 65534 inside it.

Builds argument lists only; it starts nothing.
"""

from __future__ import annotations

import csv
import functools
import importlib.metadata
import importlib.util
import os
import re
import sys
from pathlib import Path

import grader
from grader.sandbox import RUNTIME_FILES

JAIL_RUNTIME = "/opt/runtime"
JAIL_WORKSPACE = "/submission"
NOBODY = 65534
ROOT_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives")
# Found by the runner at /opt/runtime/<name>: numpy always (the wire format needs it).
ALWAYS = ("numpy",)


def namespaces(as_root: bool) -> list[str]:
    if as_root:  # --unshare-all would add a user namespace, where the slot's host uid does not exist
        return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    return ["--unshare-all", "--unshare-user", "--disable-userns", "--uid", str(NOBODY), "--gid", str(NOBODY)]


def drop_to(uid: int) -> list[str]:
    """The command prefix, run inside the jail as root, that becomes `uid` for good."""
    return ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
            "--inh-caps=-all", "--bounding-set=-all", "--pdeathsig", "KILL", "--"]


def base_mounts(tmp_mb: int) -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for path in ROOT_LINKS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--perms", "0755", "--dir", "/etc", "--perms", "0755", "--dir", "/opt"]  # see _ro_binds
    for path in ETC_FILES:
        args += ["--ro-bind-try", path, path]
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(tmp_mb << 20), "--tmpfs", "/tmp"]
    return args


def python_mounts(executable: str, paths: tuple[str, ...]) -> tuple[str, list[str]]:
    """(the interpreter to run inside, the binds it needs). The grader's own interpreter runs as its base
    installation (no virtualenv), with that installation's site-packages hidden; another interpreter
    (e.g. Debian's, chosen for torch) is shown with its import path, as it has no grader in it."""
    if executable != sys.executable:
        return executable, _ro_binds(p for p in paths if not p.startswith("/usr/"))
    real = os.path.realpath(sys.executable)
    base = sys.base_prefix
    if base.startswith("/usr/") or base == "/usr":
        return real, []
    args = _ro_binds([base])
    site = Path(base) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    if site.is_dir():
        args += ["--tmpfs", str(site), "--remount-ro", str(site)]
    return real, args


def runtime_mounts(needs: tuple[str, ...], *, own_interpreter: bool) -> list[str]:
    """/opt/runtime: the runner's grader files and, for the grader's own interpreter, its packages."""
    source = Path(grader.__file__).parent
    args = ["--tmpfs", JAIL_RUNTIME, "--dir", f"{JAIL_RUNTIME}/grader", "--dir", f"{JAIL_RUNTIME}/grader/runtime"]
    for name in RUNTIME_FILES:
        args += ["--ro-bind", str(source / name), f"{JAIL_RUNTIME}/grader/{name}"]
    if own_interpreter:
        for path in package_paths((*ALWAYS, *needs)):
            args += ["--ro-bind", str(path), f"{JAIL_RUNTIME}/{path.name}"]
    return args + ["--remount-ro", JAIL_RUNTIME]


def _ro_binds(paths) -> list[str]:
    """Each path read-only at its own place. Its parents are made 0755 first: bubblewrap would copy a
    host parent's mode (/root is 0700), and the runner's uid could not reach the path."""
    args: list[str] = []
    made: set[str] = set()
    for path in sorted({p for p in paths if p and os.path.exists(p)}):
        for parent in reversed(Path(path).parents[:-1]):  # /root, /root/.pyenv, ... (not "/")
            if str(parent) not in made and not str(parent).startswith(("/usr", "/tmp")):
                made.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", path, path]
    return args


@functools.cache
def package_paths(modules: tuple[str, ...]) -> tuple[Path, ...]:
    """The top-level files and folders of the distributions providing `modules`, with what they require."""
    owners = {module: _distributions_of(module) for module in modules}
    todo = [d for m in modules for d in owners[m]]
    found: dict[str, Path] = {}
    for module in modules:  # a module without distribution metadata: its own folder or file
        if not owners[module] and (spec := importlib.util.find_spec(module)) and spec.origin:
            origin = Path(spec.origin)
            top = origin.parent if origin.name == "__init__.py" else origin
            found[top.name] = top
    seen: set[str] = set()
    while todo:
        name = _normal(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # a requirement for another platform, or an optional one not installed
        found.update(_top_level(dist))
        todo += [r for r in dist.requires or [] if "extra ==" not in r]
    return tuple(found[k] for k in sorted(found))


def _distributions_of(module: str) -> list[str]:
    """The distributions that install `module`. Most are named for their module (numpy), which is one
    metadata read; scanning every installed distribution's files costs 0.25 s, once per judge, on the
    way to its first runner, so it is only the fallback."""
    try:
        if module in _top_level(importlib.metadata.distribution(module)):
            return [module]
    except importlib.metadata.PackageNotFoundError:
        pass
    return importlib.metadata.packages_distributions().get(module, [])


def _normal(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else requirement


def _top_level(dist: importlib.metadata.Distribution) -> dict[str, Path]:
    site = Path(dist.locate_file(""))
    tops: dict[str, Path] = {}
    for first in _first_parts(dist):
        if first not in ("", "..", "__pycache__") and not first.endswith(".pth"):
            path = site / first
            if path.exists():
                tops[first] = path
    return tops


def _first_parts(dist: importlib.metadata.Distribution) -> set[str]:
    """The first component of each file a distribution installed. Read from RECORD as text: building
    `dist.files`' path objects for numpy's 1,500 files took 0.1 s of every judge's first runner start."""
    record = dist.read_text("RECORD")
    if record is None:
        return {Path(file).parts[0] for file in dist.files or [] if Path(file).parts}
    rows = csv.reader(record.splitlines())
    return {row[0].replace("\\", "/").split("/", 1)[0] for row in rows if row}
