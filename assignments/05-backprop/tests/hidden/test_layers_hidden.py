"""Hidden tests for the backprop assignment: random shapes, edge cases, comparison with the reference."""

import numpy as np
import pytest

from grader.judge.checks import assert_all, assert_close, assert_finite, assert_params
from grader.judge.gradcheck import assert_gradient, numeric_gradient

# The contract of train_xor's result: 2 inputs, a hidden width H of your choice, 2 classes.
XOR_PARAMS = {"W1": (2, "H"), "b1": ("H",), "W2": ("H", 2), "b2": (2,)}

SHAPES = [(1, 1, 1), (2, 7, 3), (10, 5, 8), (64, 30, 20)]


@pytest.mark.points(2)
@pytest.mark.parametrize("n,d,m", SHAPES)
def test_affine_forward_shapes(submission, reference, rng, n, d, m):
    x, w, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
    assert_close(submission.affine_forward(x, w, b), reference.affine_forward(x, w, b), name="out")


@pytest.mark.points(2)
@pytest.mark.parametrize("n,d,m", SHAPES)
def test_affine_backward_shapes(submission, reference, rng, n, d, m):
    x, w, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
    dout = rng.normal(size=(n, m))
    got = submission.affine_backward(dout, x, w, b)
    expected = reference.affine_backward(dout, x, w, b)
    assert isinstance(got, tuple) and len(got) == 3, "affine_backward must return (dx, dw, db)"
    wrong_db = dout  # the classic mistake: the bias gradient not summed over the batch
    with assert_all() as check:
        for name, g, e in zip(("dx", "dw", "db"), got, expected):
            hints = {"db must be summed over the batch axis (axis=0)": wrong_db} if name == "db" else None
            check(assert_close, g, e, name=name, hints=hints)


@pytest.mark.points(2)
def test_relu_at_zero(submission):
    x = np.array([[-1.0, 0.0, 1.0]])
    dout = np.array([[5.0, 5.0, 5.0]])
    assert_close(submission.relu_forward(x), np.array([[0.0, 0.0, 1.0]]), name="relu_forward")
    assert_close(submission.relu_backward(dout, x), np.array([[0.0, 0.0, 5.0]]),
                 name="relu_backward at x = 0", hints={"the gradient at x = 0 must be 0 (use x > 0)":
                                                       np.array([[0.0, 5.0, 5.0]])})


@pytest.mark.points(3)
def test_softmax_loss_matches_reference(submission, reference, rng):
    scores, y = rng.normal(size=(20, 7)) * 3, rng.integers(0, 7, size=20)
    loss, dscores = submission.softmax_loss(scores, y)
    ref_loss, ref_dscores = reference.softmax_loss(scores, y)
    assert_close(loss, ref_loss, name="loss", hints={"average the loss over the batch, don't sum it":
                                                      ref_loss * 20})
    assert_close(dscores, ref_dscores, name="dscores",
                 hints={"divide dscores by the batch size N": ref_dscores * 20})


@pytest.mark.points(3)
def test_softmax_loss_large_scores(submission, reference):
    scores = np.array([[1000.0, 0.0, -1000.0], [0.0, 1500.0, 10.0], [-800.0, -790.0, -805.0]])
    y = np.array([0, 2, 1])
    loss, dscores = submission.softmax_loss(scores, y)
    ref_loss, ref_dscores = reference.softmax_loss(scores, y)
    assert_finite(np.asarray(loss, dtype=float), "loss for scores in the thousands", advice=(
        "exp overflows for scores in the thousands. Subtract each row's maximum score before exp: "
        "softmax does not change, overflow goes away."))
    assert_close(loss, ref_loss, name="loss")
    assert_close(dscores, ref_dscores, name="dscores")


@pytest.mark.points(4)
@pytest.mark.parametrize("n,d,h,c", [(1, 2, 3, 2), (8, 5, 10, 3)])
def test_two_layer_matches_reference(submission, reference, rng, n, d, h, c):
    params = {"W1": rng.normal(size=(d, h)), "b1": rng.normal(size=h),
              "W2": rng.normal(size=(h, c)), "b2": rng.normal(size=c)}
    X, y = rng.normal(size=(n, d)), rng.integers(0, c, size=n)
    loss, grads = submission.two_layer_loss(params, X, y)
    ref_loss, ref_grads = reference.two_layer_loss(params, X, y)
    assert_close(loss, ref_loss, name="loss")
    assert isinstance(grads, dict), "two_layer_loss must return (loss, grads) with grads a dict"
    for key in ("W1", "b1", "W2", "b2"):
        assert_close(grads.get(key), ref_grads[key], name=f"grads['{key}']")


@pytest.mark.points(3)
def test_two_layer_gradient_check_wide(submission, reference, rng):
    params = {"W1": rng.normal(size=(4, 12)) * 0.5, "b1": rng.normal(size=12) * 0.1,
              "W2": rng.normal(size=(12, 5)) * 0.5, "b2": rng.normal(size=5) * 0.1}
    X, y = rng.normal(size=(9, 4)), rng.integers(0, 5, size=9)
    _, grads = submission.two_layer_loss(params, X, y)
    for key in ("W1", "b2"):
        numeric = numeric_gradient(lambda v, k=key: reference.two_layer_loss({**params, k: v}, X, y)[0],
                                   params[key])
        assert_gradient(grads[key], numeric, f"grads['{key}']")


@pytest.mark.points(3)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_train_xor_seeds(submission, reference, seed):
    params = assert_params(submission.train_xor(seed), XOR_PARAMS, "train_xor's params")
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    scores = reference.affine_forward(reference.relu_forward(
        reference.affine_forward(X, params["W1"], params["b1"])), params["W2"], params["b2"])
    predicted = scores.argmax(axis=1)
    assert np.array_equal(predicted, [0, 1, 1, 0]), \
        f"with seed {seed} the trained net predicts {predicted.tolist()}, expected [0, 1, 1, 0]"
