"""Write the hostile submissions that cannot be committed as plain files (see inputs.toml).

    python examples/hostile/make_inputs.py DEST     # then: grader grade 05-backprop DEST/* --out OUT

Each is the smallest input that reproduces one way a submission once stopped a batch or cost the
grading host time, memory or disk before any sandbox existed: names that are not UTF-8, a zip whose
UTF-8 flag lies, a notebook cell with a lone surrogate or code nested past the parser's depth, a
3 KB bzip2 "tar.gz" whose entry declares 2 GB, a tar with a million entries, and a git repository
whose checkout would write 2 GB. Everything is built in well under a second from repeated compressed
blocks; nothing big is ever written uncompressed. `honest.tar.gz` (the reference layers.py, packed
as a student would) is the neighbour that must keep full marks in the same batch.
"""

from __future__ import annotations

import bz2
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent.parent / "solutions" / "05-backprop" / "layers.py"
STUB = b"def affine_forward(x, w, b):\n    return x @ w + b\n"


def _header(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape")


def _member(name: str, data: bytes) -> bytes:
    """One regular file as raw tar blocks, with no end-of-archive marker after it."""
    return _header(name, len(data)) + data + bytes(-len(data) % 512)


def _file_tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def non_utf8_name_tar(dest: Path) -> Path:
    path = dest / "non-utf8-name.tar"
    path.write_bytes(_file_tar({"layers.py": STUB, "caf\udce9.py": STUB}))  # b"caf\xe9.py" on disk
    return path


def non_utf8_name_folder(dest: Path) -> Path:
    path = dest / "non-utf8-name-folder"
    path.mkdir()
    (path / "layers.py").write_bytes(STUB)
    with open(os.path.join(os.fsencode(path), b"notes-\xff.txt"), "wb") as f:
        f.write(b"latin-1 name\n")
    return path


def lying_zip(dest: Path) -> Path:
    """A zip whose entry sets the UTF-8 flag (bit 11) on a name that is not UTF-8."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("layers.py", STUB)
        archive.writestr("r\u00e9sum\u00e9.txt", b"notes\n")  # a UTF-8 name: the flag is set for it
    raw = out.getvalue().replace("r\u00e9sum\u00e9".encode(), b"r\xff\xfesum\xff\xfe")  # same length
    path = dest / "lying-utf8-flag.zip"
    path.write_bytes(raw)
    return path


def _notebook(source: str) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": None, "outputs": [],
         "source": source}]})


def lone_surrogate_notebook(dest: Path) -> Path:
    path = dest / "lone-surrogate.ipynb"
    # json.dumps would escape the backslash: the file must hold the six characters \ud800 themselves.
    path.write_text(_notebook(STUB.decode() + "NAME = 'X'\n").replace("'X'", "'\\ud800'"))
    return path


def deep_notebook(dest: Path) -> Path:
    """A %time line (so the grader parses the cell) over an expression 50,000 unary minuses deep."""
    path = dest / "deep-nesting.ipynb"
    path.write_text(_notebook(STUB.decode() + "%time x = " + "-" * 50_000 + "1\n"))
    return path


def _repeat_bz2(block: bytes, times: int) -> bytes:
    """`block` repeated `times` times as concatenated bzip2 streams (a valid .bz2 of the whole)."""
    return bz2.compress(block) * times


def declared_2gb_bzip2(dest: Path) -> Path:
    """A bzip2 tar named .tar.gz whose one skipped entry declares (and holds) 2 GB of zeros."""
    zeros = bytes(1 << 20)
    head = _member("layers.py", STUB)
    body = bz2.compress(head + _header("__pycache__/cache.bin", 2 << 30)) + _repeat_bz2(zeros, 2048)
    path = dest / "declares-2gb.tar.gz"
    path.write_bytes(body + bz2.compress(bytes(1024)))
    return path


def million_entries_tar(dest: Path) -> Path:
    """A bzip2 tar of one million folder entries (512 MB of headers once unpacked)."""
    block = b"".join(_header(f"d{i}/", 0, tarfile.DIRTYPE) for i in range(1000))
    head = _member("layers.py", STUB)
    path = dest / "million-entries.tar"
    path.write_bytes(bz2.compress(head) + _repeat_bz2(block, 1000) + bz2.compress(bytes(1024)))
    return path


def git_2gb(dest: Path) -> Path:
    """A git repository with one 32 MB blob of zeros under 64 names: its checkout writes 2 GB."""
    repo = dest / "checkout-2gb"
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@example.org",
           "GIT_COMMITTER_NAME": "s", "GIT_COMMITTER_EMAIL": "s@example.org"}

    def git(*args: str, data: bytes | None = None) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], input=data, env=env, check=True,
                              capture_output=True).stdout.decode().strip()

    subprocess.run(["git", "init", "-q", str(repo)], env=env, check=True)
    code = git("hash-object", "-w", "--stdin", data=STUB)
    zeros = git("hash-object", "-w", "--stdin", data=bytes(32 << 20))
    listing = f"100644 blob {code}\tlayers.py\n" + "".join(
        f"100644 blob {zeros}\tdata{i:02d}.bin\n" for i in range(64))
    tree = git("mktree", data=listing.encode())
    commit = git("commit-tree", tree, "-m", "two gigabytes", data=b"")
    git("update-ref", "HEAD", commit)
    return repo


def honest_tar_gz(dest: Path) -> Path:
    path = dest / "honest.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        archive.add(REFERENCE, arcname="hw5/layers.py")
    return path


BUILDERS = {"non-utf8-name": non_utf8_name_tar, "non-utf8-name-folder": non_utf8_name_folder,
            "lying-utf8-flag": lying_zip, "lone-surrogate": lone_surrogate_notebook,
            "deep-nesting": deep_notebook, "declares-2gb": declared_2gb_bzip2,
            "million-entries": million_entries_tar, "checkout-2gb": git_2gb, "honest": honest_tar_gz}


def build(dest: Path) -> dict[str, Path]:
    """Case name (as in inputs.toml) -> the submission written under `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    return {name: make(dest) for name, make in BUILDERS.items()}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: make_inputs.py DEST")
    for name, path in build(Path(sys.argv[1])).items():
        print(f"{name}: {path}")
