"""Canvas's and Moodle's CSV grade imports, as their importers read a file, for the tests to read ours.

Canvas: the rules of its GradebookImporter (app/models/gradebook_importer.rb): the header must start
with a column containing "Student" and one containing "ID"; the student columns are 3, plus 2 when
"SIS User ID" is followed by "SIS Login ID" (plus 1 for "Integration ID" after them), plus 1 per
custom column (a header equal to the title of a custom column the course has); the last student
column must contain "Section", else the whole file is refused ("Invalid header row"). What follows
are assignments: `Title (id)` names an existing one by id, a bare title one by title, anything else
becomes a new assignment. A row whose first cell contains "Points Possible" holds the maxima; every
other row is a student, found by the ID column.

Moodle: grade/import/csv's load_data: every column is mapped by the teacher to a user field, a grade
item, the feedback of a grade item, or ignored. A grade cell must be '' or '-' (no grade) or a number,
else the whole import fails ("badgrade"); a feedback cell is any text. Written from their source as
facts; no code of theirs is here.
"""

from __future__ import annotations

import csv
import io
import re

CANVAS_RESERVED = {"Student", "LastName", "FirstName", "ID", "SIS User ID", "SIS Login ID", "Section",
                   "Integration ID", "Root Account"}
CANVAS_NOT_ASSIGNMENTS = re.compile("Current Score|Current Points|Current Grade|Final Score|Final Points|"
                                    "Final Grade|Override Score|Override Grade|Override Status")


class Refused(Exception):
    """The importer would refuse the whole file."""


def read_canvas(text: str, *, assignments: dict[int, str], custom_columns: set[str] = frozenset()) -> dict:
    """What Canvas takes from `text` for a course with `assignments` ({id: title}) and custom columns."""
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    if not (len(header) > 3 and "Student" in header[0] and "ID" in header[1]):
        raise Refused("Invalid header row: Student and ID first")
    custom = [h for h in header if h not in CANVAS_RESERVED and h in custom_columns]
    people = 3
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        people += 1
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        people += 2 + (1 if re.search(r"Integration\s+ID", header[4]) else 0)
    people += len(custom)
    if "Section" not in header[people - (1 + len(custom))]:
        raise Refused(f"Invalid header row: {header[people - (1 + len(custom))]!r} where Section must be")
    columns = [(i, h) for i, h in enumerate(header) if i >= people and not CANVAS_NOT_ASSIGNMENTS.search(h)]
    by_title = {title: aid for aid, title in assignments.items()}
    found, new = {}, []
    for index, name in columns:
        match = re.fullmatch(r"(.*)\s\((\d+)\)", name, flags=re.S)
        aid = int(match.group(2)) if match and int(match.group(2)) in assignments else by_title.get(name)
        if aid is None:
            new.append(name)
            aid = name
        found[index] = aid
    result = {"new_assignments": new, "points": {}, "grades": {}, "custom": {}}
    for row in rows[1:]:
        if "Points Possible" in row[0]:
            result["points"] = {found[i]: row[i] for i in found}
            continue
        if all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c, flags=re.I) for c in row):
            continue
        result["grades"][row[1]] = {found[i]: row[i].strip() for i in found}
        result["custom"][row[1]] = {h: row[header.index(h)] for h in custom}
    return result


def read_moodle(text: str, mapping: dict[str, str]) -> dict[str, dict[str, object]]:
    """{user: {item: grade or feedback}} as Moodle imports `text` with the teacher's `mapping`
    ({header: "user" | "grade:<item>" | "feedback:<item>" | "ignore"}); Refused where Moodle fails."""
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in rows[0]]
    unmapped = [h for h in header if h not in mapping]
    if unmapped:
        raise Refused(f"no mapping for {unmapped}")
    imported: dict[str, dict[str, object]] = {}
    for row in rows[1:]:
        if len(row) <= 1:
            continue
        user, values = None, {}
        for head, value in zip(header, (v.strip() for v in row)):
            kind, _, item = mapping[head].partition(":")
            if kind == "user":
                user = value or None
            elif kind == "grade":
                values[item] = _moodle_grade(value)
            elif kind == "feedback":
                values[f"feedback:{item}"] = value
        if user is None:
            raise Refused("usermappingerrorusernotfound")
        imported[user] = values
    return imported


def _moodle_grade(value: str) -> float | None:
    if value in ("", "-"):
        return None
    try:
        return float(value)
    except ValueError:
        raise Refused(f"badgrade: {value!r}") from None
