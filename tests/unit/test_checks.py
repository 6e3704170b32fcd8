"""The checks library: right answers pass, wrong ones fail with a message that names the mistake."""

import numpy as np
import pytest

from grader.judge.checks import (CheckFailed, accuracy, assert_accuracy, assert_close, assert_shape,
                                 rel_error)
from grader.judge.gradcheck import assert_gradient, numeric_gradient


def fails(match, fn, *args, **kwargs):
    with pytest.raises(CheckFailed) as info:
        fn(*args, **kwargs)
    assert match in str(info.value), str(info.value)
    return str(info.value)


def test_equal_arrays_pass():
    x = np.random.default_rng(0).normal(size=(3, 4))
    assert_close(x.copy(), x, name="x")
    assert_close(1.0 + 1e-12, 1.0, name="loss")


def test_not_an_array_shape_dtype_nan():
    fails("expected a numpy array, got a value of type list", assert_close, [1.0], np.ones(1))
    fails("shape (4, 3), expected (3, 4). It looks transposed", assert_close, np.ones((4, 3)), np.ones((3, 4)))
    fails("dtype float32, expected float64", assert_close, np.ones(2, np.float32), np.ones(2))
    fails("NaN or infinite", assert_close, np.array([1.0, np.nan]), np.ones(2))
    fails("Hint: kept the NaN", assert_close, np.array([1.0, np.nan]), np.ones(2), hints={"kept the NaN": [1.0, np.nan]})
    fails("expected a number", assert_close, "1.0", 1.0)
    fails("expected a number", assert_close, True, 1.0)


def test_worst_element_and_relative_error():
    expected = np.arange(6.0).reshape(2, 3)
    got = expected.copy()
    got[1, 2] += 1.0
    message = fails("1 of 6 values differ; worst at [1, 2]: got 6, expected 5", assert_close, got, expected, name="dW")
    assert message.startswith("dW:") and "relative error" in message


def test_known_mistakes_are_named():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(4, 4))
    fails("transpose", assert_close, w.T, w)
    fails("wrong sign", assert_close, -w, w)
    fails("0.25 times the expected", assert_close, w / 4, w)
    fails("summed over the batch axis", assert_shape, np.ones((8, 5)), (5,), "db")
    fails("Hint: forgot the bias", assert_close, w + 1, w + 2, hints={"forgot the bias": w + 1})


def test_scalar_ratio_hint_only_for_whole_factors():
    """One wrong number is always some multiple of the right one; only a whole factor is a clue."""
    fails("0.5 times the expected", assert_close, 1.5, 3.0, name="loss")
    message = fails("loss: got 1.3", assert_close, 1.3, 1.0, name="loss")
    assert "times the expected" not in message


def test_a_hint_without_a_value_is_an_author_error():
    with pytest.raises(TypeError, match="hint 'typo' has no value"):
        assert_close(np.array([np.nan]), np.ones(1), hints={"typo": None})


def test_gradient_check_accepts_right_and_rejects_wrong():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4))
    f = lambda v: np.tanh(v) * 2  # noqa: E731
    numeric = numeric_gradient(f, x, upstream=np.ones_like(x))
    assert_gradient(2 * (1 - np.tanh(x) ** 2), numeric, "dx")
    fails("relative error", assert_gradient, 1 - np.tanh(x), numeric, "dx")
    assert rel_error(numeric, numeric) == 0.0


def test_accuracy():
    labels = np.array([0, 1, 2, 3])
    assert accuracy(np.array([0, 1, 2, 0]), labels) == 0.75
    fails("integer class labels", accuracy, np.array([0.0, 1, 2, 3]), labels)
    fails("accuracy 75.00% on 4 held-out examples, needs at least 90.00%", assert_accuracy,
          np.array([0, 1, 2, 0]), labels, 0.9)
