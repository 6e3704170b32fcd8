"""A strict applier of unified diffs: how an example mistake stored as `<case>.patch` becomes a folder.

A patch names files relative to the step folder (`--- a/layers.py`, `+++ b/layers.py`) and edits
files that already exist there. Every context and removed line must match the file exactly, at the
line the hunk header gives: there is no fuzz and no offset search, so a reference that changed under
a patch is an error that names the patch file, the hunk and the line, never a silently different
submission. It never creates, deletes or renames a file, never follows a path out of the folder it
edits, and never runs the `patch` program.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.errors import SpecError

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
NO_NEWLINE = "\\ No newline at end of file"


class PatchError(SpecError):
    """A patch that cannot be read or does not fit the files it edits (the author's to fix)."""


@dataclass
class Hunk:
    number: int            # 1-based, counted over the whole patch file, as the error messages say
    header: str
    old_start: int
    old_count: int
    new_count: int
    lines: list[tuple[str, str]] = field(default_factory=list)  # (' ', '-' or '+', text with its newline)


@dataclass
class FilePatch:
    path: str              # relative to the folder the patch edits, e.g. "layers.py"
    hunks: list[Hunk] = field(default_factory=list)


def apply_patch(patch: Path, folder: Path) -> list[str]:
    """Apply `patch` to the files in `folder`, in place; the paths edited. Nothing is written unless
    every hunk of every file fits."""
    edits = {}
    for section in parse(patch):
        target = _target(patch, folder, section.path)
        edits[target] = _patched(patch, section, _read(patch, target))
    for target, text in edits.items():
        target.write_bytes(text.encode("utf-8"))
    return [str(target.relative_to(folder)) for target in edits]


def parse(patch: Path) -> list[FilePatch]:
    """The file sections of `patch`, each with its hunks; a PatchError for anything malformed."""
    try:
        lines = _split(patch.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PatchError(f"{patch}: cannot read the patch: {exc}") from None
    sections: list[FilePatch] = []
    index, hunks_seen = 0, 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("--- "):
            sections.append(_file_header(patch, lines, index, sections))
            index += 2
        elif line.startswith("@@"):
            if not sections:
                raise PatchError(f"{patch}:{index + 1}: a hunk before any `--- a/FILE` / `+++ b/FILE` header")
            hunks_seen += 1
            hunk, index = _hunk(patch, lines, index, hunks_seen)
            sections[-1].hunks.append(hunk)
        elif line[:1] in (" ", "+", "-", "\\") and sections:
            raise PatchError(f"{patch}:{index + 1}: a diff line outside any hunk (does a hunk header "
                             f"count too few lines?): {line.rstrip()!r}")
        else:
            index += 1  # commentary: text before the first file, `diff --git` and `index` lines
    if not sections or not any(s.hunks for s in sections):
        raise PatchError(f"{patch}: no hunks: not a unified diff")
    return sections


def _split(text: str) -> list[str]:
    """Lines with their newline kept; only '\\n' ends a line (a '\\r' or form feed is content)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return lines + ([parts[-1]] if parts[-1] else [])


def _file_header(patch: Path, lines: list[str], index: int, sections: list[FilePatch]) -> FilePatch:
    if index + 1 >= len(lines) or not lines[index + 1].startswith("+++ "):
        raise PatchError(f"{patch}:{index + 1}: `---` header without a `+++` line after it")
    old = _header_path(patch, index + 1, lines[index][4:], "a/")
    new = _header_path(patch, index + 2, lines[index + 1][4:], "b/")
    if old != new:
        raise PatchError(f"{patch}:{index + 1}: renames {old} to {new}; a patch may only edit files")
    if any(s.path == old for s in sections):
        raise PatchError(f"{patch}:{index + 1}: {old} has a second section; put all its hunks in one")
    return FilePatch(old)


def _header_path(patch: Path, line_no: int, raw: str, prefix: str) -> str:
    name = raw.rstrip("\n").split("\t", 1)[0]
    if name == "/dev/null":
        raise PatchError(f"{patch}:{line_no}: creates or deletes a file; a patch example may only edit "
                         "the reference's files (store the mistake as a folder instead)")
    if not name.startswith(prefix):
        raise PatchError(f"{patch}:{line_no}: {name!r} must start with {prefix!r} (a path relative to the step folder)")
    path = PurePosixPath(name[len(prefix):])
    if not name[len(prefix):] or path.is_absolute() or ".." in path.parts or "\\" in name:
        raise PatchError(f"{patch}:{line_no}: {name!r} escapes the step folder; name a file inside it")
    return str(path)


def _hunk(patch: Path, lines: list[str], index: int, number: int) -> tuple[Hunk, int]:
    """The hunk whose header is lines[index], and the index after its last line."""
    header = lines[index].rstrip("\n")
    found = HUNK.match(header)
    if not found:
        raise PatchError(f"{patch}:{index + 1}: hunk {number}: malformed header {header!r}")
    old_start, old_count, _, new_count = (int(g) if g is not None else 1 for g in found.groups())
    hunk = Hunk(number, header, old_start, old_count, new_count)
    old_left, new_left, index = old_count, new_count, index + 1
    while old_left or new_left:
        if index >= len(lines):
            raise PatchError(f"{patch}:{index + 1}: hunk {number} ({header}) ends early: "
                             f"{old_left} old and {new_left} new lines still to come")
        line = lines[index]
        tag, text = (" ", "\n") if line == "\n" else (line[0], line[1:])  # an editor strips " \n" to "\n"
        if tag not in " -+" or (tag in " -" and not old_left) or (tag in " +" and not new_left):
            raise PatchError(f"{patch}:{index + 1}: hunk {number} ({header}): line does not fit the "
                             f"header's counts ({old_left} old and {new_left} new lines to come): {line.rstrip()!r}")
        index += 1
        if index < len(lines) and lines[index].rstrip("\n") == NO_NEWLINE:
            text, index = text.removesuffix("\n"), index + 1
        hunk.lines.append((tag, text))
        old_left -= tag in " -"
        new_left -= tag in " +"
    return hunk, index


def _target(patch: Path, folder: Path, relative: str) -> Path:
    target = folder / relative
    if target.is_symlink() or not target.resolve().is_relative_to(folder.resolve()):
        raise PatchError(f"{patch}: {relative} escapes the step folder; name a file inside it")
    if not target.is_file():
        raise PatchError(f"{patch}: {relative} is not a file of the reference ({folder})")
    return target


def _read(patch: Path, target: Path) -> list[str]:
    try:
        return _split(target.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise PatchError(f"{patch}: {target.name} is not UTF-8 text; a patch edits text files only") from None


def _patched(patch: Path, section: FilePatch, old: list[str]) -> str:
    """The text of `section.path` after its hunks: each one's old lines must be where it says."""
    out: list[str] = []
    done = 0  # lines of `old` consumed so far
    for hunk in section.hunks:
        start = hunk.old_start - 1 if hunk.old_count else hunk.old_start  # an empty hunk inserts after
        if start < done:
            raise PatchError(f"{patch}: {section.path}: hunk {hunk.number} ({hunk.header}) overlaps or "
                             "comes before the hunk above it")
        out += old[done:start]
        at = start
        for tag, text in hunk.lines:
            if tag != "+":
                found = old[at] if at < len(old) else None
                if found != text:
                    raise PatchError(_mismatch(patch, section.path, hunk, at + 1, text, found))
                at += 1
            if tag != "-":
                out.append(text)
        done = at
    return "".join(out + old[done:])


def _mismatch(patch: Path, path: str, hunk: Hunk, line: int, wanted: str, found: str | None) -> str:
    seen = "the end of the file" if found is None else repr(found)
    return (f"{patch}: {path}: hunk {hunk.number} ({hunk.header}) does not match the reference at "
            f"line {line}: the patch expects {wanted!r}, the file has {seen}")
