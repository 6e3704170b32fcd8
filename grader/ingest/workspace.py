"""Make a safe workspace from any submission: a folder, a .py file, a .zip or a .tar(.gz) archive.

Only regular files are copied, under caps on count and size, with every path checked to stay inside the
workspace; symlinks, devices, path escapes and names that are not UTF-8 are refused with a message
naming the entry. Ingest costs the host bounded time, memory and disk before any sandbox exists:
every entry (skipped ones too) is counted and every declared size summed while the archive is
streamed, and the first cap passed stops it before anything more is read; a compressed archive is
decompressed through a meter that stops past MAX_STREAM_BYTES, past MAX_RATIO times its compressed
size, or past INGEST_SECONDS. Nothing is executed or imported here. The result is a fresh folder the
runner mounts read-only, plus the sha256 of its contents, which names the submission in its report.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import re
import shutil
import stat
import tarfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Callable

from grader import jobdirs
from grader.errors import SubmissionError
from grader.spec import AssignmentSpec

MAX_FILES = 200
MAX_TOTAL_BYTES = 64 << 20
# Every entry an archive or folder holds counts, folders and skipped files included: a million empty
# entries cost the host as much as a million files.
MAX_ENTRIES = 2000
# What a compressed archive may expand to (the files plus a header block or two per entry), and by how
# much it may exceed its compressed size once past RATIO_FLOOR (source code compresses 3-10x).
MAX_STREAM_BYTES = MAX_TOTAL_BYTES + MAX_ENTRIES * 3 * 512
MAX_RATIO = 200
RATIO_FLOOR = 4 << 20
INGEST_SECONDS = 60
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
SKIPPED_PARTS = {"__pycache__", ".git", ".ipynb_checkpoints", "__MACOSX"}
COMPRESSED = {b"\x1f\x8b": ("gzip", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),
              b"BZh": ("bzip2", bz2.BZ2File), b"\xfd7zXZ\x00": ("xz", lzma.LZMAFile)}


@dataclass(frozen=True)
class Workspace:
    path: Path
    sha256: str
    files: tuple[str, ...]

    def remove(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def submission_name(path: Path) -> str:
    """`alice` for alice/, alice.zip, alice.tar.gz or alice.py.

    The name is printed by every front end and names the report file, so what a terminal would obey
    (control characters) or UTF-8 cannot hold (bytes that are not UTF-8) is written as its escape."""
    name = path.name
    for suffix in (".tar.gz", ".tgz", ".tar", ".zip", ".py", ".ipynb"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    name = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", name)


def ingest(source: Path, spec: AssignmentSpec) -> Workspace:
    """Copy `source` into a new workspace and check it holds the files the assignment requires."""
    root = jobdirs.make_job_dir("grader-ws-")
    root.chmod(0o755)
    dest = root / "submission"
    dest.mkdir(mode=0o755)
    try:
        entries = _read(source, spec)
        for rel, data in entries.items():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            target.write_bytes(data)
            target.chmod(0o644)
        _check_required(entries, spec, source)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return Workspace(dest, content_hash(entries), tuple(sorted(entries)))


def content_hash(entries: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for rel in sorted(entries):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(entries[rel]).digest())
    return digest.hexdigest()


def _read(source: Path, spec: AssignmentSpec) -> dict[str, bytes]:
    from grader.ingest import git  # noqa: PLC0415 (a git repository is read as one commit's files)

    if git.is_git_source(source):
        caps = _Caps(source, spec.max_kb << 10)
        return _unwrap(git.read_repository(source, lambda folder: _read_dir(folder, caps),
                                                 max_files=MAX_ENTRIES, max_bytes=MAX_TOTAL_BYTES), spec)
    if source.is_symlink():
        raise SubmissionError(f"{source}: is a symbolic link; submit the file or folder itself")
    if not source.exists():
        raise SubmissionError(f"{source}: no such file or folder")
    name = source.name.lower()
    limit = _Caps(source, spec.max_kb << 10)
    if source.is_dir():
        entries = _read_dir(source, limit)
    elif name.endswith(".zip"):
        entries = _read_zip(source, limit)
    elif name.endswith((".tar", ".tar.gz", ".tgz")):
        entries = _read_tar(source, limit)
    elif name.endswith(".py"):
        entries = {source.name: limit.take(source.name, source.stat().st_size, source.read_bytes)}
    elif name.endswith(".ipynb"):
        from grader.ingest.notebook import notebook_entries  # noqa: PLC0415 (optional until notebooks land)

        entries = notebook_entries(source, spec, limit)
    else:
        raise SubmissionError(f"{source}: not a folder, .py, .ipynb, .zip, .tar or .tar.gz file")
    return _unwrap(entries, spec)


class _Caps:
    """Counts entries, files and bytes before reading them: the first cap passed stops ingest."""

    def __init__(self, source: Path, max_file_bytes: int) -> None:
        self.source, self.max_file, self.files, self.total = source, max_file_bytes, 0, 0
        self.entries, self.declared = 0, 0
        self.deadline = time.monotonic() + INGEST_SECONDS

    def entry(self, size: int = 0) -> None:
        """One more entry of any kind (skipped ones too), with the size its header declares."""
        self.entries += 1
        self.declared += max(0, size)
        if self.entries > MAX_ENTRIES:
            raise SubmissionError(f"{self.source}: more than {MAX_ENTRIES} entries (files and folders); "
                                  "submit only your code")
        if self.declared > MAX_TOTAL_BYTES:
            raise SubmissionError(f"{self.source}: its entries declare more than {MAX_TOTAL_BYTES >> 20} MB "
                                  "in all; submit only your code")
        self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise SubmissionError(f"{self.source}: reading the submission took over {INGEST_SECONDS} s "
                                  "(the ingest time limit)")

    def take(self, rel: str, size: int, read: Callable[[], bytes]) -> bytes:
        self.files += 1
        self.total += size
        if self.files > MAX_FILES:
            raise SubmissionError(f"{self.source}: more than {MAX_FILES} files")
        if size > self.max_file:
            raise SubmissionError(f"{self.source}: {rel} is {size >> 10} KB, over the limit of "
                                  f"{self.max_file >> 10} KB per file (files.max_kb)")
        if self.total > MAX_TOTAL_BYTES:
            raise SubmissionError(f"{self.source}: more than {MAX_TOTAL_BYTES >> 20} MB in all")
        data = read()
        if len(data) != size:
            raise SubmissionError(f"{self.source}: {rel} changed size while being read")
        return data


def _safe(rel: str, source: Path) -> str | None:
    """The normalised relative path, None for entries to skip; raises for escapes and non-text names."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8, kept as surrogates by the unpacker
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise SubmissionError(f"{source}: the name '{shown}' is not UTF-8 text; rename it "
                              "(or leave it out) and submit again") from None
    path = PurePosixPath(rel.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise SubmissionError(f"{source}: entry {rel!r} points outside the submission")
    if not path.parts or SKIPPED_PARTS & set(path.parts) or path.name.startswith("._"):
        return None
    return str(path)


def _read_dir(source: Path, caps: _Caps) -> dict[str, bytes]:
    """Walk the folder depth-first without listing it whole; skipped folders are not entered."""
    entries: dict[str, bytes] = {}
    pending = [source]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                children = []
                for child in listing:  # counted as listed: a million names stop at MAX_ENTRIES
                    caps.entry()
                    children.append(child)
        except OSError as exc:
            raise SubmissionError(f"{source}: cannot read {folder} ({exc.strerror})") from None
        for child in sorted(children, key=lambda c: c.name):
            path = Path(child.path)
            rel = _safe(path.relative_to(source).as_posix(), source)
            if rel is None:
                continue
            mode = child.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                pending.append(path)
            elif not stat.S_ISREG(mode):
                raise SubmissionError(f"{source}: {rel} is not a regular file "
                                      "(links and devices are refused)")
            else:
                entries[rel] = caps.take(rel, child.stat(follow_symlinks=False).st_size, path.read_bytes)
    return dict(sorted(entries.items()))


def _read_zip(source: Path, caps: _Caps) -> dict[str, bytes]:
    _check_zip_directory(source)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{source}: not a readable zip archive ({exc})") from None
    except (UnicodeDecodeError, ValueError) as exc:  # e.g. a name flagged UTF-8 that is not
        raise SubmissionError(f"{source}: a file name in the zip archive is marked UTF-8 but is not "
                              f"({exc}); pack it again with a current zip tool") from None
    entries = {}
    with archive:
        for info in archive.infolist():
            caps.entry()
            rel = _safe(info.filename, source)
            if info.is_dir() or rel is None:
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SubmissionError(f"{source}: {info.filename} is a symbolic link; links are refused")
            _once(entries, rel, source)
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(1, info.compress_size):
                raise SubmissionError(f"{source}: {rel} expands over {MAX_RATIO} times its packed size "
                                      "(a compression bomb?)")
            entries[rel] = caps.take(rel, info.file_size, lambda i=info: _read_member(archive, i, source))
    return entries


def _check_zip_directory(source: Path) -> None:
    """Refuse a zip whose central directory lists too many entries, before anything parses it."""
    try:
        with open(source, "rb") as f:
            end = zipfile._EndRecData(f)  # the end-of-directory record: entry count and size
    except OSError as exc:
        raise SubmissionError(f"{source}: cannot read it ({exc.strerror})") from None
    if end is None:
        raise SubmissionError(f"{source}: not a readable zip archive (no end of central directory)")
    count, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
    if count > MAX_ENTRIES or size > MAX_ENTRIES * 1024:
        raise SubmissionError(f"{source}: the zip archive lists {count} entries, more than "
                              f"{MAX_ENTRIES}; submit only your code")


def _once(entries: dict[str, bytes], rel: str, source: Path) -> None:
    # An archive may hold one name twice; which copy is "the" file depends on the tool that unpacks it,
    # so the grade would not be the one the student or an instructor inspecting the archive expects.
    if rel in entries:
        raise SubmissionError(f"{source}: the archive holds {rel} twice; pack each file once")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: Path) -> bytes:
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError, zlib.error) as exc:
        raise SubmissionError(f"{source}: cannot read {info.filename} ({exc})") from None


class _Meter:
    """A read-only stream over a decompressor that stops past the byte, ratio or time budget."""

    def __init__(self, raw: IO[bytes], inner: IO[bytes], caps: _Caps, what: str) -> None:
        self.raw, self.inner, self.caps, self.what, self.count = raw, inner, caps, what, 0

    def read(self, size: int = -1) -> bytes:
        size = 1 << 20 if size is None or size < 0 else min(size, 1 << 20)
        data = self.inner.read(size)
        self.count += len(data)
        packed = max(1, self.raw.tell())
        if self.count > MAX_STREAM_BYTES:
            raise SubmissionError(f"{self.caps.source}: the {self.what} archive expands past "
                                  f"{MAX_STREAM_BYTES >> 20} MB; submit only your code")
        if self.count > RATIO_FLOOR and self.count > MAX_RATIO * packed:
            raise SubmissionError(f"{self.caps.source}: the {self.what} archive expands over {MAX_RATIO} "
                                  "times its packed size (a compression bomb?); submit only your code")
        self.caps.check_time()
        return data


def _read_tar(source: Path, caps: _Caps) -> dict[str, bytes]:
    """Stream the archive once: no seeking, so nothing is decompressed twice or skipped unmetered."""
    try:
        raw = open(source, "rb")
    except OSError as exc:
        raise SubmissionError(f"{source}: cannot read it ({exc.strerror})") from None
    with raw:
        if os.fstat(raw.fileno()).st_size > MAX_STREAM_BYTES:
            raise SubmissionError(f"{source}: the archive is over {MAX_STREAM_BYTES >> 20} MB")
        head = raw.read(6)
        raw.seek(0)
        what, opener = next(((w, o) for magic, (w, o) in COMPRESSED.items() if head.startswith(magic)),
                            ("tar", None))
        stream = _Meter(raw, opener(raw) if opener else raw, caps, what)
        try:
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                return _tar_entries(archive, source, caps)
        except SubmissionError:
            raise
        except (tarfile.TarError, OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
            raise SubmissionError(f"{source}: not a readable tar archive, or a damaged one ({exc})") from None


def _tar_entries(archive: tarfile.TarFile, source: Path, caps: _Caps) -> dict[str, bytes]:
    entries = {}
    for member in archive:
        caps.entry(member.size)  # before tarfile reads past this member's data
        rel = _safe(member.name, source)
        if member.isdir() or rel is None:
            continue
        if not member.isfile():
            raise SubmissionError(f"{source}: {member.name} is not a regular file "
                                  "(links and devices are refused)")
        _once(entries, rel, source)
        entries[rel] = caps.take(rel, member.size, lambda m=member: archive.extractfile(m).read())
    return entries


def _unwrap(entries: dict[str, bytes], spec: AssignmentSpec) -> dict[str, bytes]:
    """An archive of a folder holds `hw/layers.py`: look inside the single top folder."""
    if any(name in entries for name in spec.files):
        return entries
    tops = {rel.split("/", 1)[0] for rel in entries}
    if len(tops) == 1 and all("/" in rel for rel in entries):
        top = tops.pop()
        return {rel[len(top) + 1:]: data for rel, data in entries.items()}
    return entries


def _check_required(entries: dict[str, bytes], spec: AssignmentSpec, source: Path) -> None:
    missing = [name for name in spec.files if name not in entries]
    if missing:
        found = ", ".join(sorted(entries)[:10]) or "nothing"
        raise SubmissionError(f"{source}: missing {', '.join(missing)} (found: {found})")
    for name in spec.files:
        try:
            entries[name].decode("utf-8")
        except UnicodeDecodeError:
            raise SubmissionError(f"{source}: {name} is not UTF-8 text") from None
