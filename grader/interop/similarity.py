"""Which submissions of one assignment look copied: exact duplicates and near duplicates, ranked.

Exact duplicates come from the content sha256 that reports (and ingest) already carry: two names,
one set of files. Near duplicates come from copydetect (winnowing, the algorithm of MOSS) over the
assignment's required files, after the starter's own code is removed as boilerplate so that the
skeleton every student got never counts as shared. The result is a self-contained HTML page: a table
of pairs ranked by similarity, each with both files side by side and the shared lines highlighted.

Student code is only read as text and tokenised (pygments), never imported or run. A high score is a
reason for a human to look, never a verdict: the page says so.
"""

from __future__ import annotations

import html
import io
import itertools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import GraderError, SubmissionError
from grader.spec import AssignmentSpec

NOISE_TOKENS = 25  # copydetect's noise threshold k: shorter shared runs are ignored
WINDOW = 1  # copydetect's default guarantee threshold equals its noise threshold: window of 1
DEFAULT_THRESHOLD = 0.33  # copydetect's own display threshold
CSP = "default-src 'none'; style-src 'unsafe-inline'"


@dataclass
class Entry:
    """One student's submission: its content hash, and its code when we have the files."""

    name: str
    sha256: str | None
    source: str  # "report" or "submission"
    code: str | None = None
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    kind: str  # "exact" or "near"
    similarity: tuple[float, float]  # share of a's tokens found in b, and of b's in a
    shared_lines: tuple[frozenset[int], frozenset[int]] = (frozenset(), frozenset())

    @property
    def score(self) -> float:
        return max(self.similarity)


def load_entries(spec: AssignmentSpec, paths: list[Path]) -> list[Entry]:
    """Reports (*.json, or folders of them) and submissions (folders, archives, .py, .ipynb)."""
    from grader.ingest.workspace import ingest, submission_name

    entries: dict[str, Entry] = {}
    for path in paths:
        if path.is_dir() and any(path.glob("*.json")) and not any(path.glob("*.py")):
            found = [_from_report(p, spec) for p in sorted(path.glob("*.json"))]
        elif path.suffix == ".json":
            found = [_from_report(path, spec)]
        else:
            try:
                workspace = ingest(path, spec)
            except SubmissionError as exc:
                logging.getLogger(__name__).warning("similarity: %s is left out: %s", path.name, exc)
                continue
            try:
                code = _document(workspace.path, spec.files)
            finally:
                workspace.remove()
            found = [Entry(submission_name(path), workspace.sha256, "submission", code, code.splitlines())]
        for entry in found:
            if entry is None:
                continue
            known = entries.get(entry.name)
            if known is not None and known.code is not None and entry.code is None:
                continue  # a submission's files say more than its report
            entries[entry.name] = entry
    return sorted(entries.values(), key=lambda e: e.name)


def find_pairs(spec: AssignmentSpec, entries: list[Entry], *, threshold: float = DEFAULT_THRESHOLD) -> list[Pair]:
    """Exact duplicates and near duplicates at or above `threshold`, most similar first."""
    pairs = []
    prints = _fingerprints(spec, entries)
    for a, b in itertools.combinations(entries, 2):
        if a.sha256 and a.sha256 == b.sha256:
            shared = (frozenset(range(len(a.lines))), frozenset(range(len(b.lines))))
            pairs.append(Pair(a.name, b.name, "exact", (1.0, 1.0), shared))
        elif a.name in prints and b.name in prints:
            pair = _near(a, b, prints[a.name], prints[b.name])
            if pair is not None and pair.score >= threshold:
                pairs.append(pair)
    return sorted(pairs, key=lambda p: (p.kind != "exact", -p.score, p.a, p.b))


def _fingerprints(spec: AssignmentSpec, entries: list[Entry]) -> dict:
    from copydetect import CodeFingerprint

    starter = _document(spec.starter, spec.files) if spec.starter.is_dir() else ""
    boilerplate = CodeFingerprint("starter.py", NOISE_TOKENS, 1, fp=io.StringIO(starter)).hashes
    return {e.name: CodeFingerprint(f"{e.name}.py", NOISE_TOKENS, WINDOW, boilerplate=list(boilerplate),
                                    fp=io.StringIO(e.code))
            for e in entries if e.code is not None}


def _near(a: Entry, b: Entry, print_a, print_b) -> Pair | None:
    from copydetect import compare_files

    overlap, similarity, slices = compare_files(print_a, print_b)
    if not overlap:
        return None
    shared = (_lines(a.code, slices[0]), _lines(b.code, slices[1]))
    return Pair(a.name, b.name, "near", (float(similarity[0]), float(similarity[1])), shared)


def _lines(code: str, slices) -> frozenset[int]:
    """Line numbers (0-based) touched by copydetect's character slices of `code`."""
    starts = [0]
    for i, char in enumerate(code):
        if char == "\n":
            starts.append(i + 1)
    found: set[int] = set()
    for start, end in zip(slices[0], slices[1]):
        first = _line_of(starts, int(start))
        last = _line_of(starts, max(int(start), int(end) - 1))
        found.update(range(first, last + 1))
    return frozenset(found)


def _line_of(starts: list[int], offset: int) -> int:
    import bisect

    return bisect.bisect_right(starts, offset) - 1


def _document(folder: Path, files: tuple[str, ...]) -> str:
    """The required files, in order, as one text with a header line per file."""
    parts = []
    for name in files:
        path = folder / name
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        parts.append(f"# ===== {name} =====\n{text}")
    return "\n".join(parts)


def _from_report(path: Path, spec: AssignmentSpec) -> Entry | None:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        if report["assignment"]["id"] != spec.id:
            return None
        return Entry(report["submission"]["name"], report["submission"]["sha256"], "report")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GraderError(f"{path}: not a report of `grader grade` ({exc})") from None


def to_similarity_html(spec: AssignmentSpec, entries: list[Entry], pairs: list[Pair], *,
                       threshold: float = DEFAULT_THRESHOLD) -> str:
    """The ranked page: a summary table, then each pair's files with the shared lines marked."""
    by_name = {e.name: e for e in entries}
    rows, details = [], []
    for rank, pair in enumerate(pairs, 1):
        anchor = f"pair-{rank}"
        rows.append(f'<tr class="pair {pair.kind}" data-rank="{rank}" data-a="{_e(pair.a)}" data-b="{_e(pair.b)}" '
                    f'data-score="{pair.score:.3f}"><td>{rank}</td><td>{_e(pair.a)}</td><td>{_e(pair.b)}</td>'
                    f"<td>{pair.kind}</td><td>{pair.similarity[0]:.0%}</td><td>{pair.similarity[1]:.0%}</td>"
                    f'<td><a href="#{anchor}">compare</a></td></tr>')
        details.append(_pair_detail(anchor, rank, pair, by_name))
    with_code = sum(e.code is not None for e in entries)
    summary = (f"{len(entries)} submissions ({with_code} with code, {len(entries) - with_code} from reports only: "
               f"exact duplicates only); {len(pairs)} pairs at or above {threshold:.0%} similarity. The starter's "
               "code is not counted. A high score is a reason to look, not a verdict.")
    title = _e(f"Similarity: {spec.title} ({spec.id})")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\"><title>{title}</title>"
            f"<style>{STYLE}</style></head>\n<body>\n<h1>{title}</h1>\n<p id=\"summary\">{_e(summary)}</p>\n"
            '<table id="pairs"><thead><tr><th>#</th><th>A</th><th>B</th><th>kind</th><th>A in B</th>'
            "<th>B in A</th><th></th></tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
            + "\n".join(details) + "\n</body></html>\n")


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222} table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.25rem .6rem} tr.exact td{background:#fdecea}
.side{display:flex;gap:1rem} .side>div{flex:1;min-width:0} pre{background:#f7f7f7;padding:.4rem;overflow:auto}
pre span{display:block;white-space:pre} span.shared{background:#ffe082}
"""


def _pair_detail(anchor: str, rank: int, pair: Pair, by_name: dict[str, Entry]) -> str:
    sides = []
    for name, shared, share in ((pair.a, pair.shared_lines[0], pair.similarity[0]),
                                (pair.b, pair.shared_lines[1], pair.similarity[1])):
        entry = by_name[name]
        if entry.code is None:
            body = "<p>(from a report: same sha256, files not given)</p>"
        else:
            body = "<pre>" + "".join(
                f'<span class="{"shared" if i in shared else "line"}">{_e(line) or " "}</span>'
                for i, line in enumerate(entry.lines)) + "</pre>"
        sides.append(f"<div><h3>{_e(name)} ({share:.0%} shared)</h3>{body}</div>")
    return (f'<section class="detail" id="{anchor}"><h2>#{rank}: {_e(pair.a)} and {_e(pair.b)} '
            f'({pair.kind})</h2><div class="side">' + "".join(sides) + "</div></section>")


def _e(text: str) -> str:
    return html.escape(text, quote=True)
