"""Checks for test authors: small functions whose failure messages tell a student what to fix.

Each check runs on the judge's side, on values that already crossed the wire as plain numbers. The
order is always the cheapest question first: is it an array, the right shape, the right dtype, finite,
and only then how far off the numbers are, where the worst element sits, and whether the difference
looks like a known mistake (transposed, negated, off by a constant factor, or an author-supplied
"wrong answer" such as the gradient without the bias sum). A check never calls submission code and
never changes the values it is given: it only reads what the proxy already brought back.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping

import numpy as np


class CheckFailed(AssertionError):
    """A check's verdict; its message is written for the student."""


MAX_MEASURED = 8


class Measured:
    """Numbers a test measured of the submission's work, kept in its report (a test result's `measured`):
    the accuracy its network reached, the loss its training ended at. A test asks for the `measured`
    fixture and records into it, or hands it to a check that records (`assert_accuracy`). Record only
    what the submission's own code produced, in the README's terms, never an expected value: the
    student's copy shows these numbers, a hidden test's included."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def record(self, name: str, value: Any) -> float:
        """Keep `value` under `name` (a test author's error, not the student's, raises here)."""
        if not isinstance(name, str) or not 0 < len(name) <= 80:
            raise ValueError(f"a measured value needs a name of 1 to 80 characters, got {name!r}")
        if name not in self.values and len(self.values) >= MAX_MEASURED:
            raise ValueError(f"a test records at most {MAX_MEASURED} measured values")
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"measured value {name!r} must be a number, got {type(value).__name__}")
        self.values[name] = float(value)
        return float(value)


def rel_error(got: Any, expected: Any) -> float:
    """Largest elementwise |got - expected| / max(|got| + |expected|, 1e-8), CS231n's measure."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got.size == 0:
        return 0.0
    return float(np.max(np.abs(got - expected) / np.maximum(1e-8, np.abs(got) + np.abs(expected))))


def assert_array(got: Any, name: str) -> np.ndarray:
    if not isinstance(got, np.ndarray):
        raise CheckFailed(f"{name}: expected a numpy array, got {_kind(got)}")
    return got


def assert_shape(got: Any, shape: tuple[int, ...], name: str = "result") -> None:
    got = assert_array(got, name)
    if got.shape != tuple(shape):
        hint = ""
        if got.ndim == 2 and got.shape == tuple(shape)[::-1]:
            hint = " It looks transposed."
        elif got.ndim == len(shape) + 1 and got.shape[1:] == tuple(shape):
            hint = (" It has one entry per example: should it be summed over the batch axis "
                    "(axis=0)?")
        elif got.size == int(np.prod(shape)):
            hint = " The number of elements is right; check the reshape or the axis order."
        raise CheckFailed(f"{name}: shape {got.shape}, expected {tuple(shape)}.{hint}")


def assert_dtype(got: np.ndarray, dtype: Any, name: str = "result") -> None:
    if got.dtype != np.dtype(dtype):
        raise CheckFailed(f"{name}: dtype {got.dtype}, expected {np.dtype(dtype)}")


def assert_finite(got: np.ndarray, name: str = "result", hints: Mapping[str, Any] | None = None, *,
                  advice: str = "") -> None:
    """Fail unless every value of `got` is finite. `advice` names the mistake that makes these values
    overflow (the student's copy of a hidden test shows it); without it the hint is a generic one."""
    bad = ~np.isfinite(got)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        first = f"first at {list(where)}: {got[where]}" if got.ndim else f"it is {got[()]}"
        hint = _matching_hint(got, hints) or _advice(advice) or \
            "Hint: an overflow in exp, a log of 0 or a division by 0?"
        raise CheckFailed(f"{name}: {int(bad.sum())} of {got.size} values are NaN or infinite ({first}). {hint}")


def assert_close(got: Any, expected: Any, name: str = "result", *, rtol: float = 1e-6, atol: float = 1e-9,
                 dtype: Any = "same", hints: Mapping[str, Any] | None = None, batch_size: int | None = None,
                 advice: str = "") -> None:
    """Fail with a student-facing message unless `got` matches `expected` elementwise.

    `expected` is an array or a number. `dtype="same"` requires the expected dtype exactly, `None`
    accepts any numeric dtype. `hints` maps a message to the value a known mistake would produce; the
    message is shown when `got` matches it. `batch_size`, where the quantity is an average over a
    batch, lets a result off by exactly that factor be named as such. `advice` is the hint shown when
    the values differ and no diagnosis fits: the mistake this check is there to catch.
    """
    if np.ndim(expected) == 0 and not isinstance(expected, np.ndarray):
        _close_scalar(got, expected, name, rtol, atol, hints, batch_size, advice)
        return
    expected = np.asarray(expected)
    got = assert_array(got, name)
    if got.shape != expected.shape:
        hint = _matching_hint(got, hints) if got.dtype.kind in "biuf" else ""
        try:
            assert_shape(got, expected.shape, name)
        except CheckFailed as failure:
            raise CheckFailed(f"{failure} {hint}".strip()) from None
    if dtype == "same":
        assert_dtype(got, expected.dtype, name)
    elif dtype is not None:
        assert_dtype(got, dtype, name)
    elif got.dtype.kind not in "biuf":
        raise CheckFailed(f"{name}: dtype {got.dtype}, expected real numbers")
    assert_finite(got.astype(float), name, hints, advice=advice)
    close = np.isclose(got, expected, rtol=rtol, atol=atol)
    if close.all():
        return
    diff = np.abs(got.astype(float) - expected) / np.maximum(np.abs(expected), atol)
    worst = np.unravel_index(int(np.argmax(np.where(close, -1, diff))), got.shape)
    index = list(int(i) for i in worst)
    message = (f"{name}: {int((~close).sum())} of {got.size} values differ; worst at {index}: "
               f"got {_num(got[worst])}, expected {_num(expected[worst])} "
               f"(relative error {rel_error(got, expected):.1e}).")
    hint = diagnose(got, expected, hints, batch_size=batch_size) or _advice(advice)
    raise CheckFailed(f"{message} {hint}".strip())


def _close_scalar(got: Any, expected: Any, name: str, rtol: float, atol: float,
                  hints: Mapping[str, Any] | None, batch_size: int | None = None, advice: str = "") -> None:
    if isinstance(got, np.ndarray) and got.shape == ():
        got = got[()]
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, float, np.integer, np.floating)):
        raise CheckFailed(f"{name}: expected a number, got {_kind(got)}")
    if not np.isfinite(got):
        raise CheckFailed(f"{name}: got {got}, expected {_num(expected)}. "
                          + (_advice(advice) or "An overflow in exp or a log of 0?"))
    if not np.isclose(got, expected, rtol=rtol, atol=atol):
        hint = diagnose(np.asarray(float(got)), np.asarray(float(expected)), hints, batch_size=batch_size) \
            or _advice(advice)
        raise CheckFailed(f"{name}: got {_num(got)}, expected {_num(expected)} "
                          f"(relative error {rel_error(got, expected):.1e}). {hint}".strip())


def diagnose(got: np.ndarray, expected: np.ndarray, hints: Mapping[str, Any] | None = None, *,
             batch_size: int | None = None) -> str:
    """A sentence naming the known mistake `got` looks like, or ''.

    A constant ratio is stated as the fact it is; a cause is named only where the evidence fits it:
    the batch size only when the caller gives it and the ratio is that size or its inverse.
    """
    hint = _matching_hint(got, hints)
    if hint:
        return hint
    got, expected = got.astype(float), expected.astype(float)
    if got.ndim == 2 and got.shape[0] == got.shape[1] and np.allclose(got, expected.T, rtol=1e-5, atol=1e-8):
        return "Hint: your result is the transpose of the expected one."
    if np.allclose(got, -expected, rtol=1e-5, atol=1e-8):
        return "Hint: your result has the wrong sign."
    scale = _constant_ratio(got, expected)
    if scale is None:
        return ""
    if batch_size and batch_size > 1 and np.isclose(scale, batch_size, rtol=1e-6):
        return (f"Hint: your result is {_num(scale)} times the expected one, the batch size: "
                "a division by the batch size is missing (average, don't sum, over the examples).")
    if batch_size and batch_size > 1 and np.isclose(scale, 1 / batch_size, rtol=1e-6):
        return (f"Hint: your result is 1/{batch_size} of the expected one: it is divided by the batch "
                "size once too often.")
    if got.size == 1:  # one number: a ratio is a fact, not yet a pattern
        return f"Hint: your result is exactly {_num(scale)} times the expected one."
    return (f"Hint: your result is {_num(scale)} times the expected one everywhere: the formula is right "
            "up to a constant factor; look for a factor that is missing or extra.")


def _advice(advice: str) -> str:
    return f"Hint: {advice}" if advice else ""


def _matching_hint(got: np.ndarray, hints: Mapping[str, Any] | None) -> str:
    for message, wrong in (hints or {}).items():
        if wrong is None:  # an author's slip must not silently match a NaN result
            raise TypeError(f"hint {message!r} has no value (None); give the array the mistake produces")
        wrong = np.asarray(wrong, dtype=float)
        if wrong.shape == got.shape and np.allclose(got, wrong, rtol=1e-5, atol=1e-8, equal_nan=True):
            return f"Hint: {message}"
    return ""


def _constant_ratio(got: np.ndarray, expected: np.ndarray) -> float | None:
    mask = np.abs(expected) > 1e-12
    if mask.sum() < 1 or not np.all(np.abs(got[~mask]) < 1e-10):
        return None
    ratios = got[mask] / expected[mask]
    ratio = float(ratios.flat[0])
    if not np.allclose(ratios, ratio, rtol=1e-5) or np.isclose(ratio, 1.0) or ratio == 0:
        return None
    if mask.sum() == 1:
        # Any wrong number is some multiple of the right one; only a whole factor says something.
        factor = max(abs(ratio), 1 / abs(ratio))
        if not (np.isclose(factor, round(factor), rtol=1e-6) and round(factor) >= 2):
            return None
    return ratio


def assert_params(params: Any, shapes: Mapping[str, tuple[int | str, ...]], name: str = "params", *,
                  max_elements: int = 10_000_000) -> dict[str, np.ndarray]:
    """A dict of parameter arrays checked against its contract before the judge computes with it.

    `shapes` maps each required key to its shape; a str in a shape is a size the student chooses (a
    hidden width "H"), which must be the same wherever the name appears. Every array must be real,
    finite and of at most `max_elements` entries: returned parameters that would broadcast into
    something huge inside the judge's own computation are refused here, with a message.
    """
    if not isinstance(params, dict):
        raise CheckFailed(f"{name}: expected a dict of arrays, got {_kind(params)}")
    sizes: dict[str, int] = {}
    for key, shape in shapes.items():
        label = f"{name}[{key!r}]"
        if key not in params:
            raise CheckFailed(f"{name}: the key {key!r} is missing (it has {sorted(map(str, params))[:10]})")
        value = assert_array(params[key], label)
        if value.ndim != len(shape):
            raise CheckFailed(f"{label}: shape {value.shape}, expected {len(shape)} dimensions "
                              f"({_shape_text(shape)})")
        for axis, (got, want) in enumerate(zip(value.shape, shape)):
            if isinstance(want, str):
                want = sizes.setdefault(want, got)
            if got != want:
                raise CheckFailed(f"{label}: shape {value.shape}, expected {_shape_text(shape, sizes)}")
        if value.size > max_elements:
            raise CheckFailed(f"{label}: {value.size} entries, more than the {max_elements} allowed")
        if value.dtype.kind not in "biuf":
            raise CheckFailed(f"{label}: dtype {value.dtype}, expected real numbers")
        assert_finite(value.astype(float), label)
    return {key: params[key] for key in shapes}


def _shape_text(shape: tuple[int | str, ...], sizes: Mapping[str, int] | None = None) -> str:
    parts = [str((sizes or {}).get(d, d)) if isinstance(d, str) else str(d) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def accuracy(predicted: Any, labels: np.ndarray, name: str = "predictions") -> float:
    """Share of `predicted` equal to `labels`; checks the predictions are one integer label per row."""
    predicted = assert_array(predicted, name)
    if predicted.ndim == 2 and predicted.shape[0] == labels.shape[0]:
        raise CheckFailed(f"{name}: shape {predicted.shape}, expected {labels.shape}. Hint: these look like "
                          "class scores; return one label per example (argmax over the class axis)")
    assert_shape(predicted, labels.shape, name)
    if predicted.dtype.kind not in "iu":
        raise CheckFailed(f"{name}: dtype {predicted.dtype}, expected integer class labels. "
                          "Hint: use argmax over the class axis")
    return float(np.mean(predicted == labels))


def assert_accuracy(predicted: Any, labels: np.ndarray, at_least: float,
                    name: str = "predictions", *, measured: Measured | None = None) -> float:
    """The accuracy of `predicted`, which must reach `at_least`; recorded in `measured` (as
    `accuracy of <name>`) whether it does or not."""
    acc = _measure_accuracy(predicted, labels, name, measured)
    if not acc >= at_least:
        raise CheckFailed(f"{name}: accuracy {acc:.2%} on {labels.size} held-out examples, "
                          f"needs at least {at_least:.2%}")
    return acc


def assert_accuracy_explained(predicted: Any, labels: np.ndarray, at_least: float, name: str, *,
                              train_predictions: Callable[[], Any], train_labels: np.ndarray,
                              measured: Measured | None = None) -> float:
    """`assert_accuracy`, and on a shortfall the accuracy on training data (asked for only then) tells
    underfitting from overfitting in the message (see `fit_diagnosis`)."""
    acc = _measure_accuracy(predicted, labels, name, measured)  # malformed predictions fail here
    if acc >= at_least:
        return acc
    try:
        why = fit_diagnosis(accuracy(train_predictions(), train_labels, "predictions on training digits"), acc,
                            at_least)
    except CheckFailed:
        why = ""
    raise CheckFailed(f"{name}: accuracy {acc:.2%} on {labels.size} held-out examples, needs at least "
                      f"{at_least:.2%}. {why}".strip())


def _measure_accuracy(predicted: Any, labels: np.ndarray, name: str, measured: Measured | None) -> float:
    acc = accuracy(predicted, labels, name)
    if measured is not None:
        measured.record(f"accuracy of {name}"[:80], round(acc, 6))
    return acc


def fit_diagnosis(train_accuracy: float, held_out_accuracy: float, at_least: float) -> str:
    """What a too-low held-out accuracy says, given the accuracy on the training data itself: a network
    that is poor on what it was trained on underfits (training stopped improving too early); one that is
    good there and poor elsewhere overfits. '' when neither fits the evidence."""
    if train_accuracy < at_least:
        return (f"On its own training digits it reaches only {train_accuracy:.1%}: the network underfits, so "
                "training stopped improving too early. A learning rate decayed too fast (every batch instead "
                "of every epoch?), too small a step, or too few epochs?")
    if held_out_accuracy < at_least and train_accuracy - held_out_accuracy > 0.03:
        return (f"On its own training digits it reaches {train_accuracy:.1%}: the network overfits, it "
                "memorises the training digits. Fewer epochs, regularisation or dropout?")
    return ""


def assert_raises(error_type: str, function: Any, *args: Any, **kwargs: Any) -> None:
    """The submission's `function(*args)` must raise an exception named `error_type`."""
    from grader.judge.verdicts import StudentError

    try:
        function(*args, **kwargs)
    except StudentError as exc:
        if exc.type_name == error_type:
            return
        raise CheckFailed(f"expected {error_type}, but it raised {exc.type_name}: {exc.detail}") from None
    raise CheckFailed(f"expected {error_type} to be raised, but the call returned normally")


@contextmanager
def assert_all() -> Iterator[Callable[..., None]]:
    """Several checks with one verdict: `with assert_all() as check: check(assert_close, dw, ..., name="dw")`
    runs every check given and then fails once with all their messages, so a student whose dw and db
    are both wrong reads both at once, not db only after fixing dw. A check's own failure is collected;
    The same message twice is read once (a wrong forward pass blamed by each input's gradient check);
    anything else (the student's code raising inside a gradient check) ends the block as usual.
    """
    failures: list[str] = []
    count = 0

    def check(function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        nonlocal count
        count += 1
        try:
            function(*args, **kwargs)
        except AssertionError as exc:  # CheckFailed, or a plain assert in the check
            failures.append(str(exc))

    yield check
    failures = list(dict.fromkeys(failures))  # gradient checks of one forward blame it once, not per input
    if len(failures) == 1:
        raise CheckFailed(failures[0])
    if failures:
        raise CheckFailed(f"{len(failures)} of {count} checks failed:\n" + "\n".join(f"- {m}" for m in failures))


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a value of type {type(value).__name__}"


def _num(x: Any) -> str:
    return f"{float(x):.6g}"
