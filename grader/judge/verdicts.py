"""What can end a test other than its own assertions, each mapped to a report status.

These derive from BaseException so that a test's broad `except Exception` cannot swallow them; the
session also remembers the verdict of the running test, so even a swallowed one still counts. A
verdict carries a reason for the report and never a score of its own.
"""

from __future__ import annotations

from grader.runtime import wire


class Verdict(BaseException):
    status = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotRun(Verdict):
    """The test could not reach the submission at all (import failed, function missing, budget spent)."""

    status = "not_run"


class CallTimeout(Verdict):
    status = "timeout"


class RunnerDied(Verdict):
    """The runner process ended during a call (crash, os._exit, memory or process limit)."""


class BadValue(Verdict):
    """The runner answered with something the protocol refuses (too big, a forbidden dtype, ...)."""


class JudgeLimit(Verdict):
    """The judge's own check of what the submission returned ran past the judge's CPU or memory limit
    (e.g. arrays that broadcast into something huge): that test's failure, never an infra_error."""


class MutatedArgument(Verdict):
    """The student's function changed an argument the caller passed, in place (the runner saw it)."""

    status = "failed"

    def __init__(self, function: str, arguments: list[str]) -> None:
        self.arguments = arguments
        names = ", ".join(f"`{a}`" for a in arguments)
        noun = "argument" if len(arguments) == 1 else "arguments"
        super().__init__(f"{function} changed its {noun} {names} in place; return new arrays instead, "
                         "the caller's data must stay as it was")


class StudentError(Verdict):
    """The student's code raised. `type_name` lets a test expect a particular exception."""

    def __init__(self, function: str, error: dict) -> None:
        self.type_name = str(error.get("type", "Exception"))
        self.detail = str(error.get("message", ""))
        self.traceback = str(error.get("traceback", ""))
        where = _last_frame(self.traceback)
        if self.type_name == "NotImplementedError":
            text = f"{function} is not implemented yet (it raised NotImplementedError)"
        elif self.type_name == wire.UNSENDABLE:
            text = f"{function} returned a value the grader cannot take: {self.detail}"
        else:
            text = f"{function} raised {self.type_name}: {self.detail}{where}"
        super().__init__(text)


def _last_frame(traceback: str) -> str:
    """' (layers.py, line 12)' from the last student frame of a formatted traceback, or ''."""
    lines = [line.strip() for line in traceback.splitlines() if line.strip().startswith("File ")]
    if not lines:
        return ""
    parts = lines[-1].split('"')
    if len(parts) < 3:
        return ""
    name = parts[1].rsplit("/", 1)[-1]
    line = parts[2].split(",")[1].strip() if "," in parts[2] else ""
    return f" ({name}, {line})" if line else f" ({name})"
