"""Ingest: any submission (a zip, a tarball, a folder, a notebook, a git repository) becomes a safe,
capped workspace of plain files. `workspace` is the entry point; `notebook` and `git` read the two
formats that need more than unpacking.

Nothing here imports, executes or unpickles the submission, and nothing here knows a test or a score:
a bad submission is a SubmissionError naming the file and the limit, never a grade.
"""
