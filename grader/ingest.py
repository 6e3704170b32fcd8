"""Make a safe workspace from any submission: a folder, a .py file, a .zip or a .tar(.gz) archive.

Only regular files are copied, under caps on count and size, with every path checked to stay inside the
workspace; symlinks, devices and path escapes are refused with a message naming the entry. Nothing is
executed or imported here. The result is a fresh folder the runner mounts read-only, plus the sha256
of its contents, which names the submission in its report.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.errors import SubmissionError
from grader.spec import AssignmentSpec

MAX_FILES = 200
MAX_TOTAL_BYTES = 64 << 20
SKIPPED_PARTS = {"__pycache__", ".git", ".ipynb_checkpoints", "__MACOSX"}


@dataclass(frozen=True)
class Workspace:
    path: Path
    sha256: str
    files: tuple[str, ...]

    def remove(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def submission_name(path: Path) -> str:
    """`alice` for alice/, alice.zip, alice.tar.gz or alice.py."""
    name = path.name
    for suffix in (".tar.gz", ".tgz", ".tar", ".zip", ".py", ".ipynb"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def ingest(source: Path, spec: AssignmentSpec) -> Workspace:
    """Copy `source` into a new workspace and check it holds the files the assignment requires."""
    root = Path(tempfile.mkdtemp(prefix="grader-ws-"))
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
    from grader import gitsource  # noqa: PLC0415 (a git repository is read as one commit's files)

    if gitsource.is_git_source(source):
        caps = _Caps(source, spec.max_kb << 10)
        return _unwrap(gitsource.read_repository(source, lambda folder: _read_dir(folder, caps)), spec)
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
        from grader.notebook import notebook_entries  # noqa: PLC0415 (optional until notebooks land)

        entries = notebook_entries(source, spec, limit)
    else:
        raise SubmissionError(f"{source}: not a folder, .py, .ipynb, .zip, .tar or .tar.gz file")
    return _unwrap(entries, spec)


class _Caps:
    """Counts files and bytes before reading them, so a zip bomb stops at the first entry over a cap."""

    def __init__(self, source: Path, max_file_bytes: int) -> None:
        self.source, self.max_file, self.files, self.total = source, max_file_bytes, 0, 0

    def take(self, rel: str, size: int, read) -> bytes:
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
    """The normalised relative path, None for entries to skip; raises for escapes."""
    path = PurePosixPath(rel.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise SubmissionError(f"{source}: entry {rel!r} points outside the submission")
    if not path.parts or SKIPPED_PARTS & set(path.parts) or path.name.startswith("._"):
        return None
    return str(path)


def _read_dir(source: Path, caps: _Caps) -> dict[str, bytes]:
    entries = {}
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source).as_posix()
        mode = path.lstat().st_mode
        if stat.S_ISDIR(mode) or _safe(rel, source) is None:
            continue
        if not stat.S_ISREG(mode):
            raise SubmissionError(f"{source}: {rel} is not a regular file (links and devices are refused)")
        entries[rel] = caps.take(rel, path.stat().st_size, path.read_bytes)
    return entries


def _read_zip(source: Path, caps: _Caps) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{source}: not a readable zip archive ({exc})") from None
    entries = {}
    with archive:
        for info in archive.infolist():
            rel = _safe(info.filename, source)
            if info.is_dir() or rel is None:
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SubmissionError(f"{source}: {info.filename} is a symbolic link; links are refused")
            _once(entries, rel, source)
            entries[rel] = caps.take(rel, info.file_size, lambda i=info: _read_member(archive, i, source))
    return entries


def _once(entries: dict[str, bytes], rel: str, source: Path) -> None:
    # An archive may hold one name twice; which copy is "the" file depends on the tool that unpacks it,
    # so the grade would not be the one the student or an instructor inspecting the archive expects.
    if rel in entries:
        raise SubmissionError(f"{source}: the archive holds {rel} twice; pack each file once")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: Path) -> bytes:
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
        raise SubmissionError(f"{source}: cannot read {info.filename} ({exc})") from None


def _read_tar(source: Path, caps: _Caps) -> dict[str, bytes]:
    try:
        archive = tarfile.open(source)
    except (tarfile.TarError, OSError) as exc:
        raise SubmissionError(f"{source}: not a readable tar archive ({exc})") from None
    entries = {}
    with archive:
        try:
            for member in archive:
                rel = _safe(member.name, source)
                if member.isdir() or rel is None:
                    continue
                if not member.isfile():
                    raise SubmissionError(f"{source}: {member.name} is not a regular file "
                                          "(links and devices are refused)")
                _once(entries, rel, source)
                entries[rel] = caps.take(rel, member.size, lambda m=member: archive.extractfile(m).read())
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise SubmissionError(f"{source}: archive is damaged ({exc})") from None
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



