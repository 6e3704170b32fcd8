"""Take the grading machine's file paths out of text a student reads: pure functions over strings.

A report's reason and test messages can name the instructor's paths (`/srv/course/subs/bob.zip: not
a readable zip archive`, a traceback's `File "/srv/course/assignments/…"` lines). Student views keep
only each absolute path's last part, the submission's own name. It never changes the report itself:
the instructor's copy (a view's `show_hidden`) keeps the full paths.
"""

from __future__ import annotations

import re

# One path segment: anything but whitespace, separators and the punctuation that ends a path in prose.
_SEGMENT = r"[^\s/:'\"()<>\[\],;]+"
# An absolute path not glued to a word, a dot or another slash (so `dW/dx`, `a/b` and URLs stay).
ABSOLUTE_PATH = re.compile(rf"(?<![\w.~/\\])/(?:{_SEGMENT}/)*({_SEGMENT})")


def strip_paths(text: str | None) -> str:
    """`text` with each absolute path replaced by its last part; '' for None.

    Ingest's messages start with the submission's path and a colon; that leading path is cut whole
    even when a folder name in it holds a space.
    """
    if not text:
        return ""
    head, sep, rest = text.partition(": ")
    if sep and head.startswith("/") and "\n" not in head:
        text = head.rstrip("/").rsplit("/", 1)[-1] + sep + rest
    return ABSOLUTE_PATH.sub(lambda m: m.group(1), text)
