"""Numerical gradients by central differences, and the CS231n-style comparison with an analytic one.

The function being differentiated may be a proxy call into the runner (a student's forward pass) or a
reference function: `numeric_gradient` only ever calls it with arrays and reads back numbers.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from grader.judge.checks import CheckFailed, assert_array, assert_finite, assert_shape

# Relative errors of a correct float64 backward pass are ~1e-7 or below (a little more near the kinks of
# ReLU); a wrong one is ~1e-2 or worse.
DEFAULT_THRESHOLD = 1e-5


def numeric_gradient(f: Callable[[np.ndarray], Any], x: np.ndarray, upstream: np.ndarray | None = None,
                     h: float = 1e-5) -> np.ndarray:
    """d(sum(f(x) * upstream))/dx at x, one element at a time. `f` must not change `x` itself."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        old = x[index]
        x[index] = old + h
        plus = np.asarray(f(x.copy()), dtype=float)
        x[index] = old - h
        minus = np.asarray(f(x.copy()), dtype=float)
        x[index] = old
        weights = 1.0 if upstream is None else upstream
        grad[index] = np.sum((plus - minus) * weights) / (2 * h)
    return grad


def gradient_error(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    """Elementwise |a - n| / (|a| + |n|), CS231n's relative error, with a floor at 1e-4 of the largest
    entry: in an element ten thousand times smaller than the rest, the numerical gradient is mostly
    rounding noise (about 1e-11 absolute with h = 1e-5), which must not fail a correct backward pass."""
    analytic, numeric = analytic.astype(float), numeric.astype(float)
    scale = max(float(np.max(np.abs(analytic), initial=0)), float(np.max(np.abs(numeric), initial=0)))
    return np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-4 * scale + 1e-8)


def assert_gradient(analytic: Any, numeric: np.ndarray, name: str = "gradient", *,
                    threshold: float = DEFAULT_THRESHOLD, hints: dict[str, Any] | None = None) -> None:
    """The analytic gradient must agree with the numerical one to `threshold` relative error."""
    from grader.judge.checks import diagnose

    analytic = assert_array(analytic, name)
    assert_shape(analytic, numeric.shape, name)
    assert_finite(analytic.astype(float), name)
    errors = gradient_error(analytic, numeric)
    err = float(errors.max(initial=0))
    if err > threshold:
        worst = np.unravel_index(int(np.argmax(errors)), numeric.shape)
        hint = diagnose(analytic, numeric, hints)
        raise CheckFailed(
            f"{name}: relative error {err:.1e} against the numerical gradient (needs < {threshold:.0e}); "
            f"worst at {[int(i) for i in worst]}: got {float(analytic[worst]):.6g}, numerical "
            f"{float(numeric[worst]):.6g}. {hint}".strip())
