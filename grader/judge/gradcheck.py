"""Numerical gradients by central differences, and the CS231n-style comparison with an analytic one.

The function being differentiated may be a proxy call into the runner (a student's forward pass), one
that describes such a call (`lambda v: submission.lazy.Affine(v, b).forward(x)`: all the perturbed calls
then go in one exchange), or a reference function: `numeric_gradient` only ever calls it with arrays and
reads back numbers, and checks each result's shape before it computes with it.

A gradient check against the student's own forward pass proves only that forward and backward agree:
zeros from both agree perfectly. `check_gradient` therefore first compares the forward value at the
checked point with the expected one (the reference's, or a number the public test states) and, when
it differs, blames the forward ("your loss is wrong, so the gradient check cannot be trusted yet"),
never the gradient. `partial` builds the one-input function a check needs, instead of a lambda per
input.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from grader.judge.checks import CheckFailed, assert_array, assert_close, assert_finite, assert_shape
from grader.judge.proxy import Lazy, evaluate, evaluate_many

# Relative errors of a correct float64 backward pass are ~1e-7 or below (a little more near the kinks of
# ReLU); a wrong one is ~1e-2 or worse.
DEFAULT_THRESHOLD = 1e-5


def numeric_gradient(f: Callable[[np.ndarray], Any], x: np.ndarray, upstream: np.ndarray | None = None,
                     h: float = 1e-5) -> np.ndarray:
    """d(sum(f(x) * upstream))/dx at x, one element at a time. `f` must not change `x` itself.

    A submission's function (`submission.name`, or `partial` over one) gets all its perturbed inputs
    at once (`many`): the runner answers them back to back instead of one round trip each, with the
    same inputs in the same order, so the same values."""
    x = np.array(x, dtype=np.float64)
    shape = () if upstream is None else np.shape(upstream)
    weights = 1.0 if upstream is None else upstream
    indices = list(np.ndindex(*x.shape))
    many = _many(f)
    points = (_moved(x, index, step) for index in indices for step in (h, -h))
    if many is not None:
        outputs = many(points, lambda value: _output(value, shape))
    else:
        outputs = _outputs(f, points, shape)
    grad = np.zeros_like(x)
    for k, index in enumerate(indices):
        grad[index] = np.sum((outputs[2 * k] - outputs[2 * k + 1]) * weights) / (2 * h)
    return grad


def _outputs(f: Callable[[np.ndarray], Any], points: Iterator[np.ndarray],
             shape: tuple[int, ...]) -> list[np.ndarray]:
    """f at each point, one at a time (each output checked before the next call), or, where f describes
    its call instead of making it (submission.lazy), all described first and made in one exchange."""
    first = next(points, None)
    if first is None:
        return []
    value = f(first)
    if isinstance(value, Lazy):
        return evaluate_many([value, *(f(point) for point in points)], lambda got: _output(got, shape))
    outputs = [_output(value, shape)]
    for point in points:
        outputs.append(_output(f(point), shape))
    return outputs


def _moved(x: np.ndarray, index: tuple[int, ...], step: float) -> np.ndarray:
    moved = x.copy()
    moved[index] = x[index] + step
    return moved


def _many(f: Callable[..., Any]) -> Callable[[Iterable[np.ndarray], Callable[[Any], Any]], list] | None:
    """`f` over many inputs at once, where `f` is a submission function (grader.judge.proxy's
    ProxyFunction, looked up on the type: a handle's attributes are read in the runner) or a
    `partial` over one; None for any other function."""
    if isinstance(f, Partial):
        return f.many if _many(f.f) is not None else None
    if not callable(getattr(type(f), "many", None)):
        return None
    return lambda values, then: f.many(((value,) for value in values), then)


def _output(value: Any, shape: tuple[int, ...], name: str = "the function's output") -> np.ndarray:
    """`value` as floats, refused unless it has `shape` (checked before any arithmetic with it, so a
    returned array that would broadcast into something huge never reaches the judge's numpy)."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if shape == ():
        number = isinstance(value, (int, float, np.integer, np.floating))
        if isinstance(value, (bool, np.bool_)) or not number:
            what = f"shape {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
            raise CheckFailed(f"{name}: expected a number, got {what}")
        return np.asarray(float(value))
    got = assert_array(value, name)
    assert_shape(got, shape, name)
    if got.dtype.kind not in "biuf":
        raise CheckFailed(f"{name}: dtype {got.dtype}, expected real numbers")
    return got.astype(float)


def partial(f: Callable[..., Any], args: Sequence[Any], at: int, key: str | None = None,
            pick: int | None = None) -> Partial:
    """`f` as a function of one input, the others fixed: `args[at]` replaced by the argument (or
    `args[at][key]` when that argument is a dict of parameters). `pick` selects one item of a tuple
    result (e.g. 0 for the loss of `(loss, grads)`)."""
    return Partial(f, tuple(args), at, key, pick)


class Partial:
    """What `partial` makes: callable with the one input, and `many` for a submission's function."""

    def __init__(self, f: Callable[..., Any], args: tuple, at: int, key: str | None, pick: int | None) -> None:
        self.f, self.args, self.at, self.key, self.pick = f, args, at, key, pick

    def __call__(self, value: np.ndarray) -> Any:
        return self._picked(self.f(*self._arguments(value)))

    def many(self, values: Iterable[np.ndarray], then: Callable[[Any], Any]) -> list[Any]:
        """`[then(self(v)) for v in values]`, through `f.many` (see numeric_gradient)."""
        return self.f.many((self._arguments(v) for v in values), lambda result: then(self._picked(result)))

    def _arguments(self, value: np.ndarray) -> tuple:
        call = list(self.args)
        call[self.at] = value if self.key is None else {**call[self.at], self.key: value}
        return tuple(call)

    def _picked(self, result: Any) -> Any:
        if self.pick is None:
            return result
        if not isinstance(result, (tuple, list)) or len(result) <= self.pick:
            raise CheckFailed(f"expected a tuple with at least {self.pick + 1} items, got "
                              f"{type(result).__name__}")
        return result[self.pick]


def check_forward_value(value: Any, expected: Any, *, what: str, then: str,
                        upstream: np.ndarray | None = None, rtol: float = 1e-6) -> None:
    """The forward value at the gradient check's inputs must be right before the check means anything.

    `expected` is the reference's value there (same shape as `value`), or, with `upstream`, the single
    number sum(value * upstream) a public test can state. A wrong value is blamed on `what`.
    """
    blame = (f"{what[:1].upper()}{what[1:]} is wrong at the gradient check's inputs, so the gradient "
             f"check of {then} cannot be trusted yet: fix {what} first.")
    shape = () if upstream is None else np.shape(upstream)
    try:
        got = _output(value, shape, what)
        if upstream is not None and np.ndim(expected) == 0:
            got, label = float(np.sum(got * upstream)), f"sum({what} * upstream)"
        else:
            label = what
        assert_close(got, expected if np.ndim(expected) else float(expected), name=label, rtol=rtol,
                     atol=1e-9, dtype=None)
    except CheckFailed as failure:
        raise CheckFailed(f"{str(failure).rstrip('.')}. {blame}") from None


def check_gradient(analytic: Any, f: Callable[[np.ndarray], Any], x: np.ndarray, name: str, *,
                   expected_value: Any = None, what: str = "the forward pass",
                   upstream: np.ndarray | None = None, reference: Callable[[np.ndarray], Any] | None = None,
                   threshold: float = DEFAULT_THRESHOLD, hints: dict[str, Any] | None = None,
                   batch_size: int | None = None) -> None:
    """A gradient check that blames the right function.

    `f` is the student's forward as a function of `x` (see `partial`). With `expected_value`, f(x) is
    checked first (see `check_forward_value`); with `reference`, the numerical gradient is the
    reference's, otherwise it is f's. `upstream` weights an array output (d sum(f(x) * upstream)/dx).
    """
    if expected_value is not None:
        check_forward_value(evaluate(f(np.array(x, dtype=float))), expected_value, what=what, then=name,
                            upstream=upstream)
    numeric = numeric_gradient(reference or f, x, upstream)
    assert_gradient(analytic, numeric, name, threshold=threshold, hints=hints, batch_size=batch_size)


def gradient_error(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    """Elementwise |a - n| / (|a| + |n|), CS231n's relative error, with a floor at 1e-4 of the largest
    entry: in an element ten thousand times smaller than the rest, the numerical gradient is mostly
    rounding noise (about 1e-11 absolute with h = 1e-5), which must not fail a correct backward pass."""
    analytic, numeric = analytic.astype(float), numeric.astype(float)
    scale = max(float(np.max(np.abs(analytic), initial=0)), float(np.max(np.abs(numeric), initial=0)))
    return np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-4 * scale + 1e-8)


def assert_gradient(analytic: Any, numeric: np.ndarray, name: str = "gradient", *,
                    threshold: float = DEFAULT_THRESHOLD, hints: dict[str, Any] | None = None,
                    batch_size: int | None = None) -> None:
    """The analytic gradient must agree with the numerical one to `threshold` relative error."""
    from grader.judge.checks import diagnose

    analytic = assert_array(analytic, name)
    assert_shape(analytic, numeric.shape, name)
    assert_finite(analytic.astype(float), name)
    errors = gradient_error(analytic, numeric)
    err = float(errors.max(initial=0))
    if err > threshold:
        worst = np.unravel_index(int(np.argmax(errors)), numeric.shape)
        hint = diagnose(analytic, numeric, hints, batch_size=batch_size)
        raise CheckFailed(
            f"{name}: relative error {err:.1e} against the numerical gradient (needs < {threshold:.0e}); "
            f"worst at {[int(i) for i in worst]}: got {float(analytic[worst]):.6g}, numerical "
            f"{float(numeric[worst]):.6g}. {hint}".strip())
