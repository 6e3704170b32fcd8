"""The checks library: right answers pass, wrong ones fail with a message that names the mistake."""

import numpy as np
import pytest

from grader.judge.checks import (CheckFailed, accuracy, assert_all, assert_accuracy, assert_close, assert_params,
                                 assert_shape, rel_error)
from grader.judge.gradcheck import assert_gradient, check_gradient, numeric_gradient, partial


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


@pytest.mark.parametrize("ratio", [0.99, 0.5, 9.0, 2.0])
def test_a_constant_ratio_is_stated_not_blamed_on_the_batch_size(ratio):
    w = np.random.default_rng(2).normal(size=(3, 5))
    message = fails(f"{ratio:g} times the expected one everywhere", assert_close, w * ratio, w)
    assert "batch size" not in message and "factor of 2" not in message


def test_the_batch_size_is_named_only_when_it_is_the_ratio():
    w = np.random.default_rng(3).normal(size=(3, 5))
    fails("a division by the batch size is missing", assert_close, w * 8, w, batch_size=8)
    fails("divided by the batch size once too often", assert_close, w / 8, w, batch_size=8)
    assert "batch size" not in fails("times the expected", assert_close, w * 9, w, batch_size=8)


def affine(x, w, b):
    return x @ w + b


def test_check_gradient_blames_a_wrong_forward_not_the_gradient():
    """Zeros from forward and backward agree with each other; the stated forward value tells them apart."""
    rng = np.random.default_rng(4)
    x, w, b, dout = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(2, 4))
    right = float(np.sum(affine(x, w, b) * dout))
    check_gradient(x.T @ dout, partial(affine, (x, w, b), 1), w, "dw", upstream=dout, expected_value=right,
                   what="affine()")
    zeros = partial(lambda x, w, b: np.zeros((2, 4)), (x, w, b), 1)
    check_gradient(np.zeros_like(w), zeros, w, "dw", upstream=dout)  # self-consistent: why it is not enough
    message = fails("Affine() is wrong at the gradient check's inputs, so the gradient check of dw cannot be "
                    "trusted yet", check_gradient, x.T @ dout, zeros, w, "dw", upstream=dout,
                    expected_value=right, what="affine()")
    assert "relative error" in message and "against the numerical gradient" not in message
    fails("dw: relative error", check_gradient, np.zeros_like(w), partial(affine, (x, w, b), 1), w, "dw",
          upstream=dout, expected_value=right, what="affine()")


def test_check_gradient_against_the_reference_and_a_scalar_loss():
    rng = np.random.default_rng(5)
    params, X = {"W": rng.normal(size=(3, 2))}, rng.normal(size=(4, 3))

    def loss(params, X):
        return float(np.sum((X @ params["W"]) ** 2)), None

    grad = 2 * X.T @ (X @ params["W"])
    check_gradient(grad, partial(loss, (params, X), 0, "W", pick=0), params["W"], "dW",
                   expected_value=loss(params, X)[0], what="the loss")
    wrong = partial(lambda p, X: (2 * loss(p, X)[0], None), (params, X), 0, "W", pick=0)
    fails("The loss is wrong", check_gradient, 2 * grad, wrong, params["W"], "dW",
          expected_value=loss(params, X)[0], what="the loss")
    # With the reference's forward, the student's own (wrong) forward cannot vouch for the gradient.
    fails("dW: relative error", check_gradient, 2 * grad, wrong, params["W"], "dW",
          reference=partial(loss, (params, X), 0, "W", pick=0))


def test_numeric_gradient_refuses_an_output_that_would_broadcast():
    x, dout = np.ones((2, 3)), np.ones((2, 3))
    fails("shape (1000, 2, 3), expected (2, 3)", numeric_gradient, lambda v: np.ones((1000, 1, 1)) * v, x, dout)
    fails("expected a number", numeric_gradient, lambda v: np.ones(3), x)


def test_assert_params_checks_the_contract_before_any_computation():
    shapes = {"W1": (2, "H"), "b1": ("H",), "W2": ("H", 2), "b2": (2,)}
    good = {"W1": np.ones((2, 5)), "b1": np.ones(5), "W2": np.ones((5, 2)), "b2": np.ones(2), "extra": 1}
    assert set(assert_params(good, shapes)) == set(shapes)
    fails("params['b1']: shape (20000, 1, 1), expected 1 dimensions ((H,))", assert_params,
          {**good, "b1": np.ones((20000, 1, 1))}, shapes)
    fails("params['W2']: shape (4, 2), expected (5, 2)", assert_params, {**good, "W2": np.ones((4, 2))}, shapes)
    fails("the key 'b2' is missing", assert_params, {k: v for k, v in good.items() if k != "b2"}, shapes)
    fails("expected a dict of arrays", assert_params, [1.0] * 3, shapes)
    fails("more than the 100 allowed", assert_params, {**good, "W1": np.ones((2, 500)), "b1": np.ones(500),
                                                      "W2": np.ones((500, 2))}, shapes, max_elements=100)
    fails("NaN or infinite", assert_params, {**good, "b2": np.array([1.0, np.nan])}, shapes)


def test_an_accuracy_shortfall_says_underfit_or_overfit_from_the_training_accuracy():
    from grader.judge.checks import assert_accuracy_explained

    labels = np.arange(100) % 10
    held = labels.copy()
    held[:10] = (held[:10] + 1) % 10  # 90% on held-out data
    assert fails("the network underfits", assert_accuracy_explained, held, labels, 0.95, "net",
                 train_predictions=lambda: held, train_labels=labels).startswith("net: accuracy 90.00%")
    fails("the network overfits", assert_accuracy_explained, held, labels, 0.95, "net",
          train_predictions=lambda: labels, train_labels=labels)
    message = fails("accuracy 90.00%", assert_accuracy_explained, held, labels, 0.95, "net",
                    train_predictions=lambda: "not labels", train_labels=labels)
    assert "fits" not in message
    assert assert_accuracy_explained(labels, labels, 0.95, "net", train_predictions=None, train_labels=labels) == 1.0


def test_assert_all_reports_every_failed_check_at_once():
    right, wrong = np.ones(3), np.array([1.0, 1.0, 2.0])
    with pytest.raises(CheckFailed) as failed:
        with assert_all() as check:
            check(assert_close, wrong, right, name="dx")
            check(assert_close, right, right, name="dw")
            check(assert_close, -right, right, name="db")
    message = str(failed.value)
    assert message.startswith("2 of 3 checks failed:\n- dx: ")
    assert "\n- db: " in message and "wrong sign" in message and "dw" not in message


def test_assert_all_one_failure_reads_as_that_check_and_other_errors_propagate():
    with pytest.raises(CheckFailed, match=r"^db: "):
        with assert_all() as check:
            check(assert_close, np.ones(2), np.ones(2), name="dx")
            check(assert_close, np.zeros(2), np.ones(2), name="db")
    with assert_all() as check:  # all pass: no verdict
        check(assert_close, np.ones(2), np.ones(2), name="dx")
    with pytest.raises(ZeroDivisionError):
        with assert_all() as check:
            check(lambda: 1 / 0)
