"""Errors that say whose fault a failure is.

A `SubmissionError` is the student's (bad archive, missing file): the report says `invalid_submission`.
An `InfrastructureError` is ours (no engine, runner protocol bug): the report says `infra_error` and
never carries a score, so a broken grader can never hand out zeros.
"""


class GraderError(Exception):
    """Base of every error the grader raises on purpose."""


class SpecError(GraderError):
    """An assignment's own files are wrong (assignment.toml, tests, points). The author's fault."""


class SubmissionError(GraderError):
    """The submission cannot be graded as given: the student's fault."""


class InfrastructureError(GraderError):
    """The grader or its sandbox failed: never the student's fault, never a zero."""
