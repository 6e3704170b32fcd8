"""What a student's copy shows of a hidden test: its function's name and its hint, never its values.

A hidden test's message holds what the student must not see (its inputs, the expected values, what the
code returned for them); its parametrize id can hold them too (`test_pool[31-3-2-1-16]`). The student's
copy shows instead the quantity that is wrong and the named mistake: the `name: ...` head of a message
of grader.judge.checks (the author's name for the quantity, with what kind of check failed but none of
its numbers), the value-free sentences those checks add, and the `Hint: ...` sentence (author hints and
the judge's own diagnoses), with any number a diagnosis computed from the hidden values taken out, and
the judge's in-place mutation verdict without the argument names (the runner reports those, and the
runner runs the student's code, so they could carry a hidden input). Only failures (`failed`) are
looked into: an error's message quotes the student's own exception text, which could carry anything.
Pure functions over strings; the instructor's copy never goes through here.
"""

from __future__ import annotations

import re

HIDDEN_MESSAGE = "Hidden test: its details are not shown."
HINT_PREFIX = "Hidden test (its inputs and values are not shown): "
MAX_HINT = 400
_HINT = re.compile(r"(?:^|(?<=[\s.?!)]))Hint: ")
# The head of a grader.judge.checks message, `name: what failed`, and what the student's copy says of it.
_NAME = r"(?P<name>[^\n:]{1,60}?)"
_HEADS = (
    (re.compile(_NAME + r": \d+ of \d+ values differ; "), "{name}: some values differ from the expected ones."),
    (re.compile(_NAME + r": got \S+, expected \S+ \(relative error "), "{name}: the value is not the expected one."),
    (re.compile(_NAME + r": shape \([\d, ]*\), expected \([\d, ]*\)\."), "{name}: the shape is wrong."),
    (re.compile(_NAME + r": \d+ of \d+ values are NaN or infinite "), "{name}: some values are NaN or infinite."),
    (re.compile(_NAME + r": dtype (\w+), expected (\w+)$"), "{name}: dtype {1}, expected {2}."),
    (re.compile(_NAME + r": dtype (\w+), expected integer class labels\."),
     "{name}: dtype {1}, expected integer class labels."),
    (re.compile(_NAME + r": got (?:nan|-?inf), expected \S+\. "), "{name}: it is NaN or infinite."),
    (re.compile(_NAME + r": expected a numpy array, got "), "{name}: expected a numpy array."),
    (re.compile(_NAME + r": relative error \S+ against the numerical gradient "),
     "{name}: it does not match the numerical gradient."),
    # The student's own accuracy and the bar (both in the README's terms), not a hidden value.
    (re.compile(_NAME + r": (accuracy [\d.]+% on \d+ held-out examples, needs at least [\d.]+%)"),
     "{name}: {1}."),
)
# grader.judge.gradcheck.check_forward_value's blame: which forward value to fix first.
_BLAME = re.compile(r"[A-Z][^.\n]{0,80} is wrong at the gradient check's inputs, so the gradient check of "
                    r"[^.\n]{1,80} cannot be trusted yet: fix [^.\n]{1,80} first\.")
# Sentences grader.judge.checks.assert_shape adds: they name a mistake and carry no value.
_SENTENCES = ("It looks transposed.", "It has one entry per example: should it be summed over the batch "
              "axis (axis=0)?", "The number of elements is right; check the reshape or the axis order.")
_PARAMS = re.compile(r"\[[^\[\]]*\]$")
# grader.judge.checks.assert_all's verdict on several failed checks: each `- ` item is read on its own.
_SEVERAL = re.compile(r"^\d+ of \d+ checks failed:\n- ")
# grader.judge.verdicts.MutatedArgument's message, whose argument names came from the runner.
_MUTATION = re.compile(r"^(\w+\(\)) changed its arguments? .* in place; return new arrays instead, "
                       r"the caller's data must stay as it was$", re.S)
# grader.judge.checks.diagnose's sentences that state a ratio of the student's value to the hidden
# expected one: a student who knows what their code returned would learn the expected value from it.
_RATIOS = (
    (re.compile(r"^Hint: your result is \S+ times the expected one, the batch size: (.*)$", re.S),
     r"Hint: your result is the batch size times the expected one: \1"),
    (re.compile(r"^Hint: your result is 1/\S+ of the expected one: (.*)$", re.S),
     r"Hint: your result is the expected one divided by the batch size: \1"),
    (re.compile(r"^Hint: your result is exactly \S+ times the expected one\.$"),
     "Hint: your result is a constant multiple of the expected one."),
    (re.compile(r"^Hint: your result is \S+ times the expected one everywhere: (.*)$", re.S),
     r"Hint: your result is a constant multiple of the expected one everywhere: \1"),
)


def student_hint(test: dict) -> str:
    """The hint of a hidden test's failure that a student may read, or '' when it has none."""
    if test.get("status") != "failed":
        return ""
    message = str(test.get("message") or "")
    several = _SEVERAL.match(message)
    parts = [_one_hint(m) for m in message[several.end():].split("\n- ")] if several else [_one_hint(message)]
    text = " ".join(p for p in parts if p)
    if len(text) > MAX_HINT:
        text = text[:MAX_HINT].rsplit(" ", 1)[0] + " ..."
    return text


def _one_hint(message: str) -> str:
    mutation = _MUTATION.match(message)
    if mutation:
        return (f"{mutation.group(1)} changed an argument in place; return new arrays instead, the "
                "caller's data must stay as it was")
    blame = _BLAME.search(message)
    parts = [_head(message), *[s for s in _SENTENCES if s in message], blame.group(0) if blame else "",
             _hint(message)]
    return " ".join(p for p in parts if p)


def _head(message: str) -> str:
    first = message.splitlines()[0] if message else ""
    for pattern, text in _HEADS:
        match = pattern.match(first)
        if match and match.group("name").isprintable():
            return text.format(*match.groups(), name=match.group("name"))
    return ""


def _hint(message: str) -> str:
    found = list(_HINT.finditer(message))
    if not found:
        return ""
    hint = message[found[-1].start():].strip()
    for pattern, replacement in _RATIOS:
        hint = pattern.sub(replacement, hint)
    return hint


def student_message(test: dict) -> str:
    """What the student's copy says of a hidden test that lost points."""
    hint = student_hint(test)
    return HINT_PREFIX + hint if hint else HIDDEN_MESSAGE


def student_name(name: str) -> str:
    """A hidden test's name without its parametrize id: `f.py::test_pool[31-3-2]` -> `f.py::test_pool`."""
    return _PARAMS.sub("", name)


def student_names(tests: list[dict]) -> list[str]:
    """Each test's name as the student's copy shows it: hidden cases of one function numbered 1, 2, ..."""
    counts: dict[str, int] = {}
    for test in tests:
        if test["visibility"] == "hidden" and _PARAMS.search(test["name"]):
            base = student_name(test["name"])
            counts[base] = counts.get(base, 0) + 1
    seen: dict[str, int] = {}
    names = []
    for test in tests:
        base = student_name(test["name"])
        if test["visibility"] != "hidden" or base == test["name"]:
            names.append(test["name"])
            continue
        seen[base] = seen.get(base, 0) + 1
        names.append(f"{base} (case {seen[base]} of {counts[base]})")
    return names
